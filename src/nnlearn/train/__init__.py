r"""Training: the SGD loop (:mod:`~nnlearn.train.trainer`), early stopping
(:mod:`~nnlearn.train.callbacks`) and data-parallel minibatches on CPU threads
(:mod:`~nnlearn.train.parallel`)."""
