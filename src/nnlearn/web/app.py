r"""The ASGI application of ``nnlearn serve`` (Starlette): the pages and the ``/api/`` routes.

Every JSON body is read with a size limit (:data:`MAX_BODY_BYTES`, else 413), must
parse (else 400 naming ``body``) and is checked field by field (400 naming the
field). Work that computes (training, predicting, evaluating) runs in worker
threads, so one slow request never stalls the others. The routes are documented in
docs/web.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nnlearn import __version__
from nnlearn.errors import NNLearnError
from nnlearn.web import playground, predictor, runs_view, toy_data
from nnlearn.web.code_export import parse_csv, python_code, toml_config
from nnlearn.web.validation import FieldError, bounded_int, bounded_number, get, one_of

MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB); larger ones get 413."""
STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"playground": ("Playground", "every number on this page is computed by nnlearn on the server"),
         "draw": ("Draw a digit", "prepared exactly as <code>nnlearn predict</code> prepares an image"),
         "runs": ("Runs", "curves update while <code>nnlearn train</code> runs")}
"""Page name → title and the hint in its top bar. ``static/<name>.html`` holds the page's
``<main>``; ``static/layout.html`` wraps it with the head, the top bar and the scripts."""


def render_page(name: str) -> str:
    """The HTML of page ``name``: its ``<main>`` in the shared layout."""
    title, hint = PAGES[name]
    main = (STATIC / f"{name}.html").read_text(encoding="utf-8")
    layout = (STATIC / "layout.html").read_text(encoding="utf-8")
    for key, value in (("title", title), ("hint", hint), ("page", name), ("main", main.rstrip())):
        layout = layout.replace("{{" + key + "}}", value)
    return layout


class ApiError(Exception):
    """An HTTP error with a JSON body ``{"error": message, "field": field}``."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def error_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read with the size limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body has {int(declared)} bytes; the limit is "
                            f"{MAX_BODY_BYTES} bytes (1 MiB)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body exceeds the limit of {MAX_BODY_BYTES} bytes (1 MiB)")
        chunks.append(chunk)
    data = b"".join(chunks) or b"{}"
    try:  # a large body is parsed in a worker thread, so the event loop keeps serving
        body = json.loads(data) if size < 65536 else await to_thread.run_sync(json.loads, data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc})", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {type(body).__name__}",
                       "body")
    return body


def _query_int(request: Request, name: str, low: int, high: int, default: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.lstrip("-").isdigit():
        raise FieldError(name, f"must be an integer from {low} to {high}, got {text!r}")
    return bounded_int(name, int(text), low, high)


def create_app(runs_dir: str | Path = "runs", *, model: str | None = None, max_sessions: int = 8,
               idle_seconds: float = 600.0, max_updates_per_second: float | None = 30.0) -> Starlette:
    """The web application.

    Args:
        runs_dir: the folder of run folders the Runs page and Draw-a-digit read.
        model: the default model of Draw-a-digit (a model file, a run folder, or a run
            name in ``runs_dir``); default: the newest run with a digit model, else the
            shipped one.
        max_sessions: live playground sessions allowed at once (then 503).
        idle_seconds: a playground session unused this long is freed.
        max_updates_per_second: cap on the playground stream's rate (``None``: no cap).
    """
    runs_dir = Path(runs_dir)
    pool = playground.SessionPool(max_sessions, idle_seconds)
    models = predictor.DigitModels(runs_dir, model)
    evaluations = runs_view.Evaluations()
    # Predictions share the cores first come, first served: with a few at a time each one
    # finishes fast, instead of dozens crawling together through the interpreter lock.
    prediction_slots = CapacityLimiter(max(1, min(4, os.cpu_count() or 1)))

    def session_of(request: Request) -> playground.Session:
        session = pool.get(request.path_params["session"])
        if session is None:
            raise ApiError(404, "no such playground session (it was closed or freed after being "
                                "idle); reload the page to start a new one", "session")
        return session

    # -- pages ----------------------------------------------------------------------------
    async def page(request: Request) -> Response:
        return HTMLResponse(render_page(request.url.path.strip("/") or "playground"))

    # -- general --------------------------------------------------------------------------
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": __version__, "runs_dir": str(runs_dir),
                             "sessions": len(pool.sessions), "max_sessions": pool.max_sessions})

    # -- draw a digit ---------------------------------------------------------------------
    async def predict(request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse(await to_thread.run_sync(predictor.predict, models, body,
                                                     limiter=prediction_slots))

    async def list_models(request: Request) -> Response:
        def answer():
            default = models.resolve(None)[0]
            return {"default": default, "models": models.available()}
        return JSONResponse(await to_thread.run_sync(answer))

    # -- runs -----------------------------------------------------------------------------
    async def runs(request: Request) -> Response:
        return JSONResponse({"runs_dir": str(runs_dir),
                             "runs": await to_thread.run_sync(runs_view.list_runs, runs_dir)})

    async def run_detail(request: Request) -> Response:
        return JSONResponse(await to_thread.run_sync(
            runs_view.run_detail, runs_dir, request.path_params["name"]))

    async def run_metrics(request: Request) -> Response:
        since = _query_int(request, "since", 0, 10 ** 9, 0)
        return JSONResponse(await to_thread.run_sync(
            runs_view.run_metrics, runs_dir, request.path_params["name"], since))

    async def run_evaluation(request: Request) -> Response:
        return JSONResponse(await to_thread.run_sync(
            evaluations.get, runs_dir, request.path_params["name"]))

    async def compare(request: Request) -> Response:
        a, b = request.query_params.get("a"), request.query_params.get("b")
        return JSONResponse(await to_thread.run_sync(runs_view.config_diff, runs_dir, a, b))

    # -- playground -----------------------------------------------------------------------
    async def datasets(request: Request) -> Response:
        return JSONResponse({"datasets": playground.dataset_previews(),
                             "features": toy_data.FEATURE_LABELS,
                             "defaults": playground.Settings().to_json()})

    async def create_session(request: Request) -> Response:
        body = await read_json(request)
        settings = playground.parse_settings(body.get("settings", {}))
        session = await to_thread.run_sync(pool.create, settings)
        return JSONResponse(await to_thread.run_sync(session.snapshot), status_code=201)

    async def show_session(request: Request) -> Response:
        session = session_of(request)
        return JSONResponse(await to_thread.run_sync(session.snapshot))

    async def close_session(request: Request) -> Response:
        closed = pool.close(request.path_params["session"])
        return JSONResponse({"closed": closed})

    async def change_settings(request: Request) -> Response:
        session = session_of(request)
        body = await read_json(request)
        settings = playground.parse_settings(body, session.settings)
        await to_thread.run_sync(session.update, settings)
        return JSONResponse({"version": session.version, "settings": session.settings.to_json()})

    async def control(request: Request) -> Response:
        session = session_of(request)
        body = await read_json(request)
        action = one_of("action", get(body, "action"),
                        ("play", "pause", "step", "reset", "regenerate"))
        session.set_playing(action == "play")
        if action == "step":
            await to_thread.run_sync(session.step)
        elif action in ("reset", "regenerate"):
            await to_thread.run_sync(session.reset if action == "reset" else session.regenerate)
        return JSONResponse({"version": session.version, "playing": session.playing,
                             "epoch": len(session.history)})

    async def add_point(request: Request) -> Response:
        session = session_of(request)
        body = await read_json(request)
        x = bounded_number("x", get(body, "x"), -6.0, 6.0)
        y = bounded_number("y", get(body, "y"), -6.0, 6.0)
        if session.settings.problem == "classification":
            label = float(bounded_int("label", get(body, "label"), 0, 1))
        else:
            label = bounded_number("label", get(body, "label"), -1.0, 1.0)
        await to_thread.run_sync(session.add_point, x, y, label)
        return JSONResponse({"version": session.version, "points": len(session.points()["train"])})

    async def upload_csv(request: Request) -> Response:
        session = session_of(request)
        body = await read_json(request)
        points, labels = parse_csv(get(body, "csv"), session.settings.problem)
        await to_thread.run_sync(session.set_points, points, labels)
        return JSONResponse({"version": session.version, "points": len(labels)})

    async def backprop(request: Request) -> Response:
        session = session_of(request)
        body = await read_json(request)
        split = one_of("split", body.get("split", "train"), ("train", "test"))
        index = bounded_int("index", get(body, "index"), 0, 10 ** 6)
        return JSONResponse(await to_thread.run_sync(session.backprop, split, index))

    async def code(request: Request) -> Response:
        session = session_of(request)
        return JSONResponse({"toml": toml_config(session.settings, len(session.history)),
                             "python": python_code(session.settings, max(1, len(session.history)))})

    async def stream(request: Request) -> Response:
        session = session_of(request)
        limit = _query_int(request, "max_updates", 1, 10 ** 9, 0) or None
        token = object()
        session.stream_token = token
        interval = 1.0 / max_updates_per_second if max_updates_per_second else 0.0

        async def events():
            sent, history, seen_version, seen_data, seen_settings = 0, None, -1, -1, None
            next_send, keepalive = time.monotonic(), time.monotonic()
            while session.stream_token is token and \
                    pool.sessions.get(session.id) is session:
                session.touch()
                if session.playing:
                    await to_thread.run_sync(session.step)
                if session.version == seen_version:
                    await asyncio.sleep(0.05)
                    if time.monotonic() - keepalive > 15:
                        keepalive = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                fresh_points = session.data_version != seen_data or session.settings != seen_settings
                snap = await to_thread.run_sync(session.snapshot, history, fresh_points)
                seen_version, seen_data = snap["version"], snap["data_version"]
                seen_settings = session.settings
                history = (snap["generation"], snap["history_start"] + len(snap["history"]))
                yield f"data: {json.dumps(snap)}\n\n"
                keepalive = time.monotonic()
                sent += 1
                if limit is not None and sent >= limit:
                    return
                next_send = max(next_send + interval, time.monotonic() - interval)
                delay = next_send - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- errors -----------------------------------------------------------------------------
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.field)

    async def on_field_error(request: Request, exc: FieldError) -> Response:
        return error_response(400, str(exc), exc.field)

    async def on_pool_full(request: Request, exc: playground.PoolFull) -> Response:
        return error_response(503, str(exc))

    async def on_nnlearn_error(request: Request, exc: NNLearnError) -> Response:
        return error_response(400, str(exc))

    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return error_response(exc.status_code, f"{exc.detail}: {request.method} "
                                                   f"{request.url.path} (see docs/web.md)")
        return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async def sweep_forever():
            while True:
                await asyncio.sleep(max(0.05, min(30.0, idle_seconds / 2)))
                pool.sweep()
        task = asyncio.create_task(sweep_forever())
        try:
            yield
        finally:
            task.cancel()

    S = "/api/playground/{session}"
    routes = [
        Route("/", page),
        *[Route(f"/{name}", page) for name in PAGES],
        Route("/favicon.ico", lambda r: RedirectResponse("/static/favicon.svg")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/api/health", health),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/models", list_models),
        Route("/api/runs", runs),
        Route("/api/compare", compare),
        Route("/api/runs/{name}/metrics", run_metrics),
        Route("/api/runs/{name}/evaluation", run_evaluation),
        Route("/api/runs/{name:path}", run_detail),
        Route("/api/playground", create_session, methods=["POST"]),
        Route("/api/playground/datasets", datasets),
        Route(S, show_session),
        Route(S, close_session, methods=["DELETE"]),
        Route(S + "/close", close_session, methods=["POST"]),
        Route(S + "/settings", change_settings, methods=["POST"]),
        Route(S + "/control", control, methods=["POST"]),
        Route(S + "/points", add_point, methods=["POST"]),
        Route(S + "/csv", upload_csv, methods=["POST"]),
        Route(S + "/backprop", backprop, methods=["POST"]),
        Route(S + "/code", code),
        Route(S + "/stream", stream),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: on_api_error, FieldError: on_field_error, playground.PoolFull: on_pool_full,
        NNLearnError: on_nnlearn_error, HTTPException: on_http_error})
    app.state.pool, app.state.models, app.state.runs_dir = pool, models, runs_dir
    return app
