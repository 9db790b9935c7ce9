r"""The seed examples: small, complete programs that each show one idea of the book.

Run one with ``python -m nnlearn.examples.NAME`` or ``nnlearn example NAME``
(``nnlearn example --list`` names them). Every module has a ``main(argv)`` for the
command line and a pure function returning its results, which the tests call.

=================  ==============================================================
``eleven_line``    the famous 11-line net (output = first input) and its 2-layer
                   version learning XOR-like targets, built from nnlearn layers
``xor``            XOR with one hidden layer: the loss falling, the truth table
``iris``           4 measurements → hidden → 3 species, 80/20 stratified split
``baselines``      MNIST without neural nets: average darkness and an SVM
``universality``   hand-built pairs of step-like sigmoids approximating f(x) (ch. 4)
``vanishing``      ‖∂C/∂b‖ per layer of a deep sigmoid net: early layers learn slower (ch. 5)
=================  ==============================================================

``notebooks`` is not an example but the helpers of the chapter notebooks in the
repository's ``notebooks/`` (their size knob and the one-input neuron).
"""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "eleven_line": "the 11-line net (output = first input) and its 2-layer XOR-like version",
    "xor": "XOR with one hidden layer: falling loss and the final truth table",
    "iris": "iris species from 4 measurements, 80/20 stratified split, test accuracy",
    "baselines": "MNIST baselines without neural nets: average darkness and an SVM (scikit-learn)",
    "universality": "hand-built step-like sigmoid pairs approximating a function (book ch. 4)",
    "vanishing": "per-layer gradient norms of a [784,30,30,30,30,10] sigmoid net (book ch. 5)",
}
"""Example name → one-line description (the modules are imported only when run)."""

__all__ = ["EXAMPLES"]
