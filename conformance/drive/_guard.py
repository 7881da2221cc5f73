"""Bounds on a run against a server that stops answering.

A call that ends in DEADLINE_EXCEEDED marks its server as hung: every later call to the same
address fails at once with the same status and a message naming the call that hung, instead of
waiting out its own timeout. So a hung server costs one timeout, not one per call (hypothesis
shrinking alone would make hundreds). The marks are files in the run's scratch folder, so that
xdist workers share them.

The whole run is also bounded: ``RunTimer`` interrupts it (as Ctrl-C does, so the servers are
stopped and the reports written) when ``--run-timeout`` has passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading

_folder: str | None = None  # None: no marks (a probe before the run, or the plugin inactive)


def configure(folder: str | None) -> None:
    """Keep hang marks in ``folder`` (the run's scratch folder), or none."""
    global _folder
    _folder = folder


def _mark_path(address: str) -> str | None:
    if _folder is None:
        return None
    digest = hashlib.sha256(address.encode()).hexdigest()[:16]
    return os.path.join(_folder, f"hung-{digest}")


def hung(address: str) -> str | None:
    """Why calls to ``address`` must not be made any more, or None."""
    path = _mark_path(address)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return None


def mark_hung(address: str, why: str) -> None:
    """Record that the server at ``address`` did not answer (the first mark wins)."""
    path = _mark_path(address)
    if path is None:
        return
    try:
        with open(path, "x", encoding="utf-8") as file:
            file.write(why)
    except FileExistsError:
        pass


def clear(address: str) -> None:
    """Calls to ``address`` may be made again (its server was restarted)."""
    path = _mark_path(address)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


class RunTimer:
    """Interrupts the main thread once ``seconds`` have passed: a real SIGINT, so that a
    blocking wait there ends too, and Python's handler turns it into KeyboardInterrupt (the
    command makes sure SIGINT has that handler)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired.set()
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, signal.SIGINT)

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


__all__ = [
    "RunTimer",
    "clear",
    "configure",
    "hung",
    "mark_hung",
]
