r"""The Book section of ``nnlearn serve``: the demonstrations of *Neural Networks and Deep
Learning*, chapter by chapter, each computed by nnlearn's own layers and trainer.

One module per chapter (``ch1``, ``ch3``, ...). Each public function takes the checked
request body, computes with nnlearn (``Network.fit``, the layers' ``forward``/``backward``)
and returns JSON-ready numbers plus ``code``: a Python script that reproduces exactly those
numbers (the page's "show the code"). The routes are in :mod:`nnlearn.web.routes.book`.
"""

from __future__ import annotations

from typing import Any

from nnlearn.checks import Number
from nnlearn.web.validation import ListOf, check

SEED = 1
"""The seed of every demonstration's network (its minibatch order): the same numbers on
every request, and in the exported code."""

CHAPTERS = {
    "ch1": "Using neural nets to recognize handwritten digits",
    "ch2": "How the backpropagation algorithm works",
    "ch3": "Improving the way neural networks learn",
    "ch4": "A visual proof that neural nets can compute any function",
    "ch5": "Why are deep neural networks hard to train?",
    "ch6": "Deep learning",
}
"""The chapters that have a page, in the order of the book: name → the book's title."""


def numbers(field: str, value: Any, count: int, low: float, high: float) -> list[float]:
    """``value`` as a list of ``count`` finite numbers in [low, high] (400 naming ``field``)."""
    return list(check(field, ListOf(Number(low, high), count, count, "numbers"), value))

