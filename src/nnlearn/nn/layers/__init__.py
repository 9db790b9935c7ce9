"""Layers: each with an explicit ``forward`` and a ``backward`` holding the backprop equations.

Importing this package registers every layer type, so ``nnlearn.load`` can rebuild any model.
"""

from nnlearn.nn.layers.activations import (ACTIVATIONS, Activation, LeakyReLU, Linear, ReLU, Sigmoid,
                                        Softmax, Step, Tanh, get_activation)
from nnlearn.nn.layers.base import LAYER_TYPES, Layer, register_layer
from nnlearn.nn.layers.batchnorm import BatchNorm
from nnlearn.nn.layers.conv import Conv2D
from nnlearn.nn.layers.dense import Dense
from nnlearn.nn.layers.dropout import Dropout
from nnlearn.nn.layers.pool import AvgPool2D, L2Pool2D, MaxPool2D
from nnlearn.nn.layers.reshape import Flatten

__all__ = [
    "ACTIVATIONS", "Activation", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten",
    "L2Pool2D", "LAYER_TYPES", "Layer", "LeakyReLU", "Linear", "MaxPool2D", "ReLU", "Sigmoid",
    "Softmax", "Step", "Tanh", "get_activation", "register_layer",
]
