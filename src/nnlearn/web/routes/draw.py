r"""Draw-a-digit: ``POST /api/predict`` and ``GET /api/models``."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nnlearn.web import predictor
from nnlearn.web.routes.common import AppState, bind, read_json


async def predict(state: AppState, request: Request) -> Response:
    body = await read_json(request)
    return JSONResponse(await to_thread.run_sync(predictor.predict, state.models, body,
                                                 limiter=state.prediction_slots))


async def list_models(state: AppState, request: Request) -> Response:
    def answer():
        default = state.models.resolve(None)[0]
        return {"default": default, "models": state.models.available()}
    return JSONResponse(await to_thread.run_sync(answer))


def routes(state: AppState) -> list:
    return [
        Route("/api/predict", bind(predict, state), methods=["POST"]),
        Route("/api/models", bind(list_models, state)),
    ]
