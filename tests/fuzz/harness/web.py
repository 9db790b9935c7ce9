r"""The web API's JSON endpoints (:func:`web_requests`, oracle :func:`check_web`): requests to
the real application of ``nnlearn serve`` (in process, through Starlette's TestClient) over a
runs folder that holds a good run, a damaged one and a symbolic link leading outside: valid
bodies with one field replaced by random JSON, random JSON, random bytes, deep nesting,
5000-digit integers, NaN; run names and query values of any text. Every answer must be a
success or a 4xx (or 503 for a full session pool) with a JSON ``{"error", "field"}`` body; a
server error or an exception is a bug.
"""

from __future__ import annotations

import atexit
import json
import warnings

from hypothesis import strategies as st

import nnlearn

from .common import _WORKDIR, _count
from .models import _json_containers


_WEB: dict = {}


def _web_app() -> dict:
    """A TestClient on the real application, made once per process, over a runs folder with a
    good run, a damaged one and a symbolic link leading outside; one live playground session."""
    if not _WEB:
        # the web extra (Starlette) is optional: imported only when the web API is fuzzed
        from starlette.testclient import TestClient

        from nnlearn.experiments.config import files as cfgmod
        from nnlearn.experiments.runs.folder import Run
        from nnlearn.web.app import create_app

        runs, outside = _WORKDIR / "runs", _WORKDIR / "outside"
        cfg = cfgmod.resolve(None, overrides={"model.hidden": [10], "training.epochs": 2})
        for folder in (runs / "good", runs / "damaged", outside):
            run = Run.create(cfg, run_dir=folder)
            run.append_metrics({"epoch": 1, "evaluation_accuracy": 0.5, "training_cost": float("nan")})
            nnlearn.Network.from_sizes([784, 10, 10], seed=0).save(run.model_path)
            run.write_summary({"test_accuracy": 0.5})
        (runs / "damaged" / "summary.json").write_text("[1, 2")
        (runs / "damaged" / "metrics.jsonl").write_text("5\n")
        (runs / "link").symlink_to(outside)
        client = TestClient(create_app(runs, max_sessions=6, max_updates_per_second=None),
                            base_url="http://localhost")
        client.__enter__()  # runs the lifespan (the idle-session sweeper)
        atexit.register(client.__exit__, None, None, None)
        session = client.post("/api/playground", json={"settings": {"dataset": "custom"}})
        _WEB.update(client=client, session=session.json()["session"])
    return _WEB


_WEB_BODIES = {  # a valid body of each JSON endpoint ({S}: the live session's path)
    "/api/predict": {"image": [[0, 1, 0], [0, 1, 0], [0, 1, 0]], "invert": "auto", "steps": True},
    "/api/playground": {"settings": {"dataset": "xor", "hidden": [4, 2], "learning_rate": 0.03,
                                     "num_points": 200, "seed": 1}},
    "{S}/settings": {"learning_rate": 0.1, "batch_size": 10, "noise": 10, "activation": "tanh"},
    "{S}/control": {"action": "step"},
    "{S}/points": {"x": 1.5, "y": -2.0, "label": 1},
    "{S}/csv": {"csv": "x1,x2,label\n1,2,1\n-1,-2,0\n"},
    "{S}/backprop": {"index": 0, "split": "train"},
}
_WEB_GETS = ("/api/runs/{name}", "/api/runs/{name}/metrics?since={text}",
             "/api/compare?a={name}&b={name2}", "/api/runs/{name}/evaluation",
             "/api/playground/{text}", "/api/runs?x={text}")
_ODD_TEXT = st.one_of(st.text(max_size=40), st.sampled_from((
    "good", "damaged", "link", "..", ".", "/etc", "a/../good", "%2e%2e", "\\..\\", "\x00",
    "²", "٣", "9" * 5000, "-1", "1e3", "r" * 5000, "good/../../outside")))
_ODD_JSON = st.sampled_from((
    b"[" * 100_000, b'{"a": ' * 50_000, b"1" + b"0" * 5000, b"NaN", b"-Infinity", b"1e999",
    b'"\\ud800"', b"\xff\xfe", b"", b"null", b"[]", b"{}" * 2))


def _json_values() -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                       st.integers(min_value=-(10**60), max_value=10**60), st.text(max_size=30))
    return st.recursive(leaves, _json_containers, max_leaves=12)


@st.composite
def web_requests(draw) -> tuple[str, str, bytes | None]:
    """``(method, path, body)``: a JSON request to one endpoint, valid but for one part."""
    if draw(st.integers(0, 3)) == 0:
        from urllib.parse import quote

        path = draw(st.sampled_from(_WEB_GETS)).format(
            name=quote(draw(_ODD_TEXT), safe=""), name2=quote(draw(_ODD_TEXT), safe=""),
            text=quote(draw(_ODD_TEXT), safe=""))
        return "GET", path, None
    path = draw(st.sampled_from(sorted(_WEB_BODIES)))
    body = json.loads(json.dumps(_WEB_BODIES[path]))
    kind = draw(st.integers(0, 5))
    if kind <= 2:  # one field (maybe nested, maybe new) replaced by anything JSON can say
        node, key = body, draw(st.sampled_from(sorted(body) + ["unknown"]))
        if isinstance(body.get(key), dict) and draw(st.booleans()):
            node, key = body[key], draw(st.sampled_from(sorted(body[key]) + ["other"]))
        node[key] = draw(_json_values())
        data = json.dumps(body, allow_nan=True).encode()
    elif kind == 3:
        data = json.dumps(draw(_json_values()), allow_nan=True).encode()
    elif kind == 4:
        data = draw(_ODD_JSON)
    else:
        data = draw(st.binary(max_size=64))
    return "POST", path, data


def check_web(case: tuple[str, str, bytes | None], target: str = "web API (JSON endpoints)"):
    """Send the request; the answer must be a success or a clean JSON refusal, never a 500."""
    _count(target)
    web = _web_app()
    client, method, path, body = web["client"], *case
    path = path.replace("{S}", f"/api/playground/{web['session']}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = client.request(method, path, content=body,
                                headers={"Content-Type": "application/json"})
    status = answer.status_code
    assert status < 500 or (status == 503 and "sessions" in answer.text), (method, path, status,
                                                                         answer.text[:300])
    if not (answer.request.url.path + "/").startswith("/api/"):  # '..' led out of the API
        return answer
    payload = answer.json()
    if status >= 400:
        assert isinstance(payload.get("error"), str) and "field" in payload, payload
        assert len(answer.content) < 10_000, "an error message should be short"
    elif path == "/api/playground":  # keep the pool from filling: close what was opened
        client.request("DELETE", f"/api/playground/{payload['session']}", json={})
    return answer
