"""Slow runs that mostly wait, started in the background when the session starts.

A harness run against a server (or a client) that hangs spends most of its time waiting out
one of the harness's deadlines, on an idle CPU. Made by its test, such a run keeps an xdist
worker idle for up to a minute; started with the session, in a background thread, it overlaps
with the other tests and is done (or nearly) by the time its test asks for it.

A test marks its run with ``pytest.mark.ahead.with_args(run)`` (``run``: a callable of no arguments,
which makes its own scratch folders) and takes the run's outcome with ``result(request)``:
the run's return value, or its exception. Each run is the same call its test would make; only
when it starts changes.

``order`` moves the tests of these runs to the end of the session (and the tests marked
``slow`` to its start).

Under xdist every worker sees every test: each run is claimed by one worker (an exclusive file
in the session's shared temporary folder), made there, and its outcome written there (pickled)
for whichever worker runs its test.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

MARK = "ahead"
WAIT_S = 1800.0  # for another worker's run: longer than any run's own bound, queue included
# Runs at once per worker: each starts a harness and its servers, and a busy machine starved
# by many such starts at once failed their timing checks (a ready timeout, --run-timeout).
AT_ONCE = 2
_KEY = pytest.StashKey["Ahead"]()


class Ahead:
    """The session's background runs: claimed, started, and handed to their tests."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder  # None: no other worker to share with
        self._futures: dict[str, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def start(self, items: list[pytest.Item]) -> None:
        runs = {}
        for item in items:
            marker = item.get_closest_marker(MARK)
            if marker is not None and self._claim(item.nodeid):
                runs[item.nodeid] = marker.args[0]
        if runs:
            self._pool = ThreadPoolExecutor(AT_ONCE, thread_name_prefix="ahead")
            self._futures = {k: self._pool.submit(self._run, k, r) for k, r in runs.items()}

    def result(self, nodeid: str) -> Any:
        if nodeid in self._futures:
            return self._futures.pop(nodeid).result()
        assert self._folder is not None, f"{nodeid}: marked {MARK} but never started"
        return self._fetch(self._path(nodeid, "outcome"))

    def close(self) -> None:
        """Waits for the runs not taken (each bounded by its own timeout)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _path(self, nodeid: str, kind: str) -> Path:
        assert self._folder is not None
        return self._folder / f"{kind}-{hashlib.sha256(nodeid.encode()).hexdigest()[:24]}"

    def _claim(self, nodeid: str) -> bool:
        if self._folder is None:
            return True
        try:
            os.close(os.open(self._path(nodeid, "claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _run(self, nodeid: str, run: Callable[[], Any]) -> Any:
        try:
            value = run()
        except BaseException as exc:
            self._store(nodeid, ("error", "".join(traceback.format_exception(exc))))
            raise
        self._store(nodeid, ("ok", value))
        return value

    def _store(self, nodeid: str, outcome: tuple[str, Any]) -> None:
        if self._folder is None:
            return
        path = self._path(nodeid, "outcome")
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(outcome))
        partial.replace(path)  # whole or absent, for the reader

    @staticmethod
    def _fetch(path: Path) -> Any:
        deadline = time.monotonic() + WAIT_S
        while not path.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"no outcome from the worker that claimed this run in {WAIT_S:g} s")
            time.sleep(0.2)
        kind, value = pickle.loads(path.read_bytes())
        if kind == "error":
            pytest.fail(f"the run failed in the worker that made it:\n{value}", pytrace=False)
        return value


def _shared_folder(config: pytest.Config) -> Path | None:
    """Under xdist: a folder in the session's temporary root (the parent of each worker's
    basetemp, which pytest cleans up like any other), shared by the workers."""
    if not hasattr(config, "workerinput"):
        return None
    folder = Path(config.option.basetemp).parent / "ahead"
    folder.mkdir(exist_ok=True)
    return folder


def configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARK}(run): start run() when the session starts")
    config.stash[_KEY] = Ahead(_shared_folder(config))


def order(items: list[pytest.Item]) -> None:
    """The tests marked ``slow`` first and those of background runs last, each group in the
    order it came in (pytest-randomly's shuffle): a long test that came last would leave the
    other worker idle for its length, and a background run's test that came early would wait
    for it; at the end of the session the runs have had the whole session to finish."""
    items.sort(key=lambda item: (item.get_closest_marker(MARK) is not None) - _slow(item))


def _slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def collection_finish(session: pytest.Session) -> None:
    if not session.config.option.collectonly:  # a listing runs nothing
        session.config.stash[_KEY].start(session.items)


def unconfigure(config: pytest.Config) -> None:
    ahead = config.stash.get(_KEY, None)
    if ahead is not None:
        ahead.close()


def result(request: pytest.FixtureRequest) -> Any:
    """The outcome of the run the requesting test is marked with."""
    return request.config.stash[_KEY].result(request.node.nodeid)
