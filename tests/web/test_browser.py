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
             "activation": "relu", "eta": "0.03", "features": "x1,x2,sin_x1",
             "optimizer": "adam", "cost": "quadratic", "regularization": "l2", "lmbda": "0.01",
             "seed": "7", "mini_batch_size": "16", "weight_init": "he"}
    page.goto(server + "/playground#" + "&".join(f"{k}={v}" for k, v in state.items()))
    page.wait_for_function("state.snap !== null")
    for control in ("activation", "eta", "optimizer", "cost", "regularization", "lmbda",
                    "seed", "noise", "train_ratio", "mini_batch_size", "weight_init"):
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
    old = "#dataset=xor&learning_rate=0.01&batch_size=25&reg_rate=0.003&init=he&regularization=l2"
    page.goto(server + "/playground" + old)  # a link shared before the names followed the config
    page.reload()
    page.wait_for_function("state.snap !== null && state.snap.settings.dataset === 'xor'")
    settings = page.evaluate("state.snap.settings")
    assert (settings["eta"], settings["mini_batch_size"], settings["lmbda"], settings["weight_init"]) == \
        (0.01, 25, 0.003, "he")
    assert "eta=0.01" in page.evaluate("location.hash") and "learning_rate" not in page.evaluate("location.hash")


def test_runs_page_follows_a_training_run_live(server, page, runs_dir):
    page.goto(server + "/runs?poll=250")
    page.wait_for_selector("#noRuns", state="visible")
    env = {**os.environ, "NNLEARN_RUNS_DIR": str(runs_dir)}
    train = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "train", "--train-size", "50000",
                              "--epochs", "10", "--hidden", "100", "--no-plots", "--name", "live",
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
    total = page.eval_on_selector_all("table.confusion td",
                                      "cells => cells.reduce((s, c) => s + Number(c.textContent), 0)")
    assert total == 10000


# -- issue 27: the playground in every state, phones, runs, draw, accessibility -------------
def _errors_of(page):
    """Console errors and HTTP error answers seen by the page, as a growing list."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: seen.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return seen


def test_a_diverging_run_stops_shows_the_servers_message_and_reset_starts_over(server, page):
    seen = _errors_of(page)
    page.goto(server + "/playground#dataset=plane&cost=quadratic&activation=linear&learning_rate=10"
                       "&init=normal&hidden=8,8,8")  # the link of issue 27
    page.wait_for_function("state.snap !== null")
    page.click("#play")
    page.wait_for_selector("#banner.show.error")
    assert "Try a smaller eta than 10" in page.inner_text("#banner")
    page.wait_for_function("state.snap.playing === false")
    assert page.get_attribute("#play", "data-playing") == "0" and page.inner_text("#epoch") == "0"
    assert page.inner_text("#trainLoss") != "–"  # the loss of the kept, finite network
    page.select_option("#eta", "0.001")  # a smaller η: training goes on from the kept state
    page.wait_for_function("state.settings.eta === 0.001")
    page.click("#step")
    page.wait_for_function("state.snap.epoch === 1")
    assert not page.is_visible("#banner") and page.evaluate("state.snap.error") is None
    page.click("#reset")
    page.wait_for_function("state.snap.epoch === 0 && state.snap.generation > 1")
    assert seen == []


def _code_reproduces_the_page(page, tmp_path):
    """Run the shown Python in a subprocess: it prints the page's epoch and losses."""
    page.wait_for_function("state.snap.playing === false && state.codeFor === state.snap.epoch "
                           "&& state.codeTab === 'python'")
    script = tmp_path / "playground.py"
    script.write_text(page.inner_text("#code"))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    snap = page.evaluate("state.snap")
    expected = f"epoch {snap['epoch']}: training loss {snap['train_loss']:.4f}"
    if snap["test_loss"] is not None:
        expected += f", test loss {snap['test_loss']:.4f}"
    assert out.stdout.strip() == expected


def _step(page, times):
    for _ in range(times):
        epoch = page.evaluate("state.snap.epoch")
        page.click("#step")
        page.wait_for_function(f"state.snap.epoch === {epoch + 1}")


def _set_range(page, control, value):
    page.evaluate(f"(() => {{ const el = document.getElementById('{control}'); el.value = {value}; "
                  "el.dispatchEvent(new Event('change')); })()")
    page.wait_for_function(f"state.settings.{control} === {value}")


def test_the_exported_code_reproduces_the_page_after_clicks_changes_and_a_csv(server, page, tmp_path):
    page.goto(server + "/playground#dataset=xor&hidden=4,2&optimizer=momentum")
    page.wait_for_function("state.snap !== null")
    box = page.locator("#boundary").bounding_box()
    for i in range(6):
        page.click(f'#clickMode button[data-mode="{i % 2}"]')
        page.mouse.click(box["x"] + (0.1 + 0.13 * i) * box["width"], box["y"] + 0.3 * box["height"])
        page.wait_for_function(f"state.points.train.length === {250 + i + 1}")
    _step(page, 3)
    page.select_option("#eta", "0.01")
    page.wait_for_function("state.settings.eta === 0.01")
    _set_range(page, "mini_batch_size", 25)
    _step(page, 2)
    _code_reproduces_the_page(page, tmp_path)
    rows = "x1,x2,label\n" + "".join(f"{x:.3f},{(x * x) / 6 - 2:.3f},{int(x > 0)}\n"
                                     for x in [-5 + 10 * i / 199 for i in range(200)])
    page.set_input_files("#csv", files=[{"name": "mine.csv", "mimeType": "text/csv",
                                         "buffer": rows.encode()}])
    page.wait_for_function("state.snap.uploaded === 200")
    _set_range(page, "noise", 25)  # does not apply to uploaded points: they stay
    assert page.evaluate("state.points.train.length + state.points.test.length") == 200
    assert page.evaluate("state.snap.uploaded") == 200 and page.locator(".dataset.on").count() == 0
    _step(page, 2)
    _code_reproduces_the_page(page, tmp_path)


def _fits(browser, url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        return page.evaluate("document.scrollingElement.scrollWidth")
    finally:
        context.close()


def test_every_page_fits_a_phone_and_a_tablet_without_scrolling_sideways(server, browser, runs_dir):
    make_run_folder(runs_dir, "a-run-with-a-long-name-for-the-phone")
    for width, height in ((390, 844), (820, 1180)):
        for path in ("/playground#hidden=8,8,8,8,8,8", "/draw", "/runs"):
            assert _fits(browser, server + path, width, height) <= width, (path, width)


def make_run_folder(root, name, *, readable=True):
    """A small finished run folder as `nnlearn train` leaves it (an untrained model)."""
    import nnlearn
    from nnlearn.experiments.config import files as cfgmod
    from nnlearn.experiments.runs.folder import Run

    cfg = cfgmod.resolve(None, overrides={"model.hidden": [10], "training.epochs": 3})
    run = Run.create(cfg, run_dir=root / name)
    for epoch in (1, 2, 3):
        run.append_metrics({"epoch": epoch, "evaluation_accuracy": 0.5 + 0.1 * epoch})
    nnlearn.Network.from_sizes([784, 10, 10], cost="cross_entropy", seed=1).save(run.model_path)
    run.write_summary({"test_accuracy": 0.5, "epochs": 3})
    if not readable:
        run.config_path.write_text("this is not = = toml\n")
    return run


def test_runs_rows_are_patched_in_place_and_unreadable_runs_are_skipped(server, page, runs_dir):
    make_run_folder(runs_dir, "readable-one")
    make_run_folder(runs_dir, "zz-broken", readable=False)
    page.goto(server + "/runs?poll=200")
    page.wait_for_selector('tr[data-run="zz-broken"]')
    page.focus('tr[data-run="readable-one"] input')
    handle = page.evaluate_handle("document.activeElement")
    page.wait_for_timeout(1200)  # several polls
    assert page.evaluate("(el) => el === document.activeElement && el.isConnected", handle)
    pair = page.get_attribute("#diff", "data-pair")
    assert pair and "zz-broken" not in pair  # the automatic diff takes two readable runs
    assert "seed None" not in page.inner_text("#runs")
    page.click('tr[data-run="readable-one"] input[type=checkbox]')
    page.wait_for_function("document.getElementById('curves').dataset.xTicks")
    ticks = page.get_attribute("#curves", "data-x-ticks").split(",")
    assert all(float(t) == int(float(t)) for t in ticks), ticks  # whole epochs
    page.click('tr[data-run="zz-broken"] a.name')
    page.wait_for_function("document.getElementById('evaluation').textContent.includes('does not load')")


def test_draw_posts_no_lone_dot_and_defaults_to_the_shipped_model(server, page, runs_dir):
    make_run_folder(runs_dir, "newest-toy")
    seen = _errors_of(page)
    page.goto(server + "/draw")
    page.wait_for_function("document.querySelectorAll('#model option').length > 1")
    assert page.input_value("#model") == "shipped"
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    for x0 in (100, 140, 180):  # three strokes, each starting with a dot
        page.mouse.move(box["x"] + x0 * scale, box["y"] + 50 * scale)
        page.mouse.down()
        page.mouse.move(box["x"] + x0 * scale, box["y"] + 230 * scale, steps=8)
        page.mouse.up()
        page.wait_for_function("state.answer !== null && !state.busy && !state.again")
    assert page.evaluate("state.answer.model") == "shipped" and seen == []
    page.select_option("#model", "newest-toy")
    assert "newest-toy" in page.inner_text("#modelNote") and "shipped model" not in page.inner_text("#modelNote")


def test_every_control_has_an_accessible_name(server, page):
    page.goto(server + "/playground")
    page.wait_for_function("state.snap !== null")
    page.click('.node[data-layer="0"][data-unit="0"]')
    page.wait_for_selector("table.bp")
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    roles = {"button", "slider", "combobox", "checkbox", "spinbutton", "textbox", "radio", "link", "img"}
    unnamed = [(n["role"]["value"], n.get("backendDOMNodeId")) for n in nodes if not n.get("ignored")
               and n.get("role", {}).get("value") in roles and not n.get("name", {}).get("value", "").strip()]
    assert unnamed == []
    assert page.get_attribute("#stats", "aria-live") == "polite"
    page.keyboard.press("Shift")  # the keyboard, not the mouse, moves the focus from here on
    page.focus('.node[data-layer="1"][data-unit="1"]')  # the keyboard reaches a neuron and opens it
    assert page.inner_text("#boundaryText").startswith("Showing neuron 2 of layer 2")  # in the big plot
    page.keyboard.press("Enter")
    page.wait_for_function("state.selected.layer === 1 && state.selected.unit === 1")
    count = page.evaluate("state.points.train.length")
    page.focus("#boundary")  # and adds a point without a mouse
    page.keyboard.press("ArrowRight")
    page.keyboard.press("1")
    page.wait_for_function(f"state.points.train.length === {count + 1}")
    assert page.evaluate("state.points.train[state.points.train.length - 1]") == [0.5, 0.0, 1.0]


def test_a_three_class_set_trains_with_a_softmax_output_and_class_colours(server, page, tmp_path):
    page.goto(server + "/playground#dataset=gauss3&hidden=4")
    page.wait_for_function("state.snap !== null && state.snap.boundary_classes")
    assert page.locator('.node.output').count() == 3 and page.input_value("#cost") == "log_likelihood"
    assert page.locator("#clickMode button").count() == 4  # three classes and "inspect"
    page.click("#play")
    page.wait_for_function("state.snap.test_accuracy > 0.95", timeout=60_000)
    page.click("#play")
    page.wait_for_function("state.snap.playing === false")
    colours = page.evaluate("""() => {  // the plot's pixels: one hue per class region
        const c = document.getElementById('boundary');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) {
          const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
          if (Math.max(r, g, b) - Math.min(r, g, b) > 60)
            seen.add(r > g && r > b ? 'orange' : b > r && b > g ? 'blue' : 'green');
        }
        return [...seen].sort(); }""")
    assert colours == ["blue", "green", "orange"]
    page.click('.node.output[data-unit="2"]')
    page.wait_for_selector("table.bp")
    assert "softmax with log-likelihood" in page.inner_text("#backprop")
    _code_reproduces_the_page(page, tmp_path)
    rows = "".join(f"{x + i / 40},{y},{i % 4}\n" for i, (x, y) in enumerate([(-4, -4), (0, 4), (4, -4), (2, 2)] * 10))
    page.set_input_files("#csv", files=[{"name": "four.csv", "mimeType": "text/csv", "buffer": rows.encode()}])
    page.wait_for_function("state.snap.uploaded === 40 && state.settings.classes === 4")
    assert page.locator('.node.output').count() == 4


def test_weights_set_by_hand_dropout_and_a_schedule_are_replayed_by_the_code(server, page, tmp_path):
    page.goto(server + "/playground#dataset=xor&hidden=3,2&dropout=0.1&schedule=exponential")
    page.wait_for_function("state.snap !== null")
    assert (page.input_value("#dropout"), page.input_value("#schedule")) == ("0.1", "exponential")
    page.select_option(".layer-head select[aria-label='activation of hidden layer 2']", "relu")  # one layer's own
    page.wait_for_function("state.snap.settings.activations.join() === 'tanh,relu'")
    _step(page, 2)
    page.once("dialog", lambda dialog: dialog.accept("-1.5"))
    page.evaluate("state.links['0:1:2'].dispatchEvent(new MouseEvent('click'))")  # the link x₂ → neuron 3
    page.wait_for_function("state.snap.weights[0].W[1][2] === -1.5")
    page.click('.node[data-layer="1"][data-unit="0"]')  # neuron 1 of hidden layer 2: its backprop panel
    page.wait_for_selector("input.wedit")
    page.fill('input.wedit[data-k="0"]', "0.25")
    page.press('input.wedit[data-k="0"]', "Enter")
    page.wait_for_function("state.snap.weights[1].W[0][0] === 0.25")
    _step(page, 1)
    page.select_option("#schedule", "step")  # a new schedule from the current η
    page.wait_for_function("state.settings.schedule === 'step'")
    _step(page, 2)
    _code_reproduces_the_page(page, tmp_path)
    assert page.inner_text("#code").count("set by hand on the page") == 2
