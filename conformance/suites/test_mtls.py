"""mtls: mutual TLS. Only a client certificate from the trusted CA is served."""

from __future__ import annotations

from conformance.catalogue import MTLS
from conformance.drive import Endpoint, RunContext, TLSFiles
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.tls import assert_refused, assert_served


def _mtls(context: RunContext) -> Endpoint:
    endpoint = context.endpoint(MTLS)
    if endpoint is None:
        not_applicable("this run has no mutual-TLS server")
    return endpoint


@requirement("MTLS-ACCEPT-TRUSTED-CLIENT")
def test_accept_trusted_client(conformance_context: RunContext) -> None:
    # The client trusts only the root: the server must present its intermediate too.
    assert_served(
        _mtls(conformance_context),
        "a client certificate from the trusted CA, a client trusting only the root CA",
    )


@requirement("MTLS-REFUSE-NO-CLIENT-CERT")
def test_refuse_no_client_cert(conformance_context: RunContext) -> None:
    mtls = _mtls(conformance_context)
    assert_refused(mtls.but(client_cert=None, client_key=None), "a client without a certificate")
    assert_served(mtls, "after refusing a client without a certificate")


@requirement("MTLS-REFUSE-FOREIGN-CLIENT-CERT")
def test_refuse_foreign_client_cert(
    conformance_context: RunContext, conformance_tls_files: TLSFiles
) -> None:
    mtls = _mtls(conformance_context)
    foreign = mtls.but(
        client_cert=conformance_tls_files.foreign_client_cert,
        client_key=conformance_tls_files.foreign_client_key,
    )
    assert_refused(foreign, "a client certificate from another CA")
    assert_served(mtls, "after refusing a foreign client certificate")


@requirement("MTLS-REFUSE-EXPIRED-CLIENT-CERT")
def test_refuse_expired_client_cert(
    conformance_context: RunContext, conformance_tls_files: TLSFiles
) -> None:
    mtls = _mtls(conformance_context)
    if conformance_context.mode != "server-cmd":
        not_applicable("an expired certificate from the target's CA needs that CA's key")
    expired = mtls.but(
        client_cert=conformance_tls_files.expired_client_cert,
        client_key=conformance_tls_files.expired_client_key,
    )
    assert_refused(expired, "an expired client certificate")
    assert_served(mtls, "after refusing an expired client certificate")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
