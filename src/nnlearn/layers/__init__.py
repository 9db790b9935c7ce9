"""Layers: each with an explicit ``forward`` and a ``backward`` holding the backprop equations."""

from nnlearn.layers.activations import ACTIVATIONS, Activation, Sigmoid, Softmax, get_activation
from nnlearn.layers.activations import LeakyReLU, Linear, ReLU, Step, Tanh
from nnlearn.layers.base import LAYER_TYPES, Layer, register_layer
from nnlearn.layers.batchnorm import BatchNorm
from nnlearn.layers.dense import Dense
from nnlearn.layers.dropout import Dropout

__all__ = ["ACTIVATIONS", "Activation", "BatchNorm", "Dense", "LAYER_TYPES", "Layer", "Sigmoid",
           "Softmax", "get_activation", "register_layer"]
__all__ += ["LeakyReLU", "Linear", "ReLU", "Step", "Tanh"]
__all__ += ["Dropout"]
from nnlearn.layers.conv import Conv2D
from nnlearn.layers.pool import AvgPool2D, L2Pool2D, MaxPool2D
from nnlearn.layers.reshape import Flatten

__all__ += ["AvgPool2D", "Conv2D", "Flatten", "L2Pool2D", "MaxPool2D"]  # registered for model files
