r"""What every request must show before a route sees it (an ASGI middleware).

Other web pages in the same browser can send requests to a server on 127.0.0.1, and a
hostile name that resolves to 127.0.0.1 (DNS rebinding) can even read the answers. So:

* ``Host`` must name this server: a localhost name (``localhost``, ``*.localhost``,
  ``127.0.0.1``, ``::1``), the address it listens on, or a name given with
  ``nnlearn serve --allowed-host`` (``*`` allows any, turning this check off); else 400.
* A state-changing request (``POST``, ``PUT``, ``PATCH``, ``DELETE``) must send
  ``Content-Type: application/json`` (else 415): a browser sends that type across sites
  only after a CORS preflight, which this server never grants. It may carry an ``Origin``
  only if the origin is this server (its host and port equal ``Host``); else 403.

Reading (``GET``, ``HEAD``) needs only the ``Host`` check: without CORS headers no other
site can read an answer, and the one GET that does work (a playground session's stream)
needs the session's id, a random token only its own page knows.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Names every server accepts in ``Host`` (and any name under ``.localhost``)."""
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPE = "application/json"


def host_name(host: str) -> str:
    """The name part of a ``Host`` value (no port; IPv6 without brackets), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_host_names(bound: str | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` names a server listening on ``bound`` accepts, plus ``extra``.

    A wildcard address (``0.0.0.0``, ``::``) adds nothing: the names other machines use
    to reach it must be given in ``extra``.
    """
    names = set(LOCAL_HOSTS) | {host_name(e) if e != "*" else "*" for e in extra}
    if bound:
        try:
            if not ipaddress.ip_address(bound).is_unspecified:
                names.add(host_name(bound) if bound.startswith("[") else bound.lower())
        except ValueError:
            names.add(bound.lower())
    return frozenset(names)


class RequestGuard:
    """ASGI middleware applying the checks of the module docstring to HTTP requests."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]):
        self.app = app
        self.allowed_hosts = frozenset(allowed_hosts)

    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return "*" in self.allowed_hosts or name in self.allowed_hosts or \
            name.endswith(".localhost")

    def refusal(self, scope: Scope) -> Response | None:
        """The answer refusing this request, or ``None`` if it may go on."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.host_allowed(host):
            return _refuse(scope, 400, f"Host {host!r} is not a name of this server; open it "
                                       "as http://127.0.0.1:PORT/ or http://localhost:PORT/, or "
                                       "start it with nnlearn serve --allowed-host NAME", "Host")
        if scope["method"] not in STATE_CHANGING:
            return None
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON_TYPE:
            return _refuse(scope, 415, f"{scope['method']} requests must send Content-Type: "
                                       f"{JSON_TYPE} (got {media_type or 'none'!r}) with a JSON "
                                       "body (see docs/web.md)", "Content-Type")
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
                return _refuse(scope, 403, f"requests from the web page at {origin!r} may not "
                                           "change this server's state; only its own pages may",
                               "Origin")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            answer = self.refusal(scope)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refuse(scope: Scope, status: int, message: str, field: str) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse({"error": message, "field": field}, status_code=status)
    return PlainTextResponse(message, status_code=status)
