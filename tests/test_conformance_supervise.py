"""One server's death or hang is blamed on the check that caused it, and on no other.

With ``--server-cmd`` the harness health-checks the servers a check used after it, and starts
again one that no longer serves (conformance.drive's supervisor). These runs certify the whole
strict profile of a server that dies, or hangs, on one request (zero instances): exactly
STRICT-ZERO-INSTANCES must fail, the report must name the incident once, with the request,
and every later strict check must pass on the restarted server. Without the supervisor every
check after the zero-instance one failed too ("hung on an earlier request", or a dead server).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants.catalogue import everything
from test_mutants import certify


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("strict-zero-instances-crash", "its process exited"),
        pytest.param("strict-zero-instances-hang", "got no answer", marks=pytest.mark.slow),
    ],
)
def test_the_check_that_broke_the_server_alone_fails(name: str, what: str, tmp_path: Path) -> None:
    entry = everything()[name]
    run = certify(entry, ("strict",), (), tmp_path)
    assert run.status == 1, run.explain()
    assert run.failed() == {"STRICT-ZERO-INSTANCES"}, run.explain()
    incidents = run.report["server_incidents"]
    assert len(incidents) == 1, incidents
    incident = incidents[0]
    assert incident["requirement"] == "STRICT-ZERO-INSTANCES"
    assert incident["server"] == "core"
    assert incident["restarted"] is True
    assert what in incident["what"]
    assert 'method_name: "echo"' in (incident["request"] or "")
    assert "stopped serving during STRICT-ZERO-INSTANCES" in run.output
    counts = run.report["profiles"]["strict"]["counts"]
    assert counts == {"failed": 1, "passed": sum(counts.values()) - 1}, counts
