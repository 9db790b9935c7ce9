r"""The Book section: ``/book`` (the chapters), ``/book/chN`` (one page per chapter) and the
API that computes each demonstration, ``POST /api/book/chN/<demo>`` (:mod:`nnlearn.web.book`).

A chapter page is ``static/book/chN.html`` in the shared layout, with ``static/book/chN.js``;
the computations run in worker threads, so a long one never stalls the server. The trainings
that take longer (``POST /api/book/chN/session``) become sessions of the playground's pool and
are driven through its stream and controls.
"""

from __future__ import annotations

from typing import Any, Callable

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from nnlearn.web.book import CHAPTERS, ch1, ch2, ch3, ch4, ch5, ch6
from nnlearn.web.routes.common import AppState, bind, read_json
from nnlearn.web.routes.pages import STATIC

HINT = "every number on this page is computed by nnlearn on the server"

DEMOS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ch1/neuron": ch1.neuron, "ch1/descent": ch1.descent,
    "ch2/backprop": ch2.backprop, "ch3/slowdown": ch3.slowdown, "ch3/softmax": ch3.softmax,
    "ch4/pair": ch4.pair, "ch4/bumps": ch4.bumps, "ch4/fit": ch4.fit,
}
"""``/api/book/<name>`` → the function that computes it from the JSON body."""


def render_book_page(name: str) -> str:
    """Page ``name`` (``"index"``, ``"ch1"``, ...): ``static/book/<name>.html`` after the
    chapter heading and links (``static/book/chapter-head.html``), with the Book's stylesheet
    and ``book.js``, in the shared layout."""
    title = "Book" if name == "index" else f"Book · {name.replace('ch', 'Chapter ')}"
    main = (STATIC / "book" / f"{name}.html").read_text(encoding="utf-8")
    if name in CHAPTERS:
        links = "".join(f'<a href="/book/{chapter}">Chapter {chapter[2:]}</a>' for chapter in CHAPTERS)
        head = (STATIC / "book" / "chapter-head.html").read_text(encoding="utf-8")
        main = head.replace("{{heading}}", f"Chapter {name[2:]} · {CHAPTERS[name]}").replace(
            "{{chapters}}", f'<a href="/book">All chapters</a>{links}') + "\n" + main
    main = ('<link rel="stylesheet" href="/static/book/book.css">\n' + main.rstrip() +
            '\n<script src="/static/book/book.js"></script>')   # before the page's own script
    layout = (STATIC / "layout.html").read_text(encoding="utf-8")
    for key, value in (("title", title), ("hint", HINT), ("page", f"book/{name}"), ("main", main)):
        layout = layout.replace("{{" + key + "}}", value)
    return layout


def page_endpoint(name: str):
    async def endpoint(request: Request) -> Response:
        return HTMLResponse(render_book_page(name))
    endpoint.__name__ = f"book_page_{name}"
    return endpoint


def demo_endpoint(name: str):
    compute = DEMOS[name]

    async def endpoint(state: AppState, request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse(await to_thread.run_sync(compute, body))
    endpoint.__name__ = f"book_{name.replace('/', '_')}"
    return endpoint


SESSIONS = {"ch3": ch3.overfit_session, "ch5": ch5.session, "ch6": ch6.session}
"""Chapter → ``session(body)``: checks the body and returns the factory of its session. These
trainings run as sessions of the playground's pool (its limits, stream and controls; see
:mod:`nnlearn.web.book.sessions`)."""


def session_endpoint(chapter: str):
    make = SESSIONS[chapter]

    async def endpoint(state: AppState, request: Request) -> Response:
        factory = make(await read_json(request))   # checks the body before anything is built
        session = await to_thread.run_sync(state.pool.create, None, factory)
        return JSONResponse(await to_thread.run_sync(session.snapshot), status_code=201)
    endpoint.__name__ = f"book_{chapter}_session"
    return endpoint


def routes(state: AppState) -> list:
    return [
        Route("/book", page_endpoint("index")),
        *[Route(f"/book/{name}", page_endpoint(name)) for name in CHAPTERS],
        *[Route(f"/api/book/{name}", bind(demo_endpoint(name), state), methods=["POST"])
          for name in DEMOS],
        *[Route(f"/api/book/{chapter}/session", bind(session_endpoint(chapter), state),
                methods=["POST"]) for chapter in SESSIONS],
    ]
