"""One server's death or hang is blamed on the check that caused it, and on no other.

With ``--server-cmd`` the harness health-checks the servers a check used after it, and starts
again one that no longer serves (conformance.drive's supervisor). These runs certify the whole
strict profile of a server that dies, or hangs, on one request (zero instances): exactly
STRICT-ZERO-INSTANCES must fail, the report must name the incident once, with the request,
and every later strict check must pass on the restarted server. Without the supervisor every
check after the zero-instance one failed too ("hung on an earlier request", or a dead server).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from mutants.catalogue import everything
from test_mutants import certify, certify_ahead, run_of

# The hanging server's run mostly waits out the health echo's deadline: in the background.
_HANG = "strict-zero-instances-hang"
_HANG_RUN = functools.partial(certify_ahead, everything()[_HANG], ("strict",), ())


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("strict-zero-instances-crash", "its process exited"),
        pytest.param(_HANG, "got no answer", marks=pytest.mark.ahead.with_args(_HANG_RUN)),
    ],
)
def test_the_check_that_broke_the_server_alone_fails(
    name: str, what: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = run_of(request, lambda: certify(everything()[name], ("strict",), (), tmp_path))
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
