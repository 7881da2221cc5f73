"""Profile limits: max_msg_mb_size is enforced on requests and replies.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import (
    EndpointSpec,
    Needs,
    Profile,
    Requirement,
    server_requirement,
)

LIMITS = EndpointSpec("limits", limited=True, fixture="conformance_limits")

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("LIMITS-UNDER-LIMIT-OK", "MUST", "limits", "transport",
       "a request just under max_msg_mb_size MiB is served."),
    _r("LIMITS-REQUEST-OVER-LIMIT", "MUST", "limits", "transport",
       "a request over max_msg_mb_size MiB gets gRPC RESOURCE_EXHAUSTED and the server still "
       "serves."),
    _r("LIMITS-REPLY-OVER-LIMIT", "MUST", "limits", "transport",
       "a reply over max_msg_mb_size MiB is not sent: the client gets RESOURCE_EXHAUSTED and the "
       "server still serves."),
)  # fmt: skip

PROFILE = Profile(
    "limits",
    "max_msg_mb_size is enforced on requests and replies",
    {
        "server-cmd": Needs(placeholders=("max_msg_mb_size",)),
        "target": Needs(
            options=("max-msg-mb-size",),
            missing="no --max-msg-mb-size: the target's limit is unknown",
        ),
    },
    (LIMITS,),
    ("test_limits",),
    requirements=REQUIREMENTS,
    mutants=("transport",),
    order=50,
)

__all__ = ["LIMITS", "PROFILE"]
