r"""``nnlearn serve``: the web face of nnlearn (the top layer, beside :mod:`nnlearn.cli`).

* :mod:`nnlearn.web.playground` — playground sessions on the 2-D sets of
  :mod:`nnlearn.data.toy`: settings, a network trained by
  nnlearn's :class:`~nnlearn.train.trainer.Trainer`, heat maps, backprop on one point;
* :mod:`nnlearn.web.code_export` — the experiment as Python and as TOML; CSV upload;
* :mod:`nnlearn.web.predictor` — Draw-a-digit: model choice and predictions;
* :mod:`nnlearn.web.runs_view` — the Runs page's tables, curves, diffs, evaluations;
* :mod:`nnlearn.web.validation` — request fields checked by the rules of :mod:`nnlearn.checks`
  (a field that is a config key: that key's rule, narrowed), answered with a 400 naming the field;
* :mod:`nnlearn.web.routes` — the routes, one module per page (playground, draw, runs,
  pages, health, errors);
* :mod:`nnlearn.web.app` — the Starlette application assembled from them (needs
  ``pip install 'nnlearn[web]'``).

Only :mod:`nnlearn.web.app` and :mod:`nnlearn.web.routes` import the web framework; the rest
is NumPy and nnlearn.
The pages (HTML, CSS, JavaScript without libraries) are in ``static/``.
"""
