r"""nnlearn: neural networks with the backprop equations in plain sight.

Quick start::

    import nnlearn
    data = nnlearn.data.load_mnist()
    net = nnlearn.Network.from_sizes([784, 30, 10], cost="quadratic", seed=1)
    net.fit(*data.train, epochs=30, mini_batch_size=10, eta=3.0,
            validation_data=data.test)
    net.save("mnist.npz"); net2 = nnlearn.load("mnist.npz")
"""

from nnlearn import backend, data, datasets
from nnlearn.data import augment, preprocessing
from nnlearn.errors import (ConfigError, DataError, DivergenceError, IDXFormatError,
                            ModelFileError, NNLearnError)
from nnlearn.io.model_file import load, save
from nnlearn.nn.classic import Adaline, Perceptron
from nnlearn.nn.costs import (COSTS, Cost, CrossEntropy, Hinge, LogLikelihood, Quadratic,
                              SigmoidBinaryCrossEntropy, get_cost)
from nnlearn.nn.ensemble import Ensemble
from nnlearn.nn.gradcheck import GradCheckResult, gradcheck
from nnlearn.nn.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, L2Pool2D,
                               Layer, LeakyReLU, Linear, MaxPool2D, ReLU, Sigmoid, Softmax, Step,
                               Tanh)
from nnlearn.nn.network import Network
from nnlearn.nn.regularizers import L1, L2, MaxNorm
from nnlearn.optim import (OPTIMIZERS, SCHEDULES, SGD, Adagrad, Adam, BookSchedule,
                           ExponentialDecay, LinearDecay, Momentum, Nesterov, OneCycle, Optimizer,
                           RMSprop, StepDecay)
from nnlearn.system.version import __version__
from nnlearn.train.callbacks import EarlyStopping
from nnlearn.train.trainer import History, Trainer

__all__ = [
    # model and training
    "Network", "Trainer", "History", "load", "save", "gradcheck", "GradCheckResult", "Ensemble",
    # layers
    "Layer", "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "L2Pool2D", "Flatten", "Dropout",
    "BatchNorm", "Sigmoid", "Softmax", "Tanh", "ReLU", "LeakyReLU", "Linear", "Step",
    # costs
    "COSTS", "Cost", "Quadratic", "CrossEntropy", "SigmoidBinaryCrossEntropy", "LogLikelihood",
    "Hinge", "get_cost",
    # optimisation and regularisation
    "OPTIMIZERS", "Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam",
    "SCHEDULES", "BookSchedule", "StepDecay", "ExponentialDecay", "OneCycle", "LinearDecay",
    "EarlyStopping", "L1", "L2",
    "MaxNorm",
    # classic single neurons
    "Perceptron", "Adaline",
    # errors
    "NNLearnError", "ConfigError", "DataError", "DivergenceError", "IDXFormatError",
    "ModelFileError",
    # sub-modules
    "augment", "backend", "data", "datasets", "preprocessing", "__version__",
]
