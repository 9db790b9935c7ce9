r"""The experiment config: its tables, each key's default, check, help and flag
(:mod:`~nnlearn.experiments.config.schema`), TOML files, overrides and validation
(:mod:`~nnlearn.experiments.config.files`), and the shipped ``presets/``."""
