"""The `conformance` command line (placeholder until the harness lands)."""

from __future__ import annotations


def main() -> int:
    print("conformance: not implemented yet")
    return 2
