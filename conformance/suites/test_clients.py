"""client-* profiles: a client certified through its testee (``--client-cmd``).

One test per client requirement; each runs that requirement's check (conformance.verify.clients)
against the testee, whose calls go to the harness's own recording servers. A requirement whose
feature the testee's hello does not declare is "not applicable". A session-scoped testee and
servers serve every test (hypothesis forbids function-scoped fixtures under ``@given``); a
testee that died is replaced before the next call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.catalogue import BY_ID
from conformance.drive import ClientSession, RunContext
from conformance.verify.clients import CHECKS, CLIENT_BY_ID
from conformance.verify.hypo import THOROUGH_FACTOR
from conformance.verify.marks import not_applicable, requirement


@pytest.fixture(scope="session")
def conformance_client_session(conformance_context: RunContext) -> Iterator[ClientSession]:
    """The testee of ``--client-cmd`` and the recording servers its calls go to."""
    if conformance_context.mode != "client-cmd" or conformance_context.tls_files is None:
        not_applicable("client profiles run with --client-cmd")
    session = ClientSession(
        conformance_context.subject,
        conformance_context.tls_files,
        conformance_context.scratch,
        seed=conformance_context.seed,
        examples=THOROUGH_FACTOR if conformance_context.thorough else 1,
    )
    try:
        yield session
    finally:
        session.close()


@pytest.mark.parametrize(
    "requirement_id",
    [pytest.param(i, marks=requirement(i), id=i) for i in CLIENT_BY_ID],
)
def test_client_requirement(conformance_client_session: ClientSession, requirement_id: str) -> None:
    feature = BY_ID[requirement_id].feature
    if feature is not None and feature not in conformance_client_session.pool.hello.features:
        not_applicable(f"the testee's hello does not declare the feature {feature}")
    CHECKS[requirement_id](conformance_client_session)
