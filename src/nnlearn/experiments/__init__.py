r"""Experiments: configs (:mod:`~nnlearn.experiments.config`), from a config to data, a
network and a trainer (:mod:`~nnlearn.experiments.builder`), run folders, hyper-parameter
sweeps (:mod:`~nnlearn.experiments.search`; trials and where they run:
:mod:`~nnlearn.experiments.trial`, :mod:`~nnlearn.experiments.engines`), plots, the presets
and the book's reproductions."""
