r"""The HTML pages (Playground, Draw a digit, Runs), the favicon and the static files."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nnlearn.web.routes.common import AppState

STATIC = Path(__file__).resolve().parent.parent / "static"
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


async def page(request: Request) -> Response:
    """The page named by the path (``/`` is the playground)."""
    return HTMLResponse(render_page(request.url.path.strip("/") or "playground"))


def routes(state: AppState) -> list:
    return [
        Route("/", page),
        *[Route(f"/{name}", page) for name in PAGES],
        Route("/favicon.ico", lambda r: RedirectResponse("/static/favicon.svg")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
