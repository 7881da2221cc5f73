"""The robustness profile's bounds: the numbers its requirements state and its suite holds a
server to (one home for both). Pure data."""

from __future__ import annotations

ANSWER_S = 10.0  # a hostile request or body is answered (reply or gRPC status) within this
LIVENESS_S = 5.0  # a well-formed call is answered within this while others stall or flood
STALLED_CLIENTS = 32  # calls that send headers and no message, held open at once
FLOOD_CLIENTS = 4  # clients sending hostile traffic back to back
FLOOD_S = 3.0  # how long they flood
MANY_DIMS = 100_000  # the most dims a hostile tensor has (about 500 KB of varints)
MEMORY_WARMUP_CALLS = 200  # hostile calls before the first RSS reading (threads, arenas)
MEMORY_CALLS = 2_000  # hostile calls between the two readings
MEMORY_GROWTH_MIB = 8  # the most the launched process tree's RSS may grow across them
SIGTERM_CALLS = 24  # calls in flight at SIGTERM (more than a 16-thread server runs at once)
SIGTERM_CALL_MIB = 4  # each an echo of this many MiB, so that it is still in transit
SIGTERM_HEADERS_S = 0.8  # half the calls send their headers this long before SIGTERM
SIGTERM_AFTER_S = 0.1  # the other half's whole calls go out this long before it
SIGTERM_SLACK_S = 1.0  # the exit may come this long after the grace
SIGTERM_ROUNDS = 3  # rounds tried until one has calls still in flight at the signal


__all__ = [
    "ANSWER_S",
    "FLOOD_CLIENTS",
    "FLOOD_S",
    "LIVENESS_S",
    "MANY_DIMS",
    "MEMORY_CALLS",
    "MEMORY_GROWTH_MIB",
    "MEMORY_WARMUP_CALLS",
    "SIGTERM_AFTER_S",
    "SIGTERM_CALLS",
    "SIGTERM_CALL_MIB",
    "SIGTERM_HEADERS_S",
    "SIGTERM_ROUNDS",
    "SIGTERM_SLACK_S",
    "STALLED_CLIENTS",
]
