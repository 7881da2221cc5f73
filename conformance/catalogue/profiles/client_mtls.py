"""Profile client-mtls: mutual TLS: the client presents the certificate it is given.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _c("CL-MTLS-CLIENT-CERT", "MUST", "client-mtls", "served",
       "with a client certificate and key given, the client presents them to a server that "
       "requires one (and presents a leaf and an intermediate CA under the root given), and "
       "the call is made.", "mtls"),
)  # fmt: skip

PROFILE = Profile(
    "client-mtls",
    "mutual TLS: the client presents the certificate it is given",
    CLIENT,
    (),
    ("test_clients_mtls",),
    note="a testee that declares the mtls feature",
    requirements=REQUIREMENTS,
    order=140,
)

__all__ = ["PROFILE"]
