r"""Errors as JSON ``{"error": message, "field": field}`` under ``/api/``, plain text elsewhere."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from nnlearn.errors import NNLearnError
from nnlearn.web import playground
from nnlearn.web.routes.common import ApiError, error_response
from nnlearn.web.validation import FieldError


async def on_api_error(request: Request, exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.field)


async def on_field_error(request: Request, exc: FieldError) -> Response:
    return error_response(400, str(exc), exc.field)


async def on_pool_full(request: Request, exc: playground.PoolFull) -> Response:
    return error_response(503, str(exc))


async def on_nnlearn_error(request: Request, exc: NNLearnError) -> Response:
    return error_response(400, str(exc))


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    if (request.url.path + "/").startswith("/api/"):
        return error_response(exc.status_code, f"{exc.detail}: {request.method} "
                                               f"{request.url.path} (see docs/web.md)")
    return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")


EXCEPTION_HANDLERS = {ApiError: on_api_error, FieldError: on_field_error,
                      playground.PoolFull: on_pool_full, NNLearnError: on_nnlearn_error,
                      HTTPException: on_http_error}
"""Exception type → its response (Starlette's ``exception_handlers``)."""
