r"""The routes of ``nnlearn serve``, one module per page (the URLs are listed in docs/web.md).

* :mod:`~nnlearn.web.routes.common` — the state the routes share (:class:`AppState`), the
  JSON body reader with its size limit, and the error type every route raises;
* :mod:`~nnlearn.web.routes.pages` — the HTML pages and the static files;
* :mod:`~nnlearn.web.routes.health` — ``/api/health``;
* :mod:`~nnlearn.web.routes.playground` — ``/api/playground/...``: sessions, settings, the stream;
* :mod:`~nnlearn.web.routes.draw` — Draw-a-digit: ``/api/predict``, ``/api/models``;
* :mod:`~nnlearn.web.routes.runs` — the Runs page: ``/api/runs/...``, ``/api/compare``;
* :mod:`~nnlearn.web.routes.errors` — errors as JSON ``{"error": ..., "field": ...}``.

Each page module has ``routes(state) -> list`` of Starlette routes; its handlers are plain
``async def handler(state, request)`` functions, bound to the state by :func:`~common.bind`.
"""
