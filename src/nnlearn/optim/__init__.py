r"""Optimisers (how a gradient becomes a step) and learning-rate schedules (how η changes)."""

from nnlearn.optim.optimizers import (OPTIMIZERS, SGD, Adagrad, Adam, Momentum, Nesterov, Optimizer,
                                      RMSprop, get_optimizer)
from nnlearn.optim.schedules import (SCHEDULES, BookSchedule, ExponentialDecay, LinearDecay, OneCycle,
                                     Schedule, StepDecay, get_schedule)

__all__ = ["OPTIMIZERS", "SGD", "Adagrad", "Adam", "Momentum", "Nesterov", "Optimizer", "RMSprop",
           "get_optimizer", "SCHEDULES", "BookSchedule", "ExponentialDecay", "LinearDecay", "OneCycle",
           "Schedule", "StepDecay", "get_schedule"]
