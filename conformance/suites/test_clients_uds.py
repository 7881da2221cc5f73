"""client-uds: the same client over a unix: address.

A client certified through its testee (``--client-cmd``): one test per requirement, each
running that requirement's check (conformance.verify.clients) against the testee, whose calls
go to the harness's own recording servers.
"""

from __future__ import annotations

import pytest

from conformance.drive import ClientSession
from conformance.verify.clients import requirement_params, run_check


@pytest.mark.parametrize("requirement_id", requirement_params("client-uds"))
def test_client_uds(conformance_client_session: ClientSession, requirement_id: str) -> None:
    run_check(conformance_client_session, requirement_id)


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
