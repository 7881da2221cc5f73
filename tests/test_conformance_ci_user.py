"""The harness as a CI user meets it: a dead target named at once, readable usage errors and
listings, a server that rejects one profile's configuration failing that profile only, JUnit
XML without testcase properties, interrupted runs called so, and the HTML certificate as a
browser renders it (Debian's chromium; skipped where none is installed)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from conformance.catalogue import REQUIREMENTS
from conformance.drive import free_tcp_address, make_scratch
from reference_server import ReferenceServer

HERE = Path(__file__).resolve()
BROKEN_SERVER = HERE.parent / "test_plugin_exit_codes.py"
BROKEN_CMD = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(BROKEN_SERVER))} --address {{address}}"
)
REFERENCE = f"{shlex.quote(sys.executable)} -m reference_server --address {{address}}"
RUN_TIMEOUT_S = 300
JUNIT_SCHEMA = xmlschema.XMLSchema(str(HERE.parent / "support" / "junit.xsd"))
FAST_S = 120.0  # a dead target is known in milliseconds; the start of Python on a loaded machine


def conformance(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_refused_connection_is_named_at_once(tmp_path: Path) -> None:
    began = time.monotonic()
    address = free_tcp_address()
    status, output = conformance("--target", address, "--ready-timeout", "300", cwd=tmp_path)
    assert status == 2, output
    assert f"connection refused at {address}" in output and "DEADLINE_EXCEEDED" not in output
    assert time.monotonic() - began < FAST_S  # not the ready timeout


def test_a_missing_socket_file_is_named_at_once(tmp_path: Path) -> None:
    status, output = conformance("--target", f"unix:{tmp_path}/absent.sock", cwd=tmp_path)
    assert status == 2 and "no such socket file" in output, output


def test_a_target_that_accepts_but_is_still_starting_is_waited_for(tmp_path: Path) -> None:
    # Accepts connections, never answers gRPC: not refused, so the harness waits its timeout.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        began = time.monotonic()
        status, output = conformance("--target", address, "--ready-timeout", "3", cwd=tmp_path)
    assert status == 2 and "did not answer a Predict" in output, output
    assert "connection refused" not in output
    assert time.monotonic() - began >= 3


def test_list_requirements_as_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--list-requirements", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = json.loads(done.stdout)
    assert [row["id"] for row in rows] == [r.id for r in REQUIREMENTS]
    assert set(rows[0]) == {"id", "level", "profile", "sentence"}


def test_a_closed_pipe_is_no_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "--list-requirements"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader (`| head`) is gone before the first line
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_every_usage_error_is_one_line(tmp_path: Path) -> None:
    usage = (
        ["--profile", "nope", "--target", "127.0.0.1:9"],  # argparse's
        ["--no-such-option"],
        ["--target", "127.0.0.1:9", "--seed", "-1"],  # the harness's own checks
        ["--target", free_tcp_address()],  # found once pytest runs
    )
    for args in usage:
        status, output = conformance(*args, cwd=tmp_path)
        assert status == 2
        assert output.count("\n") == 1 and output.startswith("conformance: error: "), output
        assert "usage:" not in output


def test_the_scratch_folder_is_under_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    scratch = make_scratch()
    assert Path(scratch).parent == tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / ("x" * 120)))
    assert Path(make_scratch()).parent == Path("/tmp")  # too long for a unix socket inside
    os.rmdir(scratch)


def test_a_server_that_rejects_unix_addresses_fails_that_profile_only(tmp_path: Path) -> None:
    # Starts for TCP, exits with its own message for a unix:PATH: the uds profile FAILS with
    # that message (exit 1, not 2); core still gets its verdict and every report is written.
    refusing = (
        "case {address} in unix:*) echo 'this server has no unix socket support' >&2; exit 1;; "
        f"esac; exec {REFERENCE}"
    )
    report, certificate = tmp_path / "r.json", tmp_path / "c.md"
    status, output = conformance(
        "--server-cmd",
        refusing,
        "--requirement",
        "CORE-SPEC-ECHO",
        "--requirement",
        "UDS-ERRORS",
        "--json-report",
        str(report),
        "--certificate",
        str(certificate),
        cwd=tmp_path,
    )
    assert status == 1, output
    data = json.loads(report.read_text())
    assert data["profiles"]["uds"]["verdict"] == "failed"
    assert "exited with status 1" in data["profiles"]["uds"]["reason"]
    outcomes = {r["id"]: r for r in data["requirements"]}
    assert outcomes["UDS-ERRORS"]["outcome"] == "failed"
    assert "no unix socket support" in outcomes["UDS-ERRORS"]["failures"][0]["message"]
    assert outcomes["CORE-SPEC-ECHO"]["outcome"] == "passed"
    assert data["profiles"]["core"]["verdict"] == "incomplete"  # one requirement asked for
    assert "no unix socket support" in output
    assert "uds" in certificate.read_text() and "FAILED" in certificate.read_text()


def test_junit_xml_has_no_testcase_properties(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    status, output = conformance(
        "--server-cmd",
        BROKEN_CMD,
        "--requirement",
        "CORE-SPEC-ECHO",
        "--junitxml",
        str(junit),
        cwd=tmp_path,
    )
    assert status == 1, output
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert cases and all(case.find("properties") is None for case in cases)
    assert all(set(case.attrib) <= {"classname", "name", "time", "file", "line"} for case in cases)
    assert any("CORE-SPEC-ECHO" in (out.text or "") for out in root.iter("system-out"))
    assert root.tag == "testsuites" and root.find("testsuite") is not None
    JUNIT_SCHEMA.validate(str(junit))  # what CI systems parse: no testcase <properties>


def test_the_suite_keeps_its_order_beside_pytest_randomly(
    tmp_path: Path, kit_server: ReferenceServer
) -> None:
    # The test extra installs pytest-randomly, as a CI user's environment may: the command's
    # own run must neither shuffle the checks nor reseed them (a gating run is derandomized).
    pytest.importorskip("pytest_randomly")
    report = tmp_path / "r.json"
    args = ("--target", kit_server.address, "--requirement", "CORE-SPEC-ECHO")
    status, output = conformance(*args, "--json-report", str(report), cwd=tmp_path)
    assert status == 0, output
    assert "randomly" not in output  # neither its seed line nor its name among the plugins
    hypothesis = json.loads(report.read_text())["hypothesis"]
    assert hypothesis == {"derandomized": True, "seed": None, "thorough": False}


def test_junit_schema_refuses_testcase_properties(tmp_path: Path) -> None:
    # The schema itself has teeth: the shape pytest's record_property writes is refused.
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<testsuites><testsuite name="s" tests="1"><testcase name="t">'
        '<properties><property name="id" value="CORE-SPEC-ECHO"/></properties>'
        "</testcase></testsuite></testsuites>"
    )
    assert not JUNIT_SCHEMA.is_valid(str(bad))


def test_sigterm_is_reported_as_an_interruption(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "--server-cmd",
            BROKEN_CMD,
            "--profile",
            "core",
            "--json-report",
            str(report),
            "-v",  # a line per test, so that the first test's end can be seen
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Unbuffered: through a pipe, the lines would otherwise come in blocks, maybe only at
        # the end of the run (too late to interrupt it).
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    # Into the tests, however fast or slow the machine: after the first of its 83 tests.
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.rstrip().endswith("]") and ("PASSED" in line or "FAILED" in line):
            break
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    output = "".join(seen) + output
    assert process.returncode == 2, output
    assert "interrupted (SIGTERM)" in output
    data = json.loads(report.read_text())
    assert data["interrupted_by"] == "SIGTERM" and data["result"] == "not-finished"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="no chromium installed (apt-get install chromium)")
def test_the_html_certificate_in_a_browser(tmp_path: Path) -> None:
    certificate, report = tmp_path / "c.html", tmp_path / "r.json"
    status, output = conformance(
        "--server-cmd",
        BROKEN_CMD,
        "--profile",
        "core",
        "-k",
        "test_spec_echo or test_string",
        "--certificate",
        str(certificate),
        "--json-report",
        str(report),
        cwd=tmp_path,
    )
    assert status == 1, output
    browser = [str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu"]
    env = {**os.environ, "HOME": str(tmp_path)}  # chromium writes its profile there
    dom = subprocess.run(
        [*browser, "--dump-dom", certificate.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    ).stdout
    assert "<h1>MindSpore Serving conformance certificate</h1>" in dom
    assert "`" not in dom.split("<body>", 1)[1].split("<pre", 1)[0]  # no Markdown as text
    assert 'class="failed"' in dom and "<b>FAILED</b>" in dom and "<b>NOT CONFORMANT</b>" in dom
    assert "--requirement CORE-SPEC-ECHO" in dom  # the rerun command
    assert "Profiles not requested" in dom and "<code>tls</code>" in dom
    data = json.loads(report.read_text())
    assert data["environment"]["grpc"] in dom
    screenshot = tmp_path / "c.png"
    subprocess.run(
        [*browser, f"--screenshot={screenshot}", "--window-size=1200,1600", certificate.as_uri()],
        capture_output=True,
        timeout=120,
        env=env,
        check=True,
    )
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    keep = os.environ.get("CONFORMANCE_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)


def test_a_check_waits_for_a_connection_that_is_slow_to_come() -> None:
    # A loaded machine accepts late: the suite's call waits within its deadline instead of
    # failing with UNAVAILABLE (the false failure a busy CI machine once produced).
    from support.servers import running_server

    from conformance.drive import Endpoint
    from conformance.verify import kit
    from conformance.verify.wire import RpcFailure, Target
    from protos import codec

    address = free_tcp_address()
    started, answered = threading.Event(), threading.Event()

    def start_late() -> None:
        time.sleep(1.5)
        with running_server(address=address):
            started.set()
            answered.wait(30)  # up until the call is answered, not a fixed while

    thread = threading.Thread(target=start_late, daemon=True)
    thread.start()
    try:
        with Target(Endpoint("core", address)) as server:
            reply = server.call(kit.echo_request([codec.text_tensor("late")]), 20.0)
    finally:
        answered.set()
    assert started.is_set() and not isinstance(reply, RpcFailure), reply
    thread.join(timeout=30)


def test_the_rerun_command_repeats_the_run_for_one_requirement() -> None:
    from conformance.catalogue import OPTIONS, build
    from conformance.cli import build_parser

    given = {o.dest: None for o in OPTIONS} | {
        "server_cmd": "serve --address {address} --note 'it''s'",
        "max_msg_mb_size": 2,
        "thorough": True,
        "profile": ["core", "limits"],
        "requirement": [],
    }
    options = build(given)
    command = options.rerun_command("LIMITS-UNDER-LIMIT-OK", 1234)
    words = shlex.split(command)
    assert words[0] == "conformance"
    again = build_parser().parse_args(words[1:])
    assert again.server_cmd == given["server_cmd"] and again.max_msg_mb_size == 2
    assert again.thorough and again.seed == 1234
    assert again.requirement == ["LIMITS-UNDER-LIMIT-OK"] and not again.profile
