"""Layers: each with an explicit ``forward`` and a ``backward`` holding the backprop equations.

Importing this package registers every layer type, so ``nnlearn.load`` can rebuild any model.
"""

from nnlearn.layers.activations import (ACTIVATIONS, Activation, LeakyReLU, Linear, ReLU, Sigmoid,
                                        Softmax, Step, Tanh, get_activation)
from nnlearn.layers.base import LAYER_TYPES, Layer, register_layer
from nnlearn.layers.batchnorm import BatchNorm
from nnlearn.layers.conv import Conv2D
from nnlearn.layers.dense import Dense
from nnlearn.layers.dropout import Dropout
from nnlearn.layers.pool import AvgPool2D, L2Pool2D, MaxPool2D
from nnlearn.layers.reshape import Flatten

__all__ = [
    "ACTIVATIONS", "Activation", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten",
    "L2Pool2D", "LAYER_TYPES", "Layer", "LeakyReLU", "Linear", "MaxPool2D", "ReLU", "Sigmoid",
    "Softmax", "Step", "Tanh", "get_activation", "register_layer",
]
