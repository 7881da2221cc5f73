"""Upstream's own client certified through examples/testee_mindspore_serving.py, with its
shipped expectations (upstream/expected-failures-client.txt).

It needs a Python 3.9 with ``mindspore-serving`` installed, named by ``MS_SERVING_PYTHON``; the
test is skipped without one (CI's upstream environment runs the same command directly).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from conformance.api import certify
from conformance.catalogue import CLIENT_PROFILE_NAMES

ROOT = Path(__file__).resolve().parent.parent
TESTEE = ROOT / "examples" / "testee_mindspore_serving.py"
EXPECTED = ROOT / "upstream" / "expected-failures-client.txt"
PYTHON = os.environ.get("MS_SERVING_PYTHON")

pytestmark = pytest.mark.skipif(
    not PYTHON, reason="MS_SERVING_PYTHON names no Python with mindspore-serving"
)


def test_upstream_client_fails_exactly_its_shipped_expectations() -> None:
    done = certify(
        client_cmd=f"{shlex.quote(str(PYTHON))} {shlex.quote(str(TESTEE))}",
        args=["--expect-failures", str(EXPECTED)],
        timeout_s=300,
    )
    assert done.exit_status == 0, done.output[-3000:]
    assert done.report is not None
    report = done.report.to_json()  # as the JSON report has it
    assert report["result"] == "conformant-with-expected-failures"
    assert sorted(report["expected_failures"]) == [
        "CL-CORE-REQUEST-SCALARS",
        "CL-STRICT-SCALAR-DIMS",
    ]
    assert set(report["profiles"]) == set(CLIENT_PROFILE_NAMES)
    # No deadline in upstream's client: that one requirement is not applicable, not passed.
    outcomes = {r["id"]: r["outcome"] for r in report["requirements"]}
    assert outcomes["CL-CORE-DEADLINE"] == "not-applicable"
    assert outcomes["CL-TLS-ROOTS-ENV"] == "passed"
    testee = report["testee"]
    assert testee["client"].startswith("mindspore_serving.client ")
    assert testee["environment"]["python"].startswith("3.9.")
