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
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

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

_lock = threading.Lock()
_wanted = False
_settled = False  # applied, or found not to apply


def want_tuning() -> None:
    """Tune malloc at the first large payload (the reference server's command line)."""
    global _wanted
    _wanted = True


def large_payload() -> None:
    """A large request arrived: tune malloc now if wanted and not done yet (cheap after)."""
    global _settled
    if _settled or not _wanted:
        return
    with _lock:
        if not _settled:
            applied = tune_malloc()
            log.debug("malloc tuned for large payloads: %s", applied)
            _settled = True


def tune_malloc(environ: Mapping[str, str] = os.environ) -> bool:
    """Apply SETTINGS with mallopt where the C library is glibc; True if applied.

    Does nothing (False) on other C libraries, or where the environment sets malloc itself.
    """
    import ctypes  # here: a server that never tunes never loads them
    import ctypes.util
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    if any(name in environ for name in _ENVIRONMENT) or "malloc" in environ.get(
        "GLIBC_TUNABLES", ""
    ):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    for name, parameter, value in SETTINGS:
        if mallopt(parameter, value) != 1:  # mallopt returns 1 on success
            log.info("mallopt(%s, %d) refused", name, value)
            return False
    return True
