"""``nnlearn serve``: the web face (Playground, Draw a digit, Runs) on a local ASGI server."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from nnlearn.checks import Integer, Number
from nnlearn.cli.flags import flag_type
from nnlearn.errors import install_hint
from nnlearn.experiments.runs.folder import runs_root

PORT = Integer(0, 65535)
"""``--port``: 0 picks a free one."""
SESSIONS = Integer(1)
"""``--max-sessions`` and ``--max-connections``: at least one."""
SECONDS = Number(0, low_open=True)
"""``--idle-timeout``, ``--max-rate`` and ``--request-timeout``: positive, finite."""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="the web pages: playground, draw a digit, live run dashboards",
        description="Serve the Playground (a small network trained live by nnlearn on 2-D data), "
                    "Draw a digit and the Runs dashboard, with their HTTP API under /api/ "
                    "(see docs/web.md). Needs the web extra: " + install_hint("web") + ". "
                    "Ctrl-C stops it.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=flag_type("--port", PORT), default=8000,
                   help="port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--runs-dir", default=None, metavar="DIR",
                   help="folder of run folders (default: $NNLEARN_RUNS_DIR or ./runs)")
    p.add_argument("--model", default=None, metavar="PATH|RUN",
                   help="default model of Draw a digit: a model file, a run folder or a run "
                        "name (default: the shipped model; runs are chosen on the page)")
    p.add_argument("--max-sessions", type=flag_type("--max-sessions", SESSIONS), default=8,
                   metavar="N",
                   help="playground sessions (browser tabs) at once (default: %(default)s)")
    p.add_argument("--idle-timeout", type=flag_type("--idle-timeout", SECONDS), default=600.0,
                   metavar="SECONDS",
                   help="free a playground session unused this long (default: %(default)s)")
    p.add_argument("--max-rate", type=flag_type("--max-rate", SECONDS), default=30.0, metavar="N",
                   help="playground updates per second at most (default: %(default)s)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a name the server may be reached by (the Host header), besides "
                        "localhost, 127.0.0.1, ::1 and the --host address; repeat for more; "
                        "'*' allows any name (turns off the DNS-rebinding check)")
    p.add_argument("--max-connections", type=flag_type("--max-connections", SESSIONS), default=100,
                   metavar="N",
                   help="open connections at once; one more is answered 503 and closed "
                        "(default: %(default)s)")
    p.add_argument("--request-timeout", type=flag_type("--request-timeout", SECONDS), default=10.0,
                   metavar="SECONDS",
                   help="time a client has to send a whole request; slower ones are "
                        "disconnected (default: %(default)s)")
    p.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        from nnlearn.web import server  # the web extra (uvicorn), and --help stays fast
        from nnlearn.web.app import create_app  # the web extra (starlette)
        from nnlearn.web.guard import allowed_host_names  # the web extra (starlette)
    except ImportError as exc:
        raise ImportError(f"nnlearn serve needs the web extra ({exc.name} is missing): "
                          f"{install_hint('web')}") from None
    try:  # many small requests at once: one BLAS thread each beats threads fighting over 2 cores
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, user_api="blas")
    except ImportError:
        pass
    runs_dir = args.runs_dir or str(runs_root())
    app = create_app(runs_dir, model=args.model, max_sessions=args.max_sessions,
                     idle_seconds=args.idle_timeout, max_updates_per_second=args.max_rate,
                     allowed_hosts=allowed_host_names(args.host, args.allowed_host))
    if not _is_loopback(args.host):
        print(f"nnlearn serve: warning: listening on {args.host}, so other machines can reach "
              "this server; it has no authentication (anyone who can connect can use it and "
              "read the runs). Use the default --host 127.0.0.1 unless you mean it. Other "
              "machines are answered only when they name it by a specific --host address or "
              "by a name given with --allowed-host (see docs/web.md).",
              file=sys.stderr, flush=True)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose "
                      "another --port (or 0 for any free one)") from None
    sock.listen(server.LISTEN_BACKLOG)  # connections wait from now on, before the URL is printed
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    print(f"nnlearn serve: http://{shown}:{port}/  (runs from {runs_dir}; Ctrl-C to stop)",
          flush=True)
    try:
        server.serve(app, sock, max_connections=args.max_connections,
                     request_timeout=args.request_timeout)
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the Ctrl-C
        pass
    print("nnlearn serve: stopped", flush=True)
    return 0
