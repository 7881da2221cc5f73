"""Regenerate the docs made from the code, after a profile or an option changed:

* docs/requirements.md: the requirement catalogue (conformance.catalogue.render_markdown);
* docs/cli.md's help block: ``COLUMNS=100 conformance --help``.

    python scripts/regenerate_docs.py

tests/test_conformance_catalogue.py checks that both are current.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELP_BLOCK = re.compile(r"(<!-- help:begin -->\n```text\n)(.*?)(```\n<!-- help:end -->)", re.DOTALL)


def main() -> int:
    # A subprocess each, run from the root: the catalogue and the help of this tree, not of an
    # installed copy.
    env = dict(os.environ, COLUMNS="100", PYTHONPATH=str(ROOT))
    requirements = ROOT / "docs" / "requirements.md"
    subprocess.run(
        [sys.executable, "-m", "conformance", "--write-requirements", str(requirements)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    help_text = subprocess.run(
        [sys.executable, "-m", "conformance", "--help"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    cli = ROOT / "docs" / "cli.md"
    text = cli.read_text(encoding="utf-8")
    if not HELP_BLOCK.search(text):
        sys.exit(f"{cli}: no help markers")
    new = HELP_BLOCK.sub(lambda m: m.group(1) + help_text + m.group(3), text, count=1)
    cli.write_text(new, encoding="utf-8")
    print(f"wrote {requirements.relative_to(ROOT)} and {cli.relative_to(ROOT)}'s help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
