"""client-mtls: mutual TLS: the client presents the certificate it is given.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

from conformance.drive import ClientSession
from conformance.verify.clients import client_check, ok_call


@client_check("CL-MTLS-CLIENT-CERT")
def test_mtls_client_cert(session: ClientSession) -> None:
    ok_call(session, "mtls")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
