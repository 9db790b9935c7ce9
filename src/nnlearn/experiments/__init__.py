r"""Experiments, one folder per concern: the config (:mod:`~nnlearn.experiments.config`: tables,
files, presets), one training run (:mod:`~nnlearn.experiments.runs`: from a config to data,
network and trainer, run folders, plots), hyper-parameter sweeps
(:mod:`~nnlearn.experiments.sweeps`: search space, trials, engines, results) and the book's
reproductions (:mod:`~nnlearn.experiments.reproduce`)."""
