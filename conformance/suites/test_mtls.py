"""mtls: mutual TLS. Only a client certificate from the trusted CA is served."""

from __future__ import annotations

from conformance.endpoints import Endpoint
from conformance.marks import not_applicable, requirement
from conformance.run import RunContext
from conformance.tlscheck import echo_ok, refused
from conformance.tlsmaterial import TLSMaterial


def _mtls(context: RunContext) -> Endpoint:
    endpoint = context.endpoint("mtls")
    if endpoint is None:
        not_applicable("this run has no mutual-TLS server")
    return endpoint


@requirement("MTLS-ACCEPT-TRUSTED-CLIENT")
def test_accept_trusted_client(conformance_context: RunContext) -> None:
    echo_ok(_mtls(conformance_context), "a client certificate from the trusted CA")


@requirement("MTLS-REFUSE-NO-CLIENT-CERT")
def test_refuse_no_client_cert(conformance_context: RunContext) -> None:
    mtls = _mtls(conformance_context)
    refused(mtls.but(client_cert=None, client_key=None), "a client without a certificate")
    echo_ok(mtls, "after refusing a client without a certificate")


@requirement("MTLS-REFUSE-FOREIGN-CLIENT-CERT")
def test_refuse_foreign_client_cert(
    conformance_context: RunContext, conformance_material: TLSMaterial
) -> None:
    mtls = _mtls(conformance_context)
    foreign = mtls.but(
        client_cert=conformance_material.foreign_client_cert,
        client_key=conformance_material.foreign_client_key,
    )
    refused(foreign, "a client certificate from another CA")
    echo_ok(mtls, "after refusing a foreign client certificate")


@requirement("MTLS-REFUSE-EXPIRED-CLIENT-CERT")
def test_refuse_expired_client_cert(
    conformance_context: RunContext, conformance_material: TLSMaterial
) -> None:
    mtls = _mtls(conformance_context)
    if conformance_context.mode != "server-cmd":
        not_applicable("an expired certificate from the target's CA needs that CA's key")
    expired = mtls.but(
        client_cert=conformance_material.expired_client_cert,
        client_key=conformance_material.expired_client_key,
    )
    refused(expired, "an expired client certificate")
    echo_ok(mtls, "after refusing an expired client certificate")
