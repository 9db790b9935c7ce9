"""Write docs/config.md, the reference of every experiment-config key, and docs/config.schema.json,
the same as a JSON Schema for editors, from the config tables.

Usage: python scripts/config_reference.py [--out docs/config.md]   (the schema goes beside it)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nnlearn.experiments.config.schema import json_schema, markdown_reference


def schema_text() -> str:
    """docs/config.schema.json's exact text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "config.md"))
    out = Path(parser.parse_args().out)
    out.write_text(markdown_reference() + "\n", encoding="utf-8")
    schema = out.with_name("config.schema.json")
    schema.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {out} and {schema}")


if __name__ == "__main__":
    main()
