r"""``/api/health``: the version, the runs folder and the playground sessions in use."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nnlearn.system.version import __version__
from nnlearn.web.routes.common import AppState, bind


async def health(state: AppState, request: Request) -> Response:
    return JSONResponse({"ok": True, "version": __version__, "runs_dir": str(state.runs_dir),
                         "sessions": len(state.pool.sessions), "max_sessions": state.pool.max_sessions})


def routes(state: AppState) -> list:
    return [Route("/api/health", bind(health, state))]
