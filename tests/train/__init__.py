"""nnlearn.train: the Trainer, compiled epochs, data parallelism, checkpoints and resume, divergence."""
