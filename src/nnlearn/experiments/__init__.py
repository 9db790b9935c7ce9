r"""Experiments: configs (:mod:`~nnlearn.experiments.config`), from a config to data, a
network and a trainer (:mod:`~nnlearn.experiments.builder`), run folders, hyper-parameter
search, plots, the presets and the book's reproductions."""
