"""nnlearn.optim: optimisers and learning-rate schedules."""
