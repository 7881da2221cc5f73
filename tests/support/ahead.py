"""Slow runs that mostly wait, started together ahead of their tests.

A harness run against a server (or a client) that hangs spends most of its time waiting out
one of the harness's deadlines, on an idle CPU. Run one after the other, such runs keep an
xdist worker waiting for minutes; started together, they cost about the longest of them. A
module marks the tests of such runs with ``pytest.mark.xdist_group(NAME)`` (so that, under
``--dist loadgroup``, one worker runs them all) and has them take their results from an
``Ahead``: the first one taken starts every selected run of the group at once, in threads.

Each run is the same call its test would make; only when it starts changes. Where the group
may be split across workers (xdist without loadgroup), each test makes its own run instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import pytest

T = TypeVar("T")


def selected_ids(session: pytest.Session, function: Any) -> list[str]:
    """The parameter ids of the selected (collected, not deselected) tests of ``function``."""
    return [
        item.callspec.id
        for item in session.items
        if isinstance(item, pytest.Function) and item.function is function
    ]


def grouped(config: pytest.Config) -> bool:
    """Whether this process runs every test of an xdist group: no xdist, or --dist loadgroup."""
    return not hasattr(config, "workerinput") or config.getoption("dist", "no") == "loadgroup"


class Ahead(Generic[T]):
    """``take(key, run)``: the result of the run of ``key``. With ``together``, the first take
    of any key in ``runs`` starts all of ``runs`` at once, and each take waits for its own;
    otherwise (or for another key) ``run()`` runs there and then."""

    def __init__(self, runs: Mapping[str, Callable[[], T]], *, together: bool) -> None:
        self._runs = dict(runs) if together else {}
        self._futures: dict[str, Future[T]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def take(self, key: str, run: Callable[[], T]) -> T:
        if key not in self._runs:
            return run()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(len(self._runs), thread_name_prefix="ahead")
            self._futures = {k: self._pool.submit(r) for k, r in self._runs.items()}
        return self._futures.pop(key).result()

    def close(self) -> None:
        """Waits for the runs started and not taken (each bounded by its own timeout)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
