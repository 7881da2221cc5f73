"""Profile client-limits: messages above gRPC's 4 MiB default both ways; a server's
RESOURCE_EXHAUSTED.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _c("CL-LIMITS-LARGE-REQUEST", "MUST", "client-limits", "served",
       "a request of about 6 MiB (over gRPC's 4 MiB default) is sent intact."),
    _c("CL-LIMITS-LARGE-REPLY", "MUST", "client-limits", "served",
       "a reply of about 6 MiB (over gRPC's 4 MiB default receive limit) is decoded intact."),
    _c("CL-LIMITS-RESOURCE-EXHAUSTED", "MUST", "client-limits", "served",
       "a request over the server's message limit (RESOURCE_EXHAUSTED) becomes an error result "
       "or a raise, and the testee keeps serving calls."),
)  # fmt: skip

PROFILE = Profile(
    "client-limits",
    "messages above gRPC's 4 MiB default both ways; a server's RESOURCE_EXHAUSTED",
    CLIENT,
    (),
    ("test_clients_limits",),
    requirements=REQUIREMENTS,
    order=150,
)

__all__ = ["PROFILE"]
