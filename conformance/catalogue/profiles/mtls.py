"""Profile mtls: mutual TLS: only a client certificate from the trusted CA is accepted.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import (
    EndpointSpec,
    Needs,
    Profile,
    Requirement,
    TLSMode,
    server_requirement,
)

MTLS = EndpointSpec("mtls", tls=TLSMode.MUTUAL)

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("MTLS-ACCEPT-TRUSTED-CLIENT", "MUST", "mtls", "transport",
       "with verify_client, a client certificate issued by custom_ca is served, to a client that "
       "trusts only the root CA of the server's chain (with --server-cmd the server presents "
       "the intermediate its certificate file holds too)."),
    _r("MTLS-REFUSE-NO-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, a client without a certificate is refused (UNAVAILABLE) and the "
       "server still serves."),
    _r("MTLS-REFUSE-FOREIGN-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, a client certificate from another CA is refused (UNAVAILABLE) and the "
       "server still serves."),
    _r("MTLS-REFUSE-EXPIRED-CLIENT-CERT", "MUST", "mtls", "transport",
       "with verify_client, an expired client certificate is refused (UNAVAILABLE) and the server "
       "still serves."),
)  # fmt: skip

PROFILE = Profile(
    "mtls",
    "mutual TLS: only a client certificate from the trusted CA is accepted",
    {
        "server-cmd": Needs(
            placeholders=("certificate", "private_key", "custom_ca", "verify_client")
        ),
        "target": Needs(options=("tls-ca", "tls-cert", "tls-key")),
    },
    (MTLS,),
    ("test_mtls",),
    requirements=REQUIREMENTS,
    mutants=("transport",),
    order=40,
)

__all__ = ["MTLS", "PROFILE"]
