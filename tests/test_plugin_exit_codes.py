"""Exit statuses, expectation files and per-requirement outcomes, against a deliberately broken
server (this module is also that server: ``python tests/test_plugin_exit_codes.py --address A``).

The broken server is a generic gRPC handler, independent of the reference server: it serves
``conformance.echo`` correctly but, on a request-level error, answers version 0 with version 2 in
``reply.servable_spec``, so CORE-SPEC-ECHO fails while CORE-ECHO-STRING (successful echoes only,
each reply compared in full with the kit's model) passes.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import pytest

from conformance.api import certify
from conformance.catalogue import by_profile

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
BROKEN_CMD = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE))} --address {{address}}"
# One failing and one passing requirement, cheaply.
SELECT = ["--profile", "core", "-k", "test_spec_echo or test_string"]
RUN_TIMEOUT_S = 180
ORPHAN_LIFETIME_S = 600  # the harness stops the broken server; this bounds it if it cannot


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def outcomes(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text())
    return {r["id"]: r["outcome"] for r in data["requirements"]}


def test_broken_server_fails_exactly_its_requirement() -> None:
    result = certify(server_cmd=BROKEN_CMD, args=SELECT, timeout_s=RUN_TIMEOUT_S)
    assert result.exit_status == 1, result.output
    assert result.outcomes["CORE-SPEC-ECHO"] == "failed"
    assert result.outcomes["CORE-ECHO-STRING"] == "passed"
    assert result.outcomes["CORE-FAIL-PATTERN"] == "not-run"  # deselected by -k
    assert result.outcomes["TLS-ACCEPT-TRUSTED-CA"] == "not-run"  # profile not requested
    assert result.failed == ["CORE-SPEC-ECHO"] and result.verdicts == {"core": "failed"}
    assert result.report is not None
    assert result.report.exit_status == 1 and not result.report.conformant
    # One compact block: the requirement, what differed, the rerun command and the request as
    # runnable Python with how to start the (gone) server; no traceback, no harness source.
    output = result.output
    assert "CORE-SPEC-ECHO: reply.servable_spec is a verbatim copy" in output
    assert "version_number: 2} differs from the request's" in output
    assert "--requirement CORE-SPEC-ECHO" in output.split("rerun:", 1)[1]
    # The reference client's form where the request fits it, else the raw stub's; which one
    # depends on the example hypothesis shrinks to (6.120 finds an empty method name).
    runnable = ("from reference_client import Client", "MSServiceStub(channel).Predict(request")
    assert any(form in output for form in runnable), output
    assert "start it first" in output and "test_plugin_exit_codes.py --address 127.0.0.1:" in output
    assert "Traceback" not in output and "def test_spec_echo" not in output
    assert "FAILED: CORE-SPEC-ECHO" in output
    assert len(output.splitlines()) < 100, output  # the raw form's request spans ~45 lines
    # Behind -v: the full traceback, the falsifying example's reproduction and the request.
    verbose = certify(server_cmd=BROKEN_CMD, args=[*SELECT, "-vv"], timeout_s=RUN_TIMEOUT_S)
    assert "conformance CORE-SPEC-ECHO: reproduce" in verbose.output
    assert "def test_spec_echo" in verbose.output


def test_expected_failure_passes_the_run(tmp_path: Path) -> None:
    expected = tmp_path / "expected.txt"
    expected.write_text("# known: spec echo\nCORE-SPEC-ECHO   # issue 1\n\n")
    report, certificate = tmp_path / "r.json", tmp_path / "c.md"
    done = run_cli(
        "--server-cmd",
        BROKEN_CMD,
        *SELECT,
        "--expect-failures",
        str(expected),
        "--json-report",
        str(report),
        "--certificate",
        str(certificate),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # nothing failed unexpectedly ...
    assert outcomes(report)["CORE-SPEC-ECHO"] == "expected-failure"
    data = json.loads(report.read_text())
    assert data["expected_failures"] == ["CORE-SPEC-ECHO"] and data["exit_status"] == 0
    # ... but -k left the other core requirements unchecked: incomplete, never "conformant".
    unchecked = len(by_profile("core")) - 2
    assert data["profiles"]["core"]["verdict"] == "incomplete" and not data["conformant"]
    assert data["result"] == "incomplete" and len(data["not_run"]) == unchecked
    text = certificate.read_text()
    assert f"**Result:** INCOMPLETE: {unchecked} requirements not run" in text
    assert "## Known deviations (listed as expected failures)" in text
    assert "- `CORE-SPEC-ECHO` (MUST, core, expected-failure)" in text
    assert f"result: INCOMPLETE: {unchecked} requirements not run" in done.stdout


def test_listed_requirement_that_passes_fails_the_run(tmp_path: Path) -> None:
    expected = tmp_path / "expected.txt"
    expected.write_text("CORE-SPEC-ECHO\nCORE-ECHO-STRING\n")
    report = tmp_path / "r.json"
    done = run_cli(
        "--server-cmd",
        BROKEN_CMD,
        *SELECT,
        "--expect-failures",
        str(expected),
        "--json-report",
        str(report),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["unexpected_passes"] == ["CORE-ECHO-STRING"]
    assert outcomes(report)["CORE-SPEC-ECHO"] == "expected-failure"
    assert "UNEXPECTED PASSES" in done.stdout


def test_plugin_mode_under_xdist_aggregates_requirements(pytester: pytest.Pytester) -> None:
    report, junit = pytester.path / "r.json", pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "conformance.suites",
        f"--conformance-server-cmd={BROKEN_CMD}",
        "--conformance-profile=core",
        "-k",
        "test_spec_echo or test_string",
        f"--conformance-json-report={report}",
        f"--junitxml={junit}",
        timeout=RUN_TIMEOUT_S,
    )
    assert result.ret == 1
    got = outcomes(report)
    assert got["CORE-SPEC-ECHO"] == "failed" and got["CORE-ECHO-STRING"] == "passed"
    result.stdout.fnmatch_lines(["*core*FAILED*", "FAILED: CORE-SPEC-ECHO"])
    # The requirement rides in system-out (testcase <properties> break the JUnit schema).
    assert "<system-out>conformance requirement: CORE-SPEC-ECHO</system-out>" in junit.read_text()
    assert "<properties>" not in junit.read_text()


def test_the_command_under_xdist_hands_its_options_to_the_workers(tmp_path: Path) -> None:
    # The command parses its options once and hands pytest the object, not --conformance-*
    # flags: xdist workers get it from the controller (with the expectation file's IDs).
    expected = tmp_path / "expected.txt"
    expected.write_text("CORE-SPEC-ECHO\n")
    report = tmp_path / "r.json"
    args = ["--server-cmd", BROKEN_CMD, *SELECT, "-n", "2", "--json-report", str(report)]
    done = run_cli(*args, "--expect-failures", str(expected), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    got = outcomes(report)
    assert got["CORE-SPEC-ECHO"] == "expected-failure" and got["CORE-ECHO-STRING"] == "passed"
    # A worker wrote the failure's rerun command from the options it was handed.
    failure = next(r for r in json.loads(report.read_text())["requirements"] if r["failures"])
    assert failure["failures"][0]["rerun"].startswith("conformance --server-cmd ")
    assert failure["failures"][0]["rerun"].endswith("--requirement CORE-SPEC-ECHO")


def test_plugin_options_after_the_separator_are_refused(tmp_path: Path) -> None:
    # Two sources of options would disagree; the command's own are the run's.
    done = run_cli("--target", "127.0.0.1:9", "--", "--conformance-seed", "3", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("conformance: error: --conformance-seed is the plugin's: ")
    assert "give the command --seed" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--server-cmd", "echo starting {address}; echo oops >&2; exit 3"],
            "exited with status 3 before it was ready",
        ),
        (["--target", "127.0.0.1:1", "--ready-timeout", "1"], "connection refused"),
        (["--target", "nowhere"], "expected host:port or unix:PATH"),
        (["--server-cmd", "true"], "must contain the {address} placeholder"),
        (["--server-cmd", "x {address}", "--profile", "tls"], "has no {certificate} {private_key}"),
        (["--target", "127.0.0.1:9", "--tls-cert", __file__], "--tls-cert and --tls-key"),
        (["--target", "127.0.0.1:9", "--profile", "nope"], "invalid choice"),
        (["--target", "127.0.0.1:9", "--ready-timeout", "nan"], "got nan"),
        (["--target", "127.0.0.1:9", "--ready-timeout", "inf"], "got inf"),
        (["--target", "127.0.0.1:9", "--ready-timeout", "0"], "got 0.0"),
        (["--target", "127.0.0.1:9", "--run-timeout", "-1"], "--run-timeout: expected"),
        (["--target", "127.0.0.1:9", "--seed", "-2"], "--seed: expected an integer >= 0"),
        (["--target", "127.0.0.1:9", "-n", "many"], "-n/--workers: expected a number"),
        (["--target", "127.0.0.1:9", "--json-report", "/nonexistent/r.json"], "no folder"),
        (["--target", "127.0.0.1:9", "--certificate", "/nonexistent/c.md"], "no folder"),
        (["--target", "127.0.0.1:9", "--junitxml", "/nonexistent/j.xml"], "no folder"),
        (["--write-requirements", "/nonexistent/x.md"], "cannot write /nonexistent/x.md"),
    ],
)
def test_harness_that_cannot_run_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    if "127.0.0.1:9" in args and "nope" not in args:  # ours, not argparse's usage error
        # Checked before anything starts: one line, no usage dump, no server probed.
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("conformance: error: ")
    if "exit 3" in args[-1]:
        assert "oops" in done.stdout + done.stderr  # the tail of the server's output


def test_unknown_expected_failure_id_exits_2(tmp_path: Path) -> None:
    expected = tmp_path / "expected.txt"
    expected.write_text("CORE-NO-SUCH-THING\n")
    done = run_cli("--server-cmd", BROKEN_CMD, "--expect-failures", str(expected), cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown requirement ID 'CORE-NO-SUCH-THING'" in done.stdout + done.stderr


def test_suite_without_a_server_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pyargs", "conformance.suites"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*needs --conformance-target ADDRESS, --conformance-server-cmd COMMAND or "
            "--conformance-client-cmd COMMAND*"
        ]
    )


# --- the broken server ---------------------------------------------------------------------------


def _broken_predict(request_bytes: bytes, context: Any) -> bytes:
    from protos import ms_service_pb2 as pb

    request = pb.PredictRequest.FromString(request_bytes)
    spec = request.servable_spec
    reply = pb.PredictReply(servable_spec=spec)
    served = spec.version_number or 2
    instances = list(request.instances)
    is_echo = (spec.name, spec.method_name) == ("conformance", "echo") and served in (1, 2)
    if is_echo and instances and all("x" in instance.items for instance in instances):
        for instance in instances:
            out = reply.instances.add()
            out.items["y"].CopyFrom(instance.items["x"])
            version = out.items["version"]
            version.dtype = pb.MS_INT64
            version.data = served.to_bytes(8, "little")
        return reply.SerializeToString()
    reply.servable_spec.version_number = served  # THE BUG: version 0 must stay 0
    error = reply.error_msg.add()
    error.error_code, error.error_msg = 2, b"this broken server serves conformance.echo only"
    return reply.SerializeToString()


def serve(argv: Sequence[str]) -> int:
    import grpc

    address = argv[argv.index("--address") + 1]
    handler = grpc.method_handlers_generic_handler(
        "mindspore.serving.proto.MSService",
        {"Predict": grpc.unary_unary_rpc_method_handler(_broken_predict)},
    )
    server = grpc.server(futures.ThreadPoolExecutor(4), options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(address)
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"broken server serving on {address}", flush=True)
    stopped.wait(ORPHAN_LIFETIME_S)
    server.stop(grace=1).wait(5)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(serve(sys.argv[1:]))
