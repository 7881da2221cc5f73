"""client-tls: one-way TLS with a custom CA; a certificate from another CA or host refused.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

from typing import Any

from conformance.drive import ClientSession
from conformance.verify.clients import client_check, echo, expect_error, fail, ok_call


@client_check("CL-TLS-CUSTOM-CA")
def test_tls_custom_ca(session: ClientSession) -> None:
    ok_call(session, "tls")


def _refused(session: ClientSession, kind: str, what: str, **options: Any) -> None:
    server = session.server(kind)
    server.respond(echo)
    exchange = session.call(kind, [{"x": {"int": "1"}}], **options)
    expect_error(exchange, what)
    if exchange.requests:
        fail(exchange, f"{what}: the server received {len(exchange.requests)} request(s)")


@client_check("CL-TLS-REFUSE-OTHER-CA")
def test_tls_refuse_other_ca(session: ClientSession) -> None:
    _refused(session, "tls-other-ca", "a server certificate from a CA the client does not trust")
    ok_call(session, "tls")


@client_check("CL-TLS-REFUSE-WRONG-HOST")
def test_tls_refuse_wrong_host(session: ClientSession) -> None:
    _refused(session, "tls-wrong-host", "a server certificate for another host name")
    ok_call(session, "tls")


@client_check("CL-TLS-ROOTS-ENV")
def test_tls_roots_env(session: ClientSession) -> None:
    # A testee of its own, started with GRPC_DEFAULT_SSL_ROOTS_FILE_PATH naming the run's CA;
    # the calls name no CA. Another CA's certificate must still be refused (no "trust all").
    ok_call(session, "tls", roots_from_env=True)
    _refused(
        session,
        "tls-other-ca",
        "with no CA given, a server certificate from a CA the roots file does not hold",
        roots_from_env=True,
    )


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
