"""glibc malloc settings for a server that moves large tensors (issue 12).

By default glibc serves every allocation over 128 KiB (a threshold that grows only as such blocks
are freed) with a fresh mmap and gives it back at free: each 16 MiB payload buffer then costs a
page fault per 4 KiB page on first touch, which here is several times the cost of copying the
payload itself. Keeping blocks up to 32 MiB (glibc's largest mmap threshold on 64-bit) in the
heap, and not trimming the heap's top below 64 MiB, lets the buffers of one call be reused by
the next: bench/bench_payload.py measures the gain.

The cost is memory held after a burst: up to the trim threshold per malloc arena stays mapped.
Wanted by the reference server's command line only (an application embedding ReferenceServer
keeps its own allocator settings), and applied at the first large request (the servicer calls
``large_payload()``), so a server that never sees one runs exactly as before; never over
settings the environment already makes (``MALLOC_*_`` variables or ``GLIBC_TUNABLES``).

Giving memory back (issue 21), where the settings were applied: grpcio receives a message as
many small buffers and joins them, so a large request leaves about its own size of freed small
blocks in the heap, which the settings keep. ``malloc_trim`` hands such memory back:

* once large calls stop: ``IDLE_TRIM_S`` after the last large call ended (its reply sent) with
  none started since, so a burst of calls keeps its buffers and a quiet server gives them back.
  Then glibc's own trimming returns (``IDLE_SETTINGS``: a thread arena's free top goes back at
  its next free, which ``malloc_trim`` never releases) and ``malloc_trim`` hands back the free
  pages of every arena; the next large call restores ``SETTINGS`` first;
* at once, when a request of ``TRIM_AT_ONCE`` bytes or more arrives: its buffers are mmapped
  whatever the settings (above the mmap threshold), and without the trim the receive path's
  freed blocks stay resident beside the request, the reply and gRPC's copy of it (4x the payload
  instead of 3x: bench/bench_memory.py). A trim costs the next allocations their page faults,
  which at 16 MiB halved the echo's rate (docs/benchmarks.md): hence the threshold.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MIB = 1024 * 1024
SETTINGS: tuple[tuple[str, int, int], ...] = (
    ("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, 32 * MIB),
    ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, 64 * MIB),
    ("M_TOP_PAD", M_TOP_PAD, 16 * MIB),
)
_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

TRIM_AT_ONCE = 32 * MIB  # glibc's largest mmap threshold, the one SETTINGS sets
IDLE_TRIM_S = 0.5
# Between bursts: glibc's default trim threshold and top pad (128 KiB each).
IDLE_SETTINGS: tuple[tuple[str, int, int], ...] = (
    ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, 128 * 1024),
    ("M_TOP_PAD", M_TOP_PAD, 128 * 1024),
)

_lock = threading.Lock()
_wanted = False
_settled = False  # applied, or found not to apply
_calls: LargeCalls | None = None  # once applied


class LargeCalls:
    """Large calls in progress, and the malloc settings that follow them: ``idle()`` once
    ``idle_s`` seconds passed since the last one ended with none in progress (one thread,
    started at the first call, asleep while nothing is pending), ``burst()`` when one starts
    after that."""

    def __init__(
        self, idle: Callable[[], object], burst: Callable[[], object], idle_s: float = IDLE_TRIM_S
    ) -> None:
        self._idle = idle
        self._burst = burst
        self._idle_s = idle_s
        self._cond = threading.Condition()
        self._active = 0
        self._last = 0.0
        self._pending = False  # a call ended since the last idle()
        self._relaxed = False  # idle() ran, burst() not since
        self._thread: threading.Thread | None = None
        self.idles = 0

    def started(self) -> None:
        with self._cond:
            self._active += 1
            if self._relaxed:
                self._relaxed = False
                self._burst()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="reference-server-malloc-trim", daemon=True
                )
                self._thread.start()

    def ended(self) -> None:
        with self._cond:
            self._active -= 1
            self._last = time.monotonic()
            self._pending = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._pending:
                    self._cond.wait()
                    continue
                wait = self._last + self._idle_s - time.monotonic()
                if self._active or wait > 0:
                    self._cond.wait(wait if wait > 0 else self._idle_s)
                    continue
                # Under the lock: a call starting now waits for the settings of a burst.
                self._pending = False
                self._relaxed = True
                self._idle()
                self.idles += 1


def want_tuning() -> None:
    """Tune malloc at the first large payload (the reference server's command line)."""
    global _wanted
    _wanted = True


def large_payload(size: int = 0) -> Callable[[], None] | None:
    """A large request of ``size`` bytes arrived: tune malloc now if wanted and not done yet
    (cheap after). Where tuned, returns what to call once the call has ended (its reply sent),
    and trims at once from TRIM_AT_ONCE bytes; else None."""
    global _settled, _calls
    if not _settled:
        if not _wanted:
            return None
        with _lock:
            if not _settled:
                applied = tune_malloc()
                log.debug("malloc tuned for large payloads: %s", applied)
                if applied:
                    _calls = LargeCalls(_relax, _tighten)
                _settled = True
    calls = _calls
    if calls is None:
        return None
    calls.started()
    if size >= TRIM_AT_ONCE:
        malloc_trim()
    return calls.ended


def _relax() -> None:
    """Large calls stopped: glibc's own trimming again, and everything free handed back."""
    _mallopt(IDLE_SETTINGS)
    malloc_trim()


def _tighten() -> None:
    _mallopt(SETTINGS)


def _libc() -> Any:
    import ctypes  # here: a server that never tunes never loads them
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    libc.malloc_trim.restype = ctypes.c_int
    return libc


def _mallopt(settings: tuple[tuple[str, int, int], ...]) -> bool:
    mallopt = _libc().mallopt
    for name, parameter, value in settings:
        if mallopt(parameter, value) != 1:  # mallopt returns 1 on success
            log.info("mallopt(%s, %d) refused", name, value)
            return False
    return True


def malloc_trim() -> bool:
    """glibc's ``malloc_trim(0)``: the free pages of every arena back to the system (not the
    top of a thread's arena: that one goes back by the trim threshold, at a free)."""
    return bool(_libc().malloc_trim(0))


def tune_malloc(environ: Mapping[str, str] = os.environ) -> bool:
    """Apply SETTINGS with mallopt where the C library is glibc; True if applied.

    Does nothing (False) on other C libraries, or where the environment sets malloc itself.
    """
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    if any(name in environ for name in _ENVIRONMENT) or "malloc" in environ.get(
        "GLIBC_TUNABLES", ""
    ):
        return False
    try:
        return _mallopt(SETTINGS)
    except (OSError, AttributeError):
        return False


__all__ = [
    "IDLE_SETTINGS",
    "IDLE_TRIM_S",
    "MIB",
    "M_MMAP_THRESHOLD",
    "M_TOP_PAD",
    "M_TRIM_THRESHOLD",
    "SETTINGS",
    "TRIM_AT_ONCE",
    "LargeCalls",
    "large_payload",
    "log",
    "malloc_trim",
    "tune_malloc",
    "want_tuning",
]
