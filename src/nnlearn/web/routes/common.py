r"""What the routes share: the application state, the JSON body reader and the API error.

Every JSON body is read with a size limit (:data:`MAX_BODY_BYTES`, else 413), must
parse (else 400 naming ``body``) and be an object; the page modules then check it
field by field (400 naming the field).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from anyio import CapacityLimiter, to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from nnlearn.web import playground, predictor, runs_view
from nnlearn.checks import Integer
from nnlearn.web.validation import FieldError, check

MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB); larger ones get 413."""


@dataclass
class AppState:
    """Everything the routes of one application share, built once by ``create_app``."""

    runs_dir: Path
    """The folder of run folders the Runs page and Draw-a-digit read."""
    pool: playground.SessionPool
    """The live playground sessions."""
    models: predictor.DigitModels
    """Draw-a-digit's models, loaded on first use."""
    evaluations: runs_view.Evaluations
    """The Runs page's cached test-set evaluations."""
    prediction_slots: CapacityLimiter
    """Predictions running at once (first come, first served)."""
    max_updates_per_second: float | None
    """Cap on the playground stream's rate (``None``: no cap)."""


Handler = Callable[[AppState, Request], Awaitable[Response]]


def bind(handler: Handler, state: AppState) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint that calls ``handler(state, request)``."""
    async def endpoint(request: Request) -> Response:
        return await handler(state, request)
    endpoint.__name__ = endpoint.__qualname__ = handler.__name__
    return endpoint


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
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiError(413, f"the request body exceeds the limit of {MAX_BODY_BYTES} "
                                    "bytes (1 MiB)")
            chunks.append(chunk)
    except ClientDisconnect:  # too slow (--request-timeout) or gone: nobody reads the answer
        raise ApiError(400, "the client disconnected before sending the whole body", "body") from None
    data = b"".join(chunks) or b"{}"
    try:  # a large body is parsed in a worker thread, so the event loop keeps serving
        body = json.loads(data) if size < 65536 else await to_thread.run_sync(json.loads, data)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, > 4300 digits, too deep
        raise ApiError(400, f"the request body is not valid JSON ({type(exc).__name__}: "
                            f"{str(exc)[:200]})", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {type(body).__name__}",
                       "body")
    return body


def query_int(request: Request, name: str, low: int, high: int, default: int) -> int:
    """Query parameter ``name`` as an integer in [low, high] (``default`` if absent)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    digits = text[1:] if text.startswith("-") else text
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses; and a bounded
    # length, since int() of thousands of digits is refused (and slow) too
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
        raise FieldError(name, f"must be an integer from {low} to {high}, got {text[:40]!r}")
    return check(name, Integer(low, high), int(text))
