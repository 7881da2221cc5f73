"""Run a certification from Python and read its outcome per requirement.

    from conformance.api import certify

    result = certify(server_cmd="my-server --address {address}", profiles=["core"])
    assert result.exit_status == 1
    assert result.outcomes["CORE-SPEC-ECHO"] == "failed"

The run is the ``conformance`` command in a subprocess (its own pytest session, isolated from
the caller's), reading the JSON report it writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Certification:
    exit_status: int  # 0 conformant, 1 not conformant, 2 the harness could not run
    output: str  # the command's stdout and stderr
    report: dict[str, Any] = field(default_factory=dict)  # the JSON report; {} if none

    @property
    def outcomes(self) -> dict[str, str]:
        """Requirement ID -> passed, failed, expected-failure, unexpected-pass,
        not-applicable, skipped or not-run."""
        return {r["id"]: r["outcome"] for r in self.report.get("requirements", [])}

    @property
    def failed(self) -> list[str]:
        return [i for i, outcome in self.outcomes.items() if outcome == "failed"]

    @property
    def verdicts(self) -> dict[str, str]:
        """Profile -> passed, failed, not-applicable or not-run."""
        return {name: p["verdict"] for name, p in self.report.get("profiles", {}).items()}


def certify(
    *,
    server_cmd: str | None = None,
    target: str | None = None,
    client_cmd: str | None = None,
    profiles: Sequence[str] = (),
    args: Sequence[str] = (),
    timeout_s: float = 600.0,
) -> Certification:
    """Run ``conformance`` against ``server_cmd`` (a template), ``target``, or a client's
    testee ``client_cmd``; ``args`` are more command-line arguments (``--expect-failures F``,
    ``-k EXPR``, ``--tls-ca F``...). The run's folder is a fresh temporary one: give commands
    with absolute paths."""
    command = [sys.executable, "-m", "conformance", "-q"]
    if server_cmd is not None:
        command += ["--server-cmd", server_cmd]
    if target is not None:
        command += ["--target", target]
    if client_cmd is not None:
        command += ["--client-cmd", client_cmd]
    for profile in profiles:
        command += ["--profile", profile]
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        report = Path(folder) / "report.json"
        command += [*args, "--json-report", str(report)]
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        data = json.loads(report.read_text()) if report.exists() else {}
    return Certification(done.returncode, done.stdout + done.stderr, data)
