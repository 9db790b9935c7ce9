r"""The playground: ``/api/playground`` (a new session), ``/api/playground/datasets`` and, per
session, its snapshot, settings, play/pause/step controls, points, CSV upload, backprop on one
point, the exported code and the live stream of snapshots (server-sent events)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nnlearn.checks import Integer, Number, OneOf
from nnlearn.data import toy
from nnlearn.web import playground
from nnlearn.web.code_export import parse_csv, python_code, toml_config
from nnlearn.web.routes.common import ApiError, AppState, bind, query_int, read_json
from nnlearn.web.validation import get, read

ACTIONS = OneOf(("play", "pause", "step", "reset", "regenerate"))
COORDINATE = Number(-toy.EXTENT, toy.EXTENT)
"""x and y of a point the reader adds (the square of the data sets)."""
TARGET = Number(-1.0, 1.0)
"""The target of a point of a regression set."""


def session_of(state: AppState, request: Request) -> playground.Session:
    """The live session named in the path; 404 naming ``session`` if it is gone."""
    session = state.pool.get(request.path_params["session"])
    if session is None:
        raise ApiError(404, "no such playground session (it was closed or freed after being "
                            "idle); reload the page to start a new one", "session")
    return session


async def datasets(state: AppState, request: Request) -> Response:
    return JSONResponse({"datasets": playground.dataset_previews(),
                         "features": toy.FEATURE_LABELS,
                         "defaults": playground.Settings().to_json(),
                         "limits": playground.limits()})


async def create_session(state: AppState, request: Request) -> Response:
    body = await read_json(request)
    settings = playground.parse_settings(body.get("settings", {}))
    session = await to_thread.run_sync(state.pool.create, settings)
    return JSONResponse(await to_thread.run_sync(session.snapshot), status_code=201)


async def show_session(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    return JSONResponse(await to_thread.run_sync(session.snapshot))


async def close_session(state: AppState, request: Request) -> Response:
    closed = state.pool.close(request.path_params["session"])
    return JSONResponse({"closed": closed})


async def change_settings(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    settings = playground.parse_settings(body, session.settings)
    await to_thread.run_sync(session.update, settings, "dataset" in body)
    return JSONResponse({"version": session.version, "settings": session.settings.to_json()})


async def control(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    action = read(body, "action", ACTIONS)
    session.set_playing(action == "play")
    if action == "step":
        await to_thread.run_sync(session.step)
    elif action in ("reset", "regenerate"):
        await to_thread.run_sync(session.reset if action == "reset" else session.regenerate)
    return JSONResponse({"version": session.version, "playing": session.playing,
                         "epoch": len(session.history)})


async def add_point(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    x = read(body, "x", COORDINATE)
    y = read(body, "y", COORDINATE)
    if session.settings.problem == "classification":
        label = float(read(body, "label", Integer(0, session.settings.classes - 1)))
    else:
        label = read(body, "label", TARGET)
    await to_thread.run_sync(session.add_point, x, y, label)
    return JSONResponse({"version": session.version, "points": len(session.points()["train"])})


async def upload_csv(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    points, labels = await to_thread.run_sync(parse_csv, get(body, "csv"), session.settings.problem)
    await to_thread.run_sync(session.set_points, points, labels)
    return JSONResponse({"version": session.version, "points": len(labels)})


async def set_weight(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    args = [read(body, name, Integer(0, 10 ** 3)) for name in ("layer", "from", "to")]
    value = read(body, "value", Number(-100.0, 100.0))
    await to_thread.run_sync(session.set_weight, *args, value)
    return JSONResponse({"version": session.version})


async def backprop(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    body = await read_json(request)
    split = read(body, "split", OneOf(("train", "test")), "train")
    index = read(body, "index", Integer(0, 10 ** 6))
    return JSONResponse(await to_thread.run_sync(session.backprop, split, index))


async def code(state: AppState, request: Request) -> Response:
    session = session_of(state, request)
    return JSONResponse({"toml": toml_config(session), "python": python_code(session),
                         "epoch": len(session.history)})


async def model_file(state: AppState, request: Request) -> Response:
    """The session's network as an nnlearn model file (``nnlearn.load``, ``nnlearn predict``)."""
    session = session_of(state, request)

    def write() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "playground.npz"
            session.model_file(path)
            return path.read_bytes()
    return Response(await to_thread.run_sync(write), media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="playground.npz"'})


async def stream(state: AppState, request: Request) -> Response:
    """Snapshots as server-sent events while the session lives and this is its newest stream;
    a playing session is stepped here, at most ``state.max_updates_per_second`` times a second."""
    session = session_of(state, request)
    limit = query_int(request, "max_updates", 1, 10 ** 9, 0) or None
    token = object()
    session.stream_token = token
    rate = state.max_updates_per_second
    interval = 1.0 / rate if rate else 0.0
    pool = state.pool

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


def routes(state: AppState) -> list:
    S = "/api/playground/{session}"
    return [
        Route("/api/playground", bind(create_session, state), methods=["POST"]),
        Route("/api/playground/datasets", bind(datasets, state)),  # before S, which would match it
        Route(S, bind(show_session, state)),
        Route(S, bind(close_session, state), methods=["DELETE"]),
        Route(S + "/close", bind(close_session, state), methods=["POST"]),
        Route(S + "/settings", bind(change_settings, state), methods=["POST"]),
        Route(S + "/control", bind(control, state), methods=["POST"]),
        Route(S + "/points", bind(add_point, state), methods=["POST"]),
        Route(S + "/csv", bind(upload_csv, state), methods=["POST"]),
        Route(S + "/backprop", bind(backprop, state), methods=["POST"]),
        Route(S + "/weight", bind(set_weight, state), methods=["POST"]),
        Route(S + "/code", bind(code, state)),
        Route(S + "/model.npz", bind(model_file, state)),
        Route(S + "/stream", bind(stream, state)),
    ]
