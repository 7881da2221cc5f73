"""The whole suite passes against the reference server, in both drive modes, with every
profile; the commands of docs/certifying.md are the ones run here, exactly as written there."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conformance.catalogue import CLIENT_PROFILE_NAMES, PROFILE_NAMES, REQUIREMENTS
from reference_server import ReferenceServer

# A --server-cmd run certifies servers: every profile but the client-* ones.
SERVER_PROFILES = [p for p in PROFILE_NAMES if p not in CLIENT_PROFILE_NAMES]
SERVER_REQUIREMENTS = [r for r in REQUIREMENTS if r.profile in SERVER_PROFILES]

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "certifying.md"
DOC_ADDRESS = "127.0.0.1:5500"
_FENCE = re.compile(r"^```(\S*)[ \t]*(\S*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_STATUS = re.compile(r"\s+# exit status (\d+)$")


def doc_blocks() -> list[tuple[str, str, str]]:
    """(language, file name, body) of every fenced block of docs/certifying.md."""
    return _FENCE.findall(DOC.read_text(encoding="utf-8"))


def doc_commands() -> list[tuple[str, int]]:
    """The ``$ `` lines of the console blocks, with the exit status each expects (default 0)."""
    commands = []
    for language, _, body in doc_blocks():
        if language != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                status = _STATUS.search(line)
                command = _STATUS.sub("", line[2:])
                commands.append((command, int(status.group(1)) if status else 0))
    return commands


def doc_script(address: str) -> str:
    """A bash script running every documented command, checking each one's exit status."""
    lines = ["set -u"]
    for command, status in doc_commands():
        command = command.replace(DOC_ADDRESS, address)
        lines += [
            f"echo '>>> '{shlex.quote(command)}",
            command,
            f'got=$?; if [ "$got" -ne {status} ]; then '
            f'echo "!!! exit status $got, expected {status}"; exit 99; fi',
        ]
    return "\n".join(lines) + "\n"


def test_doc_commands_are_found() -> None:
    commands = [c for c, _ in doc_commands()]
    assert any(c.startswith("conformance --server-cmd") for c in commands)
    assert any(c.startswith("conformance --target") for c in commands)
    assert any("--expect-failures expected-failures.txt" in c for c in commands)
    assert any("--requirement STRICT-TEXT-TRUNCATION" in c for c in commands)
    assert any(name == "expected-failures.txt" for _, name, _ in doc_blocks())


@pytest.mark.slow
def test_certifying_doc_commands_pass_against_the_reference_server(
    tmp_path: Path, kit_server: ReferenceServer
) -> None:
    for _, name, body in doc_blocks():
        if name:
            (tmp_path / name).write_text(body, encoding="utf-8")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        ["bash", "-c", doc_script(kit_server.address)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]

    # The full --server-cmd run: every profile, every requirement passed.
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mode"] == "server-cmd" and report["exit_status"] == 0 and report["conformant"]
    assert report["result"] == "conformant" and report["not_run"] == []
    assert not report["run_timed_out"]
    assert report["hypothesis"] == {"derandomized": True, "seed": None, "thorough": False}
    assert {name: p["verdict"] for name, p in report["profiles"].items()} == {
        name: "passed" for name in SERVER_PROFILES
    }
    outcomes = {r["id"]: r["outcome"] for r in report["requirements"]}
    # The client-* requirements are listed too, not run (profiles a server run cannot request).
    assert outcomes == {
        r.id: "passed" if r in SERVER_REQUIREMENTS else "not-run" for r in REQUIREMENTS
    }
    page = (tmp_path / "certificate.html").read_text()
    assert "CONFORMANT in every requested profile" in page and "<p>None.</p>" in page
    cases = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    prefix = "conformance requirement: "
    ids = {(o.text or "").removeprefix(prefix) for case in cases for o in case.iter("system-out")}
    assert ids == {r.id for r in SERVER_REQUIREMENTS}
    # The robustness checks' figures travel in the JSON report (JUnit keeps only the ID).
    assert any(r.get("figures") for r in report["requirements"])

    # The --target run against the in-process server: core only, every core requirement passed.
    target = json.loads((tmp_path / "target.json").read_text())
    assert target["mode"] == "target" and target["target"] == kit_server.address
    assert (
        list(target["profiles"]) == ["core"] and target["profiles"]["core"]["verdict"] == "passed"
    )
    core = [r for r in REQUIREMENTS if r.profile == "core"]
    assert target["profiles"]["core"]["counts"] == {"passed": len(core)}

    # Rerunning one requirement: its profile only, the rest not run, so incomplete (exit 0).
    rerun = json.loads((tmp_path / "rerun.json").read_text())
    assert rerun["exit_status"] == 0 and rerun["result"] == "incomplete"
    assert list(rerun["profiles"]) == ["strict"]
    assert rerun["profiles"]["strict"]["verdict"] == "incomplete"
    rerun_outcomes = {r["id"]: r["outcome"] for r in rerun["requirements"]}
    assert rerun_outcomes.pop("STRICT-TEXT-TRUNCATION") == "passed"
    assert set(rerun_outcomes.values()) == {"not-run"}

    # The strict expectation example: the listed requirement passed, so the run failed.
    assert "UNEXPECTED PASSES (listed as expected failures): STRICT-TEXT-TRUNCATION" in done.stdout
