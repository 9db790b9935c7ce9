r"""Screenshots of the Book pages of ``nnlearn serve`` for docs/book.md, taken by Debian's Chromium.

Usage::

    python scripts/book_screenshots.py                 # writes docs/images/book/<page>.png
    python scripts/book_screenshots.py --pages ch3 --out /tmp/shots

It starts ``nnlearn serve`` on 127.0.0.1, opens each page, moves one control the way a reader
would (a larger η on chapter 1, a click on a δ on chapter 2, the cross-entropy
and 150 epochs of overfitting on chapter 3, the matching heights and a fit on chapter 4, a dozen epochs on
chapter 5, five on chapter 6) and photographs the whole page.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "book"
CHROMIUM = "/usr/bin/chromium"


def index(page) -> None:
    page.wait_for_selector(".book-toc")


def ch1(page) -> None:
    page.wait_for_function("state.neuron !== null && state.descent !== null")
    page.locator("#eta").fill("0.85")          # near 2/λ_max: the path zigzags across the valley
    page.wait_for_function("Math.abs(state.descent.eta - 0.85) < 1e-9")


def ch2(page) -> None:
    page.wait_for_function("state.bp !== null")
    page.click('.num[data-q="delta2_2"]')      # δ²₂ by BP2: which terms made it


def ch4(page) -> None:
    page.wait_for_function("state.pair !== null && state.bumps !== null")
    page.click("#match")                          # the heights that match f
    page.wait_for_function("state.heights !== null && state.bumps.heights[0] !== 0")
    page.fill("#fitEpochs", "300")
    page.click("#fitRun")
    page.wait_for_function("state.fit !== null && !state.fitting", timeout=120_000)


def train(page, epochs: int, session: str = "state") -> None:
    """Play the page's Book training session (the script's ``session`` object) until
    ``epochs`` epochs, then pause."""
    page.wait_for_function(f"{session}.snap !== null")
    page.click("#play")
    page.wait_for_function(f"{session}.snap.epoch >= {epochs}", timeout=180_000)
    page.click("#play")
    page.wait_for_function(f"{session}.snap.playing === false")


def ch5(page) -> None:
    train(page, 12)


def ch6(page) -> None:
    train(page, 5)


def ch3(page) -> None:
    page.wait_for_function("state.slowdown !== null && !state.busy && state.softmax !== null")
    page.click('#cost button[data-cost="cross_entropy"]')   # the quadratic run stays, in grey
    page.wait_for_function("state.slowdown.cost === 'cross_entropy' && !state.busy")
    page.click("#slowdown details.code-export summary")
    train(page, 150, "overfit")


PAGES = {"index": index, "ch1": ch1, "ch2": ch2, "ch3": ch3, "ch4": ch4, "ch5": ch5, "ch6": ch6}
"""Page → what to do on it before the screenshot."""


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=list(PAGES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "serve", "--port", "0",
                               "--runs-dir", tempfile.mkdtemp(prefix="nnlearn-book-")],
                              stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().split()[2].rstrip("/")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name in args.pages:
                page.goto(f"{url}/book" + ("" if name == "index" else f"/{name}"))
                PAGES[name](page)
                page.wait_for_timeout(400)
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
                print(f"wrote {args.out / (name + '.png')}")
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
