r"""The model: layers, costs, initialisers, regularisers and the ``Network`` that chains them.

This is the bottom of nnlearn: it depends only on :mod:`nnlearn.backend`,
:mod:`nnlearn.errors` and :mod:`nnlearn.checks`. Each layer's ``backward`` holds the
backprop equations (BP1–BP4) it implements; :mod:`nnlearn.nn.network` shows how they
chain; :mod:`nnlearn.nn.builder` is the one place that turns a model description
into a ``Network``.
"""
