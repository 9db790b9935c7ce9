"""nnlearn.cli: the command line, and `nnlearn predict`."""
