r"""The Runs page: ``/api/runs`` (the table), ``/api/runs/NAME`` (one run), its metrics and
evaluation, and ``/api/compare`` (two configs side by side)."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nnlearn.web import runs_view
from nnlearn.web.routes.common import AppState, bind, query_int


async def runs(state: AppState, request: Request) -> Response:
    return JSONResponse({"runs_dir": str(state.runs_dir),
                         "runs": await to_thread.run_sync(runs_view.list_runs, state.runs_dir)})


async def run_detail(state: AppState, request: Request) -> Response:
    return JSONResponse(await to_thread.run_sync(
        runs_view.run_detail, state.runs_dir, request.path_params["name"]))


async def run_metrics(state: AppState, request: Request) -> Response:
    since = query_int(request, "since", 0, 10 ** 9, 0)
    return JSONResponse(await to_thread.run_sync(
        runs_view.run_metrics, state.runs_dir, request.path_params["name"], since))


async def run_evaluation(state: AppState, request: Request) -> Response:
    return JSONResponse(await to_thread.run_sync(
        state.evaluations.get, state.runs_dir, request.path_params["name"]))


async def compare(state: AppState, request: Request) -> Response:
    a, b = request.query_params.get("a"), request.query_params.get("b")
    return JSONResponse(await to_thread.run_sync(runs_view.config_diff, state.runs_dir, a, b))


def routes(state: AppState) -> list:
    return [  # the {name:path} route last: it would also match .../metrics and .../evaluation
        Route("/api/runs", bind(runs, state)),
        Route("/api/compare", bind(compare, state)),
        Route("/api/runs/{name}/metrics", bind(run_metrics, state)),
        Route("/api/runs/{name}/evaluation", bind(run_evaluation, state)),
        Route("/api/runs/{name:path}", bind(run_detail, state)),
    ]
