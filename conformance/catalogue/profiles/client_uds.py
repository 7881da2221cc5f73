"""Profile client-uds: the client over a unix domain socket.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _c("CL-UDS-CALL", "MUST", "client-uds", "served",
       "over a `unix:PATH` address the request arrives intact and the reply is decoded.", "uds"),
)  # fmt: skip

PROFILE = Profile(
    "client-uds",
    "the client over a unix domain socket",
    CLIENT,
    (),
    ("test_clients_uds",),
    note="a testee that declares the uds feature",
    requirements=REQUIREMENTS,
    order=120,
)

__all__ = ["PROFILE"]
