r"""Hyper-parameter sweeps: the search space and the sweep folder
(:mod:`~nnlearn.experiments.sweeps.search`), one trial (:mod:`~nnlearn.experiments.sweeps.trial`),
where trials run, local processes or Ray Tune (:mod:`~nnlearn.experiments.sweeps.engines`), and
the ranked results table (:mod:`~nnlearn.experiments.sweeps.results`)."""
