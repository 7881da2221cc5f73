"""tls: one-way TLS. Every refusal is followed by a check that the server still serves."""

from __future__ import annotations

from conformance.catalogue import TLS, TLS_EXPIRED, TLS_WRONG_HOST, TLS_WRONG_HOST_OK, EndpointSpec
from conformance.drive import Endpoint, RunContext, TLSFiles
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.tls import assert_refused, assert_served, assert_still_handshakes


def _endpoint(context: RunContext, spec: EndpointSpec) -> Endpoint:
    endpoint = context.endpoint(spec)
    if endpoint is None:
        not_applicable(f"this run has no {spec.name} server")
    return endpoint


@requirement("TLS-ACCEPT-TRUSTED-CA")
def test_accept_trusted_ca(conformance_context: RunContext) -> None:
    # Trusting the root alone: a server that leaves out its intermediate is refused here.
    assert_served(_endpoint(conformance_context, TLS), "a client trusting only the root CA")


@requirement("TLS-REFUSE-UNTRUSTED-CA")
def test_refuse_untrusted_ca(
    conformance_context: RunContext, conformance_tls_files: TLSFiles
) -> None:
    tls = _endpoint(conformance_context, TLS)
    assert_refused(
        tls.but(root_ca=conformance_tls_files.untrusted_ca), "a client trusting another CA"
    )
    assert_served(tls, "after refusing an untrusted CA")


@requirement("TLS-REFUSE-WRONG-HOST")
def test_refuse_wrong_host(conformance_context: RunContext) -> None:
    assert_refused(_endpoint(conformance_context, TLS_WRONG_HOST), "a certificate for another host")
    assert_served(_endpoint(conformance_context, TLS_WRONG_HOST_OK), "after refusing a wrong host")


@requirement("TLS-REFUSE-EXPIRED-SERVER-CERT")
def test_refuse_expired_server_cert(conformance_context: RunContext) -> None:
    expired = conformance_context.endpoint(TLS_EXPIRED)
    if expired is None:
        not_applicable(
            "the harness can give a server an expired certificate only with --server-cmd"
        )
    assert_refused(expired, "an expired server certificate")
    assert_still_handshakes(expired, "after refusing its expired certificate")


@requirement("TLS-REFUSE-PLAINTEXT-CLIENT")
def test_refuse_plaintext_client(conformance_context: RunContext) -> None:
    tls = _endpoint(conformance_context, TLS)
    assert_refused(tls.plaintext(), "a plaintext client")
    assert_served(tls, "after refusing a plaintext client")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
