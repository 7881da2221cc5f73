"""Profile uds: the same calls over a unix domain socket.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import (
    ALWAYS,
    EndpointSpec,
    Needs,
    Profile,
    Requirement,
    Transport,
    server_requirement,
)

UDS = EndpointSpec("uds", transport=Transport.UNIX, fixture="conformance_uds")

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("UDS-ECHO-ROUNDTRIP", "MUST", "uds", "transport",
       "over unix:PATH, echo returns numeric, string and bytes tensors bit-exactly."),
    _r("UDS-ERRORS", "MUST", "uds", "transport",
       "over unix:PATH, request-level errors (code 2) and per-instance errors (a text containing "
       "`fail`'s error) come back as over TCP."),
    _r("UDS-STALE-SOCKET", "MUST", "uds", "transport",
       "a server started on unix:PATH where a socket file of a server that is gone remains "
       "replaces it and serves there (checked with --server-cmd only)."),
    _r("UDS-CONCURRENT-NO-MIXUP", "MUST", "uds", "transport",
       "over unix:PATH, concurrent requests are each answered with their own data."),
)  # fmt: skip

PROFILE = Profile(
    "uds",
    "the same calls over a unix domain socket",
    {
        "server-cmd": ALWAYS,
        "target": Needs(unix_address=True, missing="the target is not a unix:PATH address"),
    },
    (UDS,),
    ("test_uds",),
    requirements=REQUIREMENTS,
    mutants=("transport",),
    order=20,
)

__all__ = ["PROFILE", "UDS"]
