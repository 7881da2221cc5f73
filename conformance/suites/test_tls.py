"""tls: one-way TLS. Every refusal is followed by a check that the server still serves."""

from __future__ import annotations

from conformance.endpoints import Endpoint
from conformance.marks import not_applicable, requirement
from conformance.run import RunContext
from conformance.tlscheck import echo_ok, refused, still_handshakes
from conformance.tlsmaterial import TLSMaterial


def _endpoint(context: RunContext, name: str) -> Endpoint:
    endpoint = context.endpoint(name)
    if endpoint is None:
        not_applicable(f"this run has no {name} server")
    return endpoint


@requirement("TLS-ACCEPT-TRUSTED-CA")
def test_accept_trusted_ca(conformance_context: RunContext) -> None:
    echo_ok(_endpoint(conformance_context, "tls"), "a client trusting the server's CA")


@requirement("TLS-REFUSE-UNTRUSTED-CA")
def test_refuse_untrusted_ca(
    conformance_context: RunContext, conformance_material: TLSMaterial
) -> None:
    tls = _endpoint(conformance_context, "tls")
    refused(tls.but(root_ca=conformance_material.untrusted_ca), "a client trusting another CA")
    echo_ok(tls, "after refusing an untrusted CA")


@requirement("TLS-REFUSE-WRONG-HOST")
def test_refuse_wrong_host(conformance_context: RunContext) -> None:
    refused(_endpoint(conformance_context, "tls-wrong-host"), "a certificate for another host")
    echo_ok(_endpoint(conformance_context, "tls-wrong-host-ok"), "after refusing a wrong host")


@requirement("TLS-REFUSE-EXPIRED-SERVER-CERT")
def test_refuse_expired_server_cert(conformance_context: RunContext) -> None:
    expired = conformance_context.endpoint("tls-expired")
    if expired is None:
        not_applicable(
            "the harness can give a server an expired certificate only with --server-cmd"
        )
    refused(expired, "an expired server certificate")
    still_handshakes(expired, "after refusing its expired certificate")


@requirement("TLS-REFUSE-PLAINTEXT-CLIENT")
def test_refuse_plaintext_client(conformance_context: RunContext) -> None:
    tls = _endpoint(conformance_context, "tls")
    refused(tls.plaintext(), "a plaintext client")
    echo_ok(tls, "after refusing a plaintext client")
