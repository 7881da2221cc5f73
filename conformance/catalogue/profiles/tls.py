"""Profile tls: one-way TLS: the right CA succeeds, every bad handshake is refused, the server
survives.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import (
    EndpointSpec,
    HostCheck,
    Needs,
    Profile,
    Readiness,
    Requirement,
    ServerCertificate,
    TLSMode,
    server_requirement,
)

TLS = EndpointSpec("tls", tls=TLSMode.ONE_WAY)
TLS_EXPIRED = EndpointSpec(
    "tls-expired",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.EXPIRED,
    readiness=Readiness.HANDSHAKE,
)
TLS_WRONG_HOST = EndpointSpec(
    "tls-wrong-host",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.WRONG_HOST,
    host=HostCheck.MISMATCHED,
    readiness=Readiness.NONE,
)
# The same server reached under the name its certificate holds: how "still serves" and
# readiness are checked.
TLS_WRONG_HOST_OK = EndpointSpec(
    "tls-wrong-host-ok",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.WRONG_HOST,
    server=TLS_WRONG_HOST.name,
)
_TLS_CMD = Needs(placeholders=("certificate", "private_key"))

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("TLS-ACCEPT-TRUSTED-CA", "MUST", "tls", "transport",
       "with one-way TLS, a client that has no certificate and trusts only the root CA of the "
       "server's chain is served (with --server-cmd the chain is root, intermediate, leaf: the "
       "certificate file given holds the leaf and the intermediate, and the server presents "
       "both)."),
    _r("TLS-REFUSE-UNTRUSTED-CA", "MUST", "tls", "transport",
       "the server presents the certificate chain it was given, which a correct client checks "
       "against the CA that signed it: a client trusting only another CA refuses the handshake "
       "(UNAVAILABLE; the refusal is the client's), and the server keeps serving after such "
       "refused handshakes."),
    _r("TLS-REFUSE-WRONG-HOST", "MUST", "tls", "transport",
       "the server presents the certificate it was given even when that certificate names another "
       "host: a correct client checking the host name refuses the handshake (UNAVAILABLE; the "
       "refusal is the client's), and the server keeps serving clients that use the name its "
       "certificate holds."),
    _r("TLS-REFUSE-EXPIRED-SERVER-CERT", "MUST", "tls", "transport",
       "the server presents the certificate it was given even when it has expired: a correct "
       "client refuses the handshake (UNAVAILABLE; the refusal is the client's), and the server "
       "keeps completing handshakes afterwards."),
    _r("TLS-REFUSE-PLAINTEXT-CLIENT", "MUST", "tls", "transport",
       "a plaintext client of a TLS server is refused (UNAVAILABLE) and the server still serves."),
)  # fmt: skip

PROFILE = Profile(
    "tls",
    "one-way TLS: the right CA succeeds, every bad handshake is refused, the server survives",
    {
        "server-cmd": _TLS_CMD,
        "target": Needs(
            options=("tls-ca",),
            missing="no --tls-ca: the target is not known to use TLS",
            excluded_by=(
                ("tls-cert", "--tls-cert given: the target is certified in profile mtls"),
            ),
        ),
    },
    (TLS, TLS_EXPIRED, TLS_WRONG_HOST, TLS_WRONG_HOST_OK),
    ("test_tls",),
    requirements=REQUIREMENTS,
    mutants=("transport",),
    order=30,
)

__all__ = ["PROFILE", "TLS", "TLS_EXPIRED", "TLS_WRONG_HOST", "TLS_WRONG_HOST_OK"]
