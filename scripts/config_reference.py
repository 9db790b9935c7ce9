"""Write docs/config.md, the reference of every experiment-config key, from the config tables.

Usage: python scripts/config_reference.py [--out docs/config.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nnlearn.experiments.config.schema import markdown_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "config.md"))
    out = Path(parser.parse_args().out)
    out.write_text(markdown_reference() + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
