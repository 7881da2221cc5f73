"""Profile robustness: hostile requests, bodies that are not protobuf, stalled and flooding
clients; the launched process's survival, memory and SIGTERM with calls in flight.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

import conformance.catalogue.robustness as bound
from conformance.catalogue.declare import (
    ALWAYS,
    EndpointSpec,
    Profile,
    Requirement,
    server_requirement,
)

# A server of its own with --server-cmd: the profile measures its memory and floods it, which
# must not disturb the other profiles' servers.
ROBUSTNESS = EndpointSpec("robustness", fixture="conformance_robustness")

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("ROBUSTNESS-HOSTILE-REQUESTS", "MUST", "robustness", "hostile-traffic",
       "every well-formed PredictRequest built to hurt (dtype codes in and out of the enum; dims "
       "negative, or up to 32 of them; data lengths that lie; bytes_val counts of 0 and "
       "thousands; shm_data and output_buffers set; thousands of instances; odd names and "
       f"versions) is answered within {bound.ANSWER_S:g} s with a PredictReply or a gRPC "
       "status, and a well-formed call is answered after it (with --server-cmd, the process "
       "still runs); requests that meet one of upstream's documented defects are checked by "
       "ROBUSTNESS-UPSTREAM-DEFECTS instead."),
    _r("ROBUSTNESS-UPSTREAM-DEFECTS", "SHOULD", "robustness", "hostile-traffic, departures",
       "every hostile request that meets one of upstream's documented defects (zero instances; "
       f"a tensor of more than 32 dims, up to {bound.MANY_DIMS:,}; a dim above 2**31-1, or "
       "2**32 elements or more, an empty tensor's included; a non-UTF-8 MS_STRING) is answered "
       f"within {bound.ANSWER_S:g} s with a PredictReply or a gRPC status, and a well-formed "
       "call is answered after it (with --server-cmd, the process still runs)."),
    _r("ROBUSTNESS-NOT-PROTOBUF", "MUST", "robustness", "hostile-traffic",
       "every body that is not a PredictRequest (random bytes, truncated or mis-typed fields, "
       f"no message at all) is answered within {bound.ANSWER_S:g} s with a gRPC status or a "
       "PredictReply, and a well-formed call is answered after it (with --server-cmd, the "
       "process still runs)."),
    _r("ROBUSTNESS-STALLED-CLIENTS", "MUST", "robustness", "hostile-traffic",
       f"while {bound.STALLED_CLIENTS} calls have sent their headers and no message, well-formed "
       f"calls from another client are answered, each within {bound.LIVENESS_S:g} s (with "
       "--server-cmd, the process still runs)."),
    _r("ROBUSTNESS-FLOOD", "MUST", "robustness", "hostile-traffic",
       f"while {bound.FLOOD_CLIENTS} clients send hostile requests and bodies back to back, "
       f"well-formed calls from another client are answered, each within {bound.LIVENESS_S:g} s "
       "(with --server-cmd, the process still runs)."),
    _r("ROBUSTNESS-MEMORY-BOUNDED", "MUST", "robustness", "hostile-traffic",
       "with --server-cmd: the launched process tree's resident memory (VmRSS from /proc, "
       f"summed) grows by less than {bound.MEMORY_GROWTH_MIB} MiB across "
       f"{bound.MEMORY_CALLS:,} hostile requests and bodies (after {bound.MEMORY_WARMUP_CALLS} "
       "to warm up), and it answers a well-formed echo right before the first reading and right "
       "after the last (a figure counts only for a server that serves)."),
    _r("ROBUSTNESS-SIGTERM-IN-FLIGHT", "SHOULD", "robustness", "hostile-traffic",
       "with --server-cmd and {grace}: a server that gets SIGTERM with "
       f"{bound.SIGTERM_CALLS} calls in flight, {bound.SIGTERM_CALL_MIB} MiB echoes on open "
       f"connections (half sent their headers {bound.SIGTERM_HEADERS_S:g} s before the signal "
       f"and their messages with it; the other half's whole calls started "
       f"{bound.SIGTERM_AFTER_S:g} s before it), answers every one of them OK and exits with "
       f"status 0 within the grace + {bound.SIGTERM_SLACK_S:g} s."),
)  # fmt: skip

PROFILE = Profile(
    "robustness",
    "hostile requests, bodies that are not protobuf, stalled and flooding clients; the "
    "launched process's survival, memory and SIGTERM with calls in flight",
    {"server-cmd": ALWAYS, "target": ALWAYS},
    (ROBUSTNESS,),
    ("test_robustness",),
    note="its own server with --server-cmd; memory and SIGTERM only there, SIGTERM only "
    "with {grace}",
    requirements=REQUIREMENTS,
    mutants=("robustness",),
    order=200,
    quick=False,
)

__all__ = ["PROFILE", "ROBUSTNESS"]
