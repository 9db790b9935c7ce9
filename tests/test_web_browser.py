"""End to end: ``nnlearn serve`` as a real server on 127.0.0.1, driven by Debian's Chromium
through Playwright (mouse events, clicks, URLs), and a real ``nnlearn train`` beside it.

Chromium comes from apt (``apt-get install chromium``; .ci/run installs it) and is launched
by path: Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's Chromium: apt-get install chromium")]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("web-runs")


@pytest.fixture(scope="module")
def server(runs_dir):
    """``nnlearn serve --port 0`` in a subprocess; its URL; Ctrl-C at the end."""
    proc = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "serve", "--port", "0",
                             "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("nnlearn serve: http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"nnlearn serve did not start: {line!r} {proc.stderr.read()}")
    yield line.split()[2].rstrip("/")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def test_draw_a_stroke_and_get_ten_probabilities_and_the_28x28_input(server, page):
    page.goto(server + "/draw")
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    page.mouse.move(box["x"] + 140 * scale, box["y"] + 45 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 142 * scale, box["y"] + 235 * scale, steps=15)
    page.mouse.up()
    page.wait_for_function("state.answer !== null && !state.busy && !state.again")
    answer = page.evaluate("state.answer")
    probabilities = answer["probabilities"]
    assert len(probabilities) == 10 and all(0 <= p <= 1 for p in probabilities)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-6)
    assert answer["digit"] == 1 and page.inner_text("#digit") == "1"  # a vertical stroke
    preview = page.evaluate("""() => {
        const c = document.getElementById('stepCentred');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 60) lit++;
        return [c.width, c.height, lit]; }""")
    assert preview[:2] == [28, 28] and 20 < preview[2] < 400
    assert page.locator(".bar.top .d").inner_text() == "1"
    page.mouse.move(box["x"] + 30 * scale, box["y"] + 250 * scale)  # a speck, far from the 1
    page.mouse.down()
    page.mouse.move(box["x"] + 33 * scale, box["y"] + 251 * scale, steps=2)
    page.mouse.up()
    page.wait_for_function("state.strokes === 2 && !state.busy && !state.again")
    ink = page.evaluate("""() => {
        const c = document.getElementById('stepInk');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let white = 0, red = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] > 100 && d[i + 1] > 100) white++; else if (d[i] > 100) red++; }
        return [c.width, white, red]; }""")
    assert ink[0] == 70 and ink[1] > 20 and ink[2] > 0  # the stroke kept, the speck set aside
    assert page.evaluate("state.answer.digit") == 1
    assert page.evaluate("state.answer.steps.box")[1] > 100  # the box holds the 1, not the speck


def test_playground_xor_trains_until_the_test_loss_is_low(server, page):
    page.goto(server + "/playground")
    page.wait_for_function("state.snap !== null")
    page.click('.dataset[data-name="xor"]')
    page.wait_for_function("state.settings.dataset === 'xor' && state.snap.settings.dataset === 'xor'")
    assert page.inner_text("#epoch") == "0"
    before = page.evaluate("document.getElementById('boundary').toDataURL()")
    page.click("#play")
    page.wait_for_function("state.snap.test_loss !== null && state.snap.test_loss < 0.15", timeout=60_000)
    page.click("#play")  # pause
    page.wait_for_function("state.snap.playing === false")
    assert float(page.inner_text("#testLoss")) < 0.2
    assert int(page.inner_text("#epoch").replace(",", "")) > 10
    assert page.evaluate("state.history.length") == page.evaluate("state.snap.epoch")
    after = page.evaluate("document.getElementById('boundary').toDataURL()")
    assert after != before


def test_a_click_on_the_plot_adds_a_point(server, page):
    page.goto(server + "/playground")
    page.wait_for_function("state.snap !== null")
    count = page.evaluate("state.points.train.length")
    box = page.locator("#boundary").bounding_box()
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_function(f"state.points.train.length === {count + 1}")
    x, y, label = page.evaluate("state.points.train[state.points.train.length - 1]")
    assert x == pytest.approx(-3.0, abs=0.1) and y == pytest.approx(3.0, abs=0.1) and label == 1
    page.click('#clickMode button[data-mode="0"]')
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.5 * box["height"])
    page.wait_for_function(f"state.points.train.length === {count + 2}")
    x, y, label = page.evaluate("state.points.train[state.points.train.length - 1]")
    assert x == pytest.approx(3.0, abs=0.1) and y == pytest.approx(0.0, abs=0.1) and label == 0


def test_a_url_with_state_opens_the_same_experiment(server, page):
    state = {"dataset": "spiral", "noise": "20", "train_ratio": "70", "hidden": "3,5,2",
             "activation": "relu", "learning_rate": "0.03", "features": "x1,x2,sin_x1",
             "optimizer": "adam", "cost": "quadratic", "regularization": "l2", "reg_rate": "0.01",
             "seed": "7", "batch_size": "16"}
    page.goto(server + "/playground#" + "&".join(f"{k}={v}" for k, v in state.items()))
    page.wait_for_function("state.snap !== null")
    for control in ("activation", "learning_rate", "optimizer", "cost", "regularization", "reg_rate",
                    "seed", "noise", "train_ratio", "batch_size"):
        assert page.input_value("#" + control) == state[control], control
    assert page.get_attribute(".dataset.on", "data-name") == "spiral"
    assert page.inner_text("#layerCount") == "3 hidden layers"
    assert [page.locator(f'.node[data-layer="{l}"]').count() for l in range(4)] == [3, 5, 2, 1]
    active = page.eval_on_selector_all(".node.feature:not(.off)", "nodes => nodes.map(n => n.dataset.name)")
    assert active == ["x1", "x2", "sin_x1"]
    server_side = page.evaluate("NN.api('/api/playground/' + state.session).then(s => s.settings)")
    for key, value in state.items():
        shown = server_side[key]
        assert (",".join(map(str, shown)) if isinstance(shown, list) else str(shown)) == value, key
    in_the_url = dict(parse_qsl(page.evaluate("location.hash.slice(1)")))
    assert {key: in_the_url[key] for key in state} == state  # the page keeps the state in its URL


def test_runs_page_follows_a_training_run_live(server, page, runs_dir):
    page.goto(server + "/runs?poll=250")
    page.wait_for_selector("#noRuns", state="visible")
    env = {**os.environ, "NNLEARN_RUNS_DIR": str(runs_dir)}
    train = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "train", "--train-size", "10000",
                              "--epochs", "10", "--hidden", "30", "--no-plots", "--name", "live",
                              "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, statuses = [], set()
    deadline = time.monotonic() + 120
    while train.poll() is None and time.monotonic() < deadline:
        seen.append(page.evaluate("(state.metrics.live || []).length"))
        statuses.add(page.evaluate("(state.runs.find(r => r.name === 'live') || {}).status"))
        time.sleep(0.1)
    out, err = train.communicate(timeout=60)
    assert train.returncode == 0, err
    page.wait_for_function("(state.metrics.live || []).length === 10")
    growing = sorted({n for n in seen if 0 < n < 10})
    assert len(growing) >= 2, seen  # the curve gained points while the run trained
    assert seen == sorted(seen) and "running" in statuses
    assert page.get_attribute("#curves", "data-points") == "10"
    page.wait_for_function("state.runs.find(r => r.name === 'live').status === 'finished'")
    page.click('tr[data-run="live"] a.name')
    page.wait_for_selector("table.confusion")
    total = page.eval_on_selector_all("table.confusion td", "cells => cells.reduce((s, c) => s + Number(c.textContent), 0)")
    assert total == 10000
