"""What a client run's reports promise (docs/client-conformance.md#failures): every failure,
whatever its source, carries the call as a line that replays it to the testee, the testee's
stderr, and a rerun command that works as printed; the reports record the testee's hello and
the client's own environment, not the harness's."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from conformance.api import certify
from conformance.reporting import FailureDetail, Report, schema

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "client_mutants" / "testee.py"
PY = shlex.quote(sys.executable)


def mutant(name: str) -> str:
    return f"{PY} {shlex.quote(str(MUTANTS))} {name}"


def shell(line: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``line`` run as a person would paste it, with this environment's ``conformance``."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["/bin/sh", "-c", line], capture_output=True, text=True, timeout=timeout, env=env
    )


def only_failure(report: Report | None, requirement: str) -> FailureDetail:
    assert report is not None
    (found,) = [r for r in report.requirements if r.id == requirement]
    assert found.outcome == "failed", found
    (failure,) = found.failures
    return failure


@pytest.mark.parametrize(
    ("name", "requirement", "source", "in_stderr"),
    [
        # The harness's own request count: the client refused the value, nothing was sent.
        ("bool-scalar-refused", "CL-STRICT-SCALAR-DIMS", "received 0 requests", "refusing"),
        # The testee itself: it dies on RESOURCE_EXHAUSTED.
        ("crash-on-exhausted", "CL-LIMITS-RESOURCE-EXHAUSTED", "exit status 3", None),
    ],
)
def test_every_failure_carries_its_call_stderr_and_a_working_rerun(
    name: str, requirement: str, source: str, in_stderr: str | None
) -> None:
    command = mutant(name)
    done = certify(client_cmd=command, args=["--requirement", requirement], timeout_s=300)
    assert done.exit_status == 1, done.output[-3000:]
    assert done.report is not None
    jsonschema.validate(done.report.to_json(), schema())
    failure = only_failure(done.report, requirement)
    assert source in failure.message
    # The call, replayable: the testee's own command fed the call line.
    call = failure.call
    assert call is not None and call.startswith('printf \'%s\\n\' \'{"id":1,"call":{')
    assert call.endswith(f"| {command}")
    assert failure.testee_stderr is not None
    if in_stderr is not None:
        assert in_stderr in failure.testee_stderr
    # Printed with the failure too.
    assert "the call (replays it to the testee):" in done.output and call in done.output
    assert "the testee's stderr (tail):" in done.output
    # The rerun names the client and, run as printed, fails that requirement again.
    rerun = failure.rerun
    assert shlex.split(rerun)[:3] == ["conformance", "--client-cmd", command]
    again = shell(rerun, timeout=300)
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-2000:]
    assert f"FAILED: {requirement}" in again.stdout


def test_a_refused_call_replays_as_printed() -> None:
    # A value the client refuses before sending replays exactly, even with the server gone.
    done = certify(
        client_cmd=mutant("bool-scalar-refused"),
        args=["--requirement", "CL-STRICT-SCALAR-DIMS"],
        timeout_s=300,
    )
    call = only_failure(done.report, "CL-STRICT-SCALAR-DIMS").call
    assert call is not None
    replayed = shell(call)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    hello, answer = (json.loads(line) for line in replayed.stdout.splitlines())
    assert "hello" in hello
    assert answer["id"] == 1 and "Not support value type" in answer["raised"]["message"]


def test_the_reports_record_the_testee_hello_and_the_clients_environment(
    tmp_path: Path,
) -> None:
    # The reference client's testee, saying hello with an environment no harness has.
    environment = {"python": "3.9.99-testee", "grpcio": "0.0.1-testee"}
    wrapper = tmp_path / "testee.py"
    wrapper.write_text(
        textwrap.dedent(
            f"""
            import sys
            from reference_client import testee
            base = testee.hello
            def hello():
                said = base()
                said["hello"]["environment"] = {environment!r}
                return said
            testee.hello = hello
            sys.exit(testee.main())
            """
        )
    )
    certificate = tmp_path / "certificate.md"
    done = certify(
        client_cmd=f"{PY} {shlex.quote(str(wrapper))}",
        args=["--requirement", "CL-CORE-HELLO", "--certificate", str(certificate)],
        timeout_s=300,
    )
    assert done.exit_status == 0, done.output[-3000:]
    assert done.report is not None and done.report.schema_version == 2
    jsonschema.validate(done.report.to_json(), schema())
    testee = done.report.testee
    assert testee is not None
    assert testee["client"] == "reference_client 0.1.0"
    assert testee["environment"] == environment
    assert "tls-roots-env" in testee["features"] and "deadline" in testee["features"]
    text = certificate.read_text()
    assert "**Testee:** reference_client 0.1.0 (features: async, deadline," in text
    assert "**Client environment:** python 3.9.99-testee, grpcio 0.0.1-testee" in text
    # The harness's own environment is listed apart, under its own name.
    harness = done.report.environment
    assert f"**Harness environment:** grpcio {harness.grpc}, Python {harness.python}" in text
