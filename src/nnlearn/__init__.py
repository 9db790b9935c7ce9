r"""nnlearn: neural networks with the backprop equations in plain sight.

Quick start::

    import nnlearn
    data = nnlearn.datasets.load_mnist()
    net = nnlearn.Network.from_sizes([784, 30, 10], cost="quadratic", seed=1)
    net.fit(*data.train, epochs=30, mini_batch_size=10, eta=3.0,
            validation_data=data.test)
    net.save("mnist.npz"); net2 = nnlearn.load("mnist.npz")
"""

from nnlearn import augment, backend, datasets, preprocessing
from nnlearn.callbacks import EarlyStopping
from nnlearn.classic import Adaline, Perceptron
from nnlearn.costs import (COSTS, Cost, CrossEntropy, Hinge, LogLikelihood, Quadratic,
                           SigmoidBinaryCrossEntropy, get_cost)
from nnlearn.ensemble import Ensemble
from nnlearn.errors import (ConfigError, DataError, DivergenceError, IDXFormatError,
                            ModelFileError, NNLearnError)
from nnlearn.gradcheck import GradCheckResult, gradcheck
from nnlearn.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, L2Pool2D, Layer,
                            LeakyReLU, Linear, MaxPool2D, ReLU, Sigmoid, Softmax, Step, Tanh)
from nnlearn.network import Network
from nnlearn.optim import OPTIMIZERS, SGD, Adagrad, Adam, Momentum, Nesterov, Optimizer, RMSprop
from nnlearn.regularizers import L1, L2, MaxNorm
from nnlearn.schedules import SCHEDULES, BookSchedule, ExponentialDecay, StepDecay
from nnlearn.serialize import load, save
from nnlearn.training import History, Trainer

__version__ = "0.1.0"

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
    "SCHEDULES", "BookSchedule", "StepDecay", "ExponentialDecay", "EarlyStopping", "L1", "L2",
    "MaxNorm",
    # classic single neurons
    "Perceptron", "Adaline",
    # errors
    "NNLearnError", "ConfigError", "DataError", "DivergenceError", "IDXFormatError",
    "ModelFileError",
    # sub-modules
    "augment", "backend", "datasets", "preprocessing", "__version__",
]
