"""Profile client-tls: one-way TLS with a custom CA; a certificate from another CA or for another
host refused.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import CLIENT, Profile, Requirement, client_requirement

_c = client_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _c("CL-TLS-CUSTOM-CA", "MUST", "client-tls", "served",
       "over one-way TLS, trusting the CA file given (a root CA; the server presents a leaf "
       "issued by an intermediate CA, and the intermediate), the call is made and its reply "
       "decoded.",
       "tls"),
    _c("CL-TLS-REFUSE-OTHER-CA", "MUST", "client-tls", "served",
       "a server certificate from a CA the client was not told to trust is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _c("CL-TLS-REFUSE-WRONG-HOST", "MUST", "client-tls", "served",
       "a server certificate from the trusted CA for another host name is refused: an error "
       "result or a raise, and no request reaches the server.", "tls"),
    _c("CL-TLS-ROOTS-ENV", "MUST", "client-tls", "roots-env",
       "a one-way TLS call that names no CA trusts the root certificates in the file "
       "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names (as gRPC's C core does): the call is made, and a "
       "certificate from another CA is still refused.", "tls-roots-env"),
)  # fmt: skip

PROFILE = Profile(
    "client-tls",
    "one-way TLS with a custom CA; a certificate from another CA or for another host refused",
    CLIENT,
    (),
    ("test_clients_tls",),
    note="a testee that declares the tls feature",
    requirements=REQUIREMENTS,
    order=130,
)

__all__ = ["PROFILE"]
