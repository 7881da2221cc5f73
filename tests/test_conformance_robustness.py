"""The robustness profile in both drive modes, end to end against the reference server: what
applies with --target, and the SIGTERM check's need for {grace} (the mutants of
tests/mutants/robustness.py prove each requirement catches its defect)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import by_profile
from reference_server import ReferenceServer

ROOT = Path(__file__).resolve().parent.parent
LAUNCHED_ONLY = {"ROBUSTNESS-MEMORY-BOUNDED", "ROBUSTNESS-SIGTERM-IN-FLIGHT"}


def harness(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", *args, "--json-report", str(report), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(report.read_text()), done.stdout + done.stderr


@pytest.mark.slow
def test_against_a_target_the_launched_only_checks_do_not_apply(
    tmp_path: Path, kit_server: ReferenceServer
) -> None:
    status, report, output = harness(
        tmp_path, "--target", kit_server.address, "--profile", "robustness"
    )
    assert status == 0, output[-3000:]
    profile = report["profiles"]["robustness"]
    assert profile["verdict"] == "passed", profile
    outcomes = {r["id"]: r for r in report["requirements"] if r["profile"] == "robustness"}
    assert set(outcomes) == {r.id for r in by_profile("robustness")}
    for rid, r in outcomes.items():
        if rid in LAUNCHED_ONLY:
            assert r["outcome"] == "not-applicable" and "--server-cmd" in r["reason"], r
        else:
            assert r["outcome"] == "passed", r
            # What each check measured: calls tried (many for the flood), worst latency.
            assert r["figures"]["calls"] >= 3 and 0 < r["figures"]["worst_latency_s"] < 10, r
    assert outcomes["ROBUSTNESS-FLOOD"]["figures"]["calls"] > 100


def test_sigterm_needs_the_grace_placeholder(tmp_path: Path) -> None:
    command = (
        f"{shlex.quote(sys.executable)} -m reference_server --address {{address}} --device cpu"
    )
    status, report, output = harness(
        tmp_path, "--server-cmd", command, "--requirement", "ROBUSTNESS-SIGTERM-IN-FLIGHT"
    )
    assert status == 0, output[-3000:]
    outcome = next(r for r in report["requirements"] if r["id"] == "ROBUSTNESS-SIGTERM-IN-FLIGHT")
    assert outcome["outcome"] == "not-applicable", outcome
    assert "{grace}" in outcome["reason"]
