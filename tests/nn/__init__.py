"""nnlearn.nn: layers, costs, initialisers, the network, regularizers, kernels, ensembles, classic neurons."""
