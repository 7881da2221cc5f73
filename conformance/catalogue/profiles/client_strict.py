"""Profile client-strict: SHOULD-level: upstream's Python value mappings and error texts.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _c("CL-STRICT-PLAIN-MAPPING", "SHOULD", "client-strict", "upstream-mapping",
       "plain values are sent as upstream's Python client sends them, all with dims [1]: int as "
       "MS_INT64 (MS_UINT64 from 2^63 to 2^64-1), float as MS_FLOAT64, bool as MS_BOOL, text as "
       "MS_STRING, bytes as MS_BYTES."),
    _c("CL-STRICT-SCALAR-DIMS", "SHOULD", "client-strict", "upstream-mapping",
       "a typed scalar is sent with dims [] (upstream: a numpy scalar)."),
    _c("CL-STRICT-RPC-ERROR-TEXT", "SHOULD", "client-strict", "upstream-mapping",
       "a synchronous call that fails in gRPC returns (not raises) the error result "
       "`Grpc Error, (14, 'unavailable'), ...` for a dead server, as upstream's client does."),
)  # fmt: skip

PROFILE = Profile(
    "client-strict",
    "SHOULD-level: upstream's Python value mappings and error texts",
    CLIENT,
    (),
    ("test_clients_strict",),
    requirements=REQUIREMENTS,
    order=160,
)

__all__ = ["PROFILE"]
