r"""One training run: from a config to data, a network and a trainer
(:mod:`~nnlearn.experiments.runs.builder`), the run folder it leaves behind
(:mod:`~nnlearn.experiments.runs.folder`) and its figures (:mod:`~nnlearn.experiments.runs.plots`)."""
