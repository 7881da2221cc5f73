"""A pytest plugin for the harness's own pytest run: keep only the tests of some requirements.

The harness selects tests by name (``-k``) only; a mutant run names requirement IDs instead:

    python -m conformance ... -- -p mutants.select_requirements --only-requirement ID ...

(``mutants`` must be importable: tests/ on PYTHONPATH.) The other tests are deselected, so
their requirements are reported as not run.
"""

from __future__ import annotations

import pytest

from conformance.marks import requirement_of
from conformance.requirements import BY_ID


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--only-requirement",
        action="append",
        default=[],
        metavar="ID",
        help="run only the tests of this requirement (repeatable)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("only_requirement"))
    if not wanted:
        return
    unknown = sorted(wanted - set(BY_ID))
    if unknown:
        raise pytest.UsageError(f"--only-requirement: unknown requirement IDs {unknown}")
    keep = [item for item in items if requirement_of(item) in wanted]
    dropped = [item for item in items if requirement_of(item) not in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
