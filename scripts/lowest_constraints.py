#!/usr/bin/env python3
"""Write constraints-lowest.txt: every dependency the tests install, pinned to its declared floor.

`tox -e lowest` installs the package's [test] extra under these constraints (PIP_CONSTRAINT), so
each floor in pyproject.toml is what it claims: the lowest version the tests pass with. Every
requirement of the base install and of the server, harness and test extras must have a floor
(``>=``); the gpu and dev extras are not part of the test install. tests/test_packaging.py checks
that the committed file is current.

    python scripts/lowest_constraints.py            # rewrite constraints-lowest.txt
    python scripts/lowest_constraints.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import tomllib
from collections.abc import Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "constraints-lowest.txt"
TESTED_EXTRAS = ("server", "harness", "test")
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")
_FLOOR = re.compile(r">=\s*([0-9][^,;\s]*)")


def floors(pyproject: dict) -> dict[str, str]:
    """Normalised distribution name -> its floor, over the base install and TESTED_EXTRAS."""
    project = pyproject["project"]
    own = _normalise(project["name"])
    requirements = list(project["dependencies"])
    for extra in TESTED_EXTRAS:
        requirements += project["optional-dependencies"][extra]
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement.strip())
        if match is None:
            raise ValueError(f"cannot read requirement {requirement!r}")
        name, _extras, spec = match.groups()
        if _normalise(name) == own:  # [test] names the other extras of this project
            continue
        floor = _FLOOR.search(spec)
        if floor is None:
            raise ValueError(f"{requirement!r} has no floor (>=): declare the lowest it works with")
        if pins.setdefault(_normalise(name), floor.group(1)) != floor.group(1):
            raise ValueError(f"{name} is declared with two different floors")
    return pins


def render(pins: dict[str, str]) -> str:
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    header = "# Generated from pyproject.toml's floors by scripts/lowest_constraints.py.\n"
    return header + "\n".join(lines) + "\n"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    with open(ROOT / "pyproject.toml", "rb") as file:
        text = render(floors(tomllib.load(file)))
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.name} is stale: run scripts/lowest_constraints.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.name} ({len(text.splitlines()) - 1} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
