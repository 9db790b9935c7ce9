"""The Book pages end to end: ``nnlearn serve`` as a real server, driven by Debian's Chromium
through Playwright (the fixtures of tests/test_web_browser.py). Each page loads, a control
changes what it shows, and the numbers on the page equal the library's."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn.examples.notebooks import neuron
from test_web_browser import CHROMIUM, browser, page, runs_dir, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
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
