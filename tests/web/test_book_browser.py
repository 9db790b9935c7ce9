"""The Book pages end to end: ``nnlearn serve`` as a real server, driven by Debian's Chromium
through Playwright (the fixtures of tests/web/test_browser.py). Each page loads, a control
changes what it shows, and the numbers on the page equal the library's."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest

import nnlearn
from nnlearn.examples.notebooks import neuron
from tests.paths import REPO
from tests.web.test_browser import CHROMIUM, _fits, browser, page, runs_dir, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's Chromium: apt-get install chromium")]


def fit_cost(w: float, b: float, cost: str, eta: float, epochs: int) -> float:
    """The neuron's training cost after ``epochs`` epochs of Network.fit."""
    net = neuron(w, b, "sigmoid", cost)
    history = net.fit(np.array([[1.0]]), np.array([[0.0]]), epochs=epochs, mini_batch_size=1,
                      eta=eta, monitor=["training_cost"])
    return history["training_cost"][-1]


def test_ch3_slowdown_and_softmax_show_the_library_numbers(server, page):
    page.goto(server + "/book/ch3")
    page.wait_for_function("state.slowdown !== null && !state.busy && state.softmax !== null")
    assert page.locator(".tabs a.active").inner_text() == "Book"
    assert page.inner_text("#epochShown") == "300"
    assert float(page.inner_text("#costShown")) == pytest.approx(
        fit_cost(2.0, 2.0, "quadratic", 0.15, 300), abs=5e-7)
    page.click("#slowdown details.code-export summary")   # show the code
    assert "net.fit(" in page.inner_text("#slowdown pre.code")
    quadratic_curve = page.evaluate("document.getElementById('costChart').toDataURL()")

    page.click('#cost button[data-cost="cross_entropy"]')
    page.wait_for_function("state.slowdown.cost === 'cross_entropy' && !state.busy")
    assert page.input_value("#eta") == "0.005"
    assert float(page.inner_text("#costShown")) == pytest.approx(
        fit_cost(2.0, 2.0, "cross_entropy", 0.005, 300), abs=5e-7)
    assert page.evaluate("document.getElementById('costChart').toDataURL()") != quadratic_curve

    before = [float(t) for t in page.locator("#softmaxBars b.a").all_inner_texts()]
    z4 = page.locator("#softmax input.z").nth(3)
    z4.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")   # z4: 0.5 → 1.5
    page.wait_for_function("state.softmax.z[3] === 1.5")
    shown = [float(t) for t in page.locator("#softmaxBars b.a").all_inner_texts()]
    z = np.array([2.5, -1.0, 3.2, 1.5])
    np.testing.assert_allclose(shown, np.exp(z) / np.exp(z).sum(), atol=5e-5)
    assert shown[3] > before[3] and all(shown[j] < before[j] for j in range(3))

    page.click('#lmbda button[data-v="0.1"]')            # overfitting: a new session with L2 λ = 0.1
    page.wait_for_function("overfit.snap !== null && overfit.snap.lmbda === 0.1")
    for epoch in (1, 2):
        page.click("#step")
        page.wait_for_function(f"overfit.snap.epoch === {epoch}", timeout=60_000)
    from nnlearn.data import load_mnist
    mnist = load_mnist()
    net = nnlearn.Network.from_sizes([784, 30, 10], cost="cross_entropy", seed=1)
    history = net.fit(mnist.train[0][:1000], mnist.train[1][:1000], epochs=2, mini_batch_size=10,
                      eta=0.5, lmbda=0.1, validation_data=mnist.validation,
                      monitor=["training_cost", "evaluation_accuracy"])
    assert float(page.inner_text("#overfitCostShown")) == pytest.approx(history["training_cost"][-1], abs=6e-5)
    assert float(page.inner_text("#overfitAccuracyShown")) == pytest.approx(
        100 * history["evaluation_accuracy"][-1], abs=6e-3)


def test_ch1_sliders_move_the_neuron_and_the_descent_to_the_library_numbers(server, page):
    page.goto(server + "/book/ch1")
    page.wait_for_function("state.neuron !== null && state.descent !== null")
    assert page.inner_text("#threshold") == "0.500"
    w = page.locator("#w")
    w.focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")   # w: 8 → 12, the sigmoid gets steeper
    page.wait_for_function("state.neuron.w === 12")
    assert page.inner_text("#threshold") == "0.333"
    assert float(page.inner_text("#sigmoidAtZero")) == pytest.approx(1 / (1 + np.exp(4)), abs=5e-5)

    eta = page.locator("#eta")
    eta.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")   # η: 0.30 → 0.40
    page.wait_for_function("Math.abs(state.descent.eta - 0.4) < 1e-9")
    xs = np.linspace(0.0, 2.0, 20)[:, None]
    net = neuron(-1.0, 4.0, "linear")
    net.fit(xs, 2 * xs + 1, epochs=30, mini_batch_size=20, eta=0.4, monitor=())
    w_fit, b_fit = net.layers[0].params["W"].item(), net.layers[0].params["b"].item()
    assert float(page.inner_text("#wShown")) == pytest.approx(w_fit, rel=1e-5)
    assert float(page.inner_text("#bShown")) == pytest.approx(b_fit, rel=1e-5)
    assert float(page.inner_text("#costShown")) == pytest.approx(
        net.evaluate(xs, 2 * xs + 1)["cost"], rel=1e-5)


def test_ch2_a_click_on_a_gradient_shows_its_terms_and_the_numbers_are_backward(server, page):
    page.goto(server + "/book/ch2")
    page.wait_for_function("state.bp !== null")
    x1 = page.locator("#x1")
    x1.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")    # x₁: 1.0 → 0.7
    page.wait_for_function("Math.abs(state.bp.x[0] - 0.7) < 1e-9")
    page.click('#target button[data-y="0,1"]')
    page.wait_for_function("state.bp.y[1] === 1")
    net = nnlearn.Network.from_sizes([2, 3, 2], cost="quadratic", seed=1, dtype="float64")
    X, Y = np.array([[0.7, 0.5]]), np.array([[0.0, 1.0]])
    net.backward(net.forward(X), Y)
    assert float(page.inner_text("#costShown")) == pytest.approx(net.evaluate(X, Y)["cost"], abs=1e-8)
    page.click('.num[data-q="dw2_3_1"]')    # ∂C/∂w²₃₁ = a¹₁ δ²₃ (BP4)
    assert page.inner_text("#explainSymbol") == "∂C/∂w²₃₁"
    assert "BP4" in page.inner_text("#explain")
    assert float(page.inner_text("#explainValue")) == pytest.approx(
        net.layers[0].grads["W"][0, 2], rel=1e-7)
    terms = page.locator("#explainTerms tr").all_inner_texts()
    assert terms[0].split()[0] == "a¹₁" and float(terms[0].split()[1]) == pytest.approx(0.7)
    assert float(terms[1].split()[1]) == pytest.approx(net.layers[0].grads["b"][2], rel=1e-5)
    assert "finite difference" in page.inner_text("#explain")
    assert page.locator(".fd.bad").count() == 0 and page.locator(".fd").count() == 5 + 12


def test_ch4_dragging_a_height_and_fitting_show_the_library_numbers(server, page):
    from nnlearn.examples import universality

    page.goto(server + "/book/ch4")
    page.wait_for_function("state.pair !== null && state.bumps !== null")
    assert page.evaluate("state.bumps.heights") == [0.0] * 10
    box = page.locator("#heights").bounding_box()
    page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.5 * box["height"])   # bar 3
    page.mouse.down()
    page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.2 * box["height"], steps=5)
    page.mouse.up()
    page.wait_for_function("state.bumps.heights[3] > 1 && state.bumps.heights.every("
                           "(h, j) => h === state.heights[j])")
    heights = page.evaluate("state.bumps.heights")
    assert heights[3] > 1 and heights[:3] == [0.0] * 3 and heights[4:] == [0.0] * 6
    x = np.linspace(0.0, 1.0, 201)
    output = universality.build(10, heights=heights).predict_proba(x[:, None]).ravel()
    assert float(page.inner_text("#deviationShown")) == pytest.approx(
        np.mean(np.abs(output - universality.f(x))), abs=6e-6)

    page.fill("#fitEpochs", "40")
    page.click("#fitRun")
    page.wait_for_function("state.fit !== null && !state.fitting")
    net = nnlearn.Network.from_sizes([1, 20, 1], cost="quadratic", dtype="float64", seed=1)
    xs = np.linspace(0.0, 1.0, 200)[:, None]
    history = net.fit(xs, universality.f(xs), epochs=40, mini_batch_size=20, optimizer="adam",
                      eta=0.03, monitor=["training_cost"])
    assert page.inner_text("#fitEpochShown") == "40"
    assert float(page.inner_text("#fitCostShown")) == pytest.approx(history["training_cost"][-1],
                                                                     abs=6e-7)
    fitted = net.predict_proba(x[:, None]).ravel()
    assert float(page.inner_text("#fitDeviationShown")) == pytest.approx(
        np.mean(np.abs(fitted - universality.f(x))), abs=6e-6)


def test_ch5_bars_follow_the_training_and_relu_changes_them(server, page):
    from nnlearn.examples import vanishing

    page.goto(server + "/book/ch5")
    page.wait_for_function("state.snap !== null && state.snap.epoch === 0")
    page.click("#play")
    page.wait_for_function("state.snap.epoch >= 3", timeout=60_000)
    page.click("#play")                                   # pause
    page.wait_for_function("state.snap.playing === false")
    epoch = int(page.inner_text("#epochShown"))
    shown = [float(t) for t in page.locator("#bars b.norm").all_inner_texts()]
    expected = vanishing.measure(n=1000, epochs=epoch, sizes=[784, 30, 30, 30, 10], seed=1)
    np.testing.assert_allclose(shown, expected["norms"][epoch][:-1], rtol=1e-3)
    sigmoid_ratio = float(page.inner_text("#ratioShown"))
    assert sigmoid_ratio > 5 and page.locator("#normChart").is_visible()

    page.click('#activation button[data-v="relu"]')
    page.wait_for_function("state.snap !== null && state.snap.activation === 'relu'")
    assert float(page.inner_text("#ratioShown")) < sigmoid_ratio / 5
    assert 'activation="relu"' in page.evaluate("state.snap.code")


def test_ch6_a_step_changes_the_filters_to_network_fit_s(server, page):
    from nnlearn.data import load_mnist

    page.goto(server + "/book/ch6")
    page.wait_for_function("state.snap !== null && state.snap.epoch === 0")
    assert page.locator("#filters canvas").count() == 8 and page.locator("#maps canvas").count() == 8
    before = page.evaluate("document.querySelector('#filters canvas').toDataURL()")
    page.click("#step")
    page.wait_for_function("state.snap.epoch === 1", timeout=60_000)
    assert page.evaluate("document.querySelector('#filters canvas').toDataURL()") != before
    mnist = load_mnist()
    net = nnlearn.Network([nnlearn.Conv2D(1, 8, 5, input_shape=(1, 28, 28)), nnlearn.ReLU(),
                           nnlearn.MaxPool2D(2), nnlearn.Flatten(), nnlearn.Dense(8 * 12 * 12, 10),
                           nnlearn.Softmax()], cost="log_likelihood", seed=1)
    net.fit(mnist.train[0][:1000].reshape(-1, 1, 28, 28), mnist.train[1][:1000], epochs=1,
            mini_batch_size=10, eta=0.1, monitor=(), threads=1)
    accuracy = net.evaluate(mnist.test[0][:500].reshape(-1, 1, 28, 28), mnist.test[1][:500])["accuracy"]
    assert page.inner_text("#accuracyShown") == f"{100 * accuracy:.1f}"
    np.testing.assert_allclose(page.evaluate("state.snap.filters"), net.layers[0].params["W"][:, 0],
                               atol=6e-6)
    page.click('#filterCount button[data-v="16"]')
    page.wait_for_function("state.snap !== null && state.snap.filter_count === 16")
    assert page.locator("#filters canvas").count() == 16


def test_the_docs_commands_serve_the_book_and_take_its_screenshots(tmp_path):
    """docs/book.md's two commands, as written (a free port, and one page into a temporary
    folder, so that the committed screenshots stay as they are)."""
    import os
    import subprocess
    import sys
    from urllib.request import urlopen

    root = REPO
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    serve = subprocess.Popen(["nnlearn", "serve", "--port", "0", "--runs-dir", str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = serve.stdout.readline().split()[2].rstrip("/")
        for _ in range(150):   # the URL is printed once the port is bound, just before it listens
            try:
                page = urlopen(url + "/book", timeout=30).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert 'href="/book/ch6"' in page and "The book, live" in page
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=30)
    shots = subprocess.run([sys.executable, "scripts/book_screenshots.py", "--pages", "ch3",
                            "--out", str(tmp_path / "shots")], cwd=root, env=env,
                           capture_output=True, text=True, timeout=300)
    assert shots.returncode == 0, shots.stderr
    png = (tmp_path / "shots" / "ch3.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_every_book_page_fits_a_phone_without_scrolling_sideways(server, browser):
    from nnlearn.web.book import CHAPTERS

    for path in ["/book", *[f"/book/{name}" for name in CHAPTERS]]:
        assert _fits(browser, server + path, 390, 844) <= 390, path
