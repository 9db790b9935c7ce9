r"""The ASGI application of ``nnlearn serve`` (Starlette): its shared state, the routes of
each page (:mod:`nnlearn.web.routes`) and the playground's idle-session sweeper.

Every JSON body is read with a size limit (:data:`~nnlearn.web.routes.common.MAX_BODY_BYTES`,
else 413), must parse (else 400 naming ``body``) and is checked field by field (400 naming
the field). Work that computes (training, predicting, evaluating) runs in worker threads, so
one slow request never stalls the others. Before any route, :mod:`nnlearn.web.guard` checks
the ``Host`` header, and that a state-changing request is JSON from this server's own pages.
The routes are documented in docs/web.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Iterable

from anyio import CapacityLimiter
from starlette.applications import Starlette
from starlette.middleware import Middleware

from nnlearn.web import playground, predictor, runs_view
from nnlearn.web.guard import RequestGuard, allowed_host_names
from nnlearn.web.routes import book, draw, health, pages, runs
from nnlearn.web.routes import playground as playground_routes
from nnlearn.web.routes.common import AppState
from nnlearn.web.routes.errors import EXCEPTION_HANDLERS

PAGE_ROUTES = (pages, health, draw, runs, playground_routes, book)
"""The route modules, in the order their routes are matched."""


def create_app(runs_dir: str | Path = "runs", *, model: str | None = None, max_sessions: int = 8,
               idle_seconds: float = 600.0, max_updates_per_second: float | None = 30.0,
               allowed_hosts: Iterable[str] | None = None) -> Starlette:
    """The web application.

    Args:
        runs_dir: the folder of run folders the Runs page and Draw-a-digit read.
        model: the default model of Draw-a-digit (a model file, a run folder, or a run
            name in ``runs_dir``); default: the shipped one (a run answers when chosen).
        max_sessions: live playground sessions allowed at once (then 503).
        idle_seconds: a playground session unused this long is freed.
        max_updates_per_second: cap on the playground stream's rate (``None``: no cap).
        allowed_hosts: the names accepted in the ``Host`` header (default: the localhost
            names, :func:`nnlearn.web.guard.allowed_host_names`; ``"*"`` accepts any).
    """
    runs_dir = Path(runs_dir)
    state = AppState(
        runs_dir=runs_dir, pool=playground.SessionPool(max_sessions, idle_seconds),
        models=predictor.DigitModels(runs_dir, model), evaluations=runs_view.Evaluations(),
        # Predictions share the cores first come, first served: with a few at a time each one
        # finishes fast, instead of dozens crawling together through the interpreter lock.
        prediction_slots=CapacityLimiter(max(1, min(4, os.cpu_count() or 1))),
        max_updates_per_second=max_updates_per_second)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async def sweep_forever():
            while True:
                await asyncio.sleep(max(0.05, min(30.0, idle_seconds / 2)))
                state.pool.sweep()
        task = asyncio.create_task(sweep_forever())
        try:
            yield
        finally:
            task.cancel()

    routes = [route for module in PAGE_ROUTES for route in module.routes(state)]
    hosts = allowed_host_names() if allowed_hosts is None else allowed_hosts
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS,
                    middleware=[Middleware(RequestGuard, allowed_hosts=hosts)])
    app.state.pool, app.state.models, app.state.runs_dir = state.pool, state.models, runs_dir
    return app
