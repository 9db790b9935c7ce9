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
from nnlearn.costs import COSTS, Cost, CrossEntropy, LogLikelihood, Quadratic, get_cost
from nnlearn.errors import (ConfigError, DataError, DivergenceError, IDXFormatError,
                            ModelFileError, NNLearnError)
from nnlearn.gradcheck import GradCheckResult, gradcheck
from nnlearn.layers import BatchNorm, Dense, Layer, Sigmoid, Softmax
from nnlearn.network import Network
from nnlearn.optim import SGD, Optimizer
from nnlearn.serialize import load, save
from nnlearn.training import History, Trainer
from nnlearn.callbacks import EarlyStopping
from nnlearn.layers import Dropout
from nnlearn.optim import OPTIMIZERS, Adagrad, Adam, Momentum, Nesterov, RMSprop
from nnlearn.regularizers import L1, L2, MaxNorm
from nnlearn.schedules import SCHEDULES, BookSchedule, ExponentialDecay, StepDecay
from nnlearn.classic import Adaline, Perceptron
from nnlearn.costs import Hinge, SigmoidBinaryCrossEntropy
from nnlearn.layers import LeakyReLU, Linear, ReLU, Step, Tanh
from nnlearn.ensemble import Ensemble
from nnlearn.layers import AvgPool2D, Conv2D, Flatten, L2Pool2D, MaxPool2D

__version__ = "0.1.0"

__all__ = [
    "COSTS", "ConfigError", "Cost", "CrossEntropy", "DataError", "Dense", "DivergenceError",
    "GradCheckResult", "History", "IDXFormatError", "Layer", "LogLikelihood", "ModelFileError",
    "NNLearnError", "Network", "Optimizer", "Quadratic", "SGD", "Sigmoid", "Softmax", "backend",
    "datasets", "get_cost", "gradcheck", "load", "save", "__version__",
]
__all__ += ["BatchNorm", "augment", "preprocessing"]
__all__ += ["Adaline", "Hinge", "LeakyReLU", "Linear", "Perceptron", "ReLU",
            "SigmoidBinaryCrossEntropy", "Step", "Tanh"]
__all__ += ["Adagrad", "Adam", "BookSchedule", "Dropout", "EarlyStopping", "ExponentialDecay", "L1",
            "L2", "MaxNorm", "Momentum", "Nesterov", "OPTIMIZERS", "RMSprop", "SCHEDULES",
            "StepDecay", "Trainer"]
__all__ += ["AvgPool2D", "Conv2D", "Ensemble", "Flatten", "L2Pool2D", "MaxPool2D"]
