r"""Screenshots of the ``nnlearn serve`` pages for the docs, taken by Debian's Chromium.

Usage::

    apt-get install chromium && pip install -e ".[web]" playwright
    python scripts/web_screenshots.py            # writes docs/images/web/{playground,draw,runs}.png
                                                 # and {playground,draw,runs}-phone.png (390 × 844)

It starts ``nnlearn serve`` on 127.0.0.1 with a fresh runs folder, trains two small MNIST
runs there with ``nnlearn train`` and starts a third that is still training when the Runs
page is photographed; on the Playground it trains the spiral with the sine features and
opens a neuron's backprop; on Draw a digit it draws a "4" with mouse strokes. Then the same
three pages on a phone's screen (390 × 844 CSS pixels, touch).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "web"
CHROMIUM = "/usr/bin/chromium"
PLAYGROUND = ("dataset=spiral&noise=10&hidden=8,8,4&features=x1,x2,x1_sq,x2_sq,sin_x1,sin_x2"
              "&activation=tanh&eta=0.01&optimizer=adam&mini_batch_size=10&seed=3")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 1}


def nnlearn(*args: str, env: dict, wait: bool = True):
    cmd = [sys.executable, "-m", "nnlearn.cli", *args]
    if wait:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        return None
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = tempfile.mkdtemp(prefix="nnlearn-shots-")
    env = {**os.environ, "NNLEARN_RUNS_DIR": runs}
    nnlearn("train", "--train-size", "10000", "--epochs", "10", "--hidden", "30", "--seed", "1",
            "--no-plots", "--quiet", "--name", "mlp-30-sgd", env=env)
    nnlearn("train", "--train-size", "10000", "--epochs", "10", "--hidden", "100", "--optimizer", "adam",
            "--eta", "0.001", "--lmbda", "1", "--seed", "1", "--no-plots", "--quiet", "--name",
            "mlp-100-adam", env=env)
    server = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "serve", "--port", "0",
                               "--runs-dir", runs], stdout=subprocess.PIPE, text=True, env=env)
    url = server.stdout.readline().split()[2].rstrip("/")
    live = None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})

            page.goto(f"{url}/playground#{PLAYGROUND}")
            page.wait_for_function("state.snap !== null")
            page.click("#showTest")
            page.click("#play")
            page.wait_for_function("state.snap.epoch >= 300", timeout=120_000)
            page.click("#play")
            page.wait_for_function("state.snap.playing === false")
            page.click('.node[data-layer="1"][data-unit="2"]')
            page.wait_for_selector("table.bp")
            page.mouse.move(5, 5)  # off the neuron: the big plot shows the output again
            page.wait_for_timeout(500)
            page.screenshot(path=str(args.out / "playground.png"), full_page=True)

            draw_a_four(page, url)
            page.screenshot(path=str(args.out / "draw.png"), full_page=True)

            live = nnlearn("train", "--train-size", "20000", "--epochs", "30", "--hidden", "60",
                           "--seed", "2", "--no-plots", "--quiet", "--name", "mlp-60-live",
                           env=env, wait=False)
            page.goto(f"{url}/runs?poll=500")
            page.wait_for_function("(state.metrics['mlp-60-live'] || []).length >= 4", timeout=120_000)
            page.click('tr[data-run="mlp-100-adam"] a.name')
            page.wait_for_selector("table.confusion")
            page.wait_for_timeout(700)
            page.screenshot(path=str(args.out / "runs.png"), full_page=True)

            phone = browser.new_context(**PHONE).new_page()
            phone.goto(f"{url}/playground#{PLAYGROUND}")
            phone.wait_for_function("state.snap !== null")
            for _ in range(40):
                epoch = phone.evaluate("state.snap.epoch")
                phone.click("#step")
                phone.wait_for_function(f"state.snap.epoch > {epoch}")
            phone.wait_for_timeout(500)
            phone.screenshot(path=str(args.out / "playground-phone.png"), full_page=True)
            draw_a_four(phone, url)
            phone.screenshot(path=str(args.out / "draw-phone.png"), full_page=True)
            phone.goto(f"{url}/runs")
            phone.click('tr[data-run="mlp-100-adam"] a.name')
            phone.wait_for_selector("table.confusion")
            phone.wait_for_timeout(700)
            phone.screenshot(path=str(args.out / "runs-phone.png"), full_page=True)
            browser.close()
    finally:
        if live is not None:
            live.terminate()
            live.wait(timeout=30)
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    for name in ("playground", "draw", "runs"):
        for suffix in ("", "-phone"):
            print(f"wrote {args.out / (name + suffix + '.png')}")


def draw_a_four(page, url: str) -> None:
    """Draw a "4" in two mouse strokes on the Draw a digit page and wait for the answer."""
    page.goto(f"{url}/draw")
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    box = page.locator("#pad").bounding_box()
    s = box["width"] / 280
    for stroke in (((95, 45), (80, 150), (195, 150)), ((170, 60), (165, 240))):
        page.mouse.move(box["x"] + stroke[0][0] * s, box["y"] + stroke[0][1] * s)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * s, box["y"] + y * s, steps=12)
        page.mouse.up()
    page.wait_for_function("state.answer !== null && !state.busy && !state.again")
    page.wait_for_timeout(300)


if __name__ == "__main__":
    main()
