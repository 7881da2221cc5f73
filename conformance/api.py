"""Run a certification from Python and read its outcome per requirement.

    from conformance.api import certify

    result = certify(server_cmd="my-server --address {address}", profiles=["core"])
    assert result.exit_status == 1
    assert result.outcomes["CORE-SPEC-ECHO"] == "failed"
    assert result.report is not None and result.report.failed == ["CORE-SPEC-ECHO"]

The run is the ``conformance`` command in a subprocess (its own pytest session, isolated from
the caller's); ``report`` is the typed report (conformance.reporting.Report) read back from the
JSON report it writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.reporting import Report, RequirementOutcome, Verdict

__all__ = ["Certification", "certify", "certify_arguments"]


@dataclass(frozen=True)
class Certification:
    exit_status: int  # 0 conformant, 1 not conformant, 2 the harness could not run
    output: str  # the command's stdout and stderr
    report: Report | None = None  # None where the run wrote no report (bad options, say)

    @property
    def outcomes(self) -> dict[str, RequirementOutcome]:
        """Requirement ID -> passed, failed, expected-failure, unexpected-pass,
        not-applicable, skipped or not-run (each a str too)."""
        requirements = self.report.requirements if self.report is not None else []
        return {r.id: r.outcome for r in requirements}

    @property
    def failed(self) -> list[str]:
        return self.report.failed if self.report is not None else []

    @property
    def verdicts(self) -> dict[str, Verdict]:
        """Profile -> passed, failed, not-applicable, not-run... (each a str too)."""
        profiles = self.report.profiles if self.report is not None else {}
        return {name: p.verdict for name, p in profiles.items()}

    @classmethod
    def read(cls, exit_status: int, output: str, report: Path) -> Certification:
        """A finished run's outcome, with the JSON report it wrote at ``report`` (if any)."""
        typed = Report.from_json(json.loads(report.read_text())) if report.exists() else None
        return cls(exit_status, output, typed)


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
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "conformance"]
        command += certify_arguments(
            server_cmd=server_cmd, target=target, client_cmd=client_cmd, profiles=profiles
        )
        command += [*args, "--json-report", str(report)]
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        return Certification.read(done.returncode, done.stdout + done.stderr, report)


def certify_arguments(
    *,
    server_cmd: str | None = None,
    target: str | None = None,
    client_cmd: str | None = None,
    profiles: Sequence[str] = (),
) -> list[str]:
    """The ``conformance`` arguments ``certify`` starts with, before its ``args`` and its
    ``--json-report``: for a caller that starts the command its own way."""
    arguments = ["-q"]
    if server_cmd is not None:
        arguments += ["--server-cmd", server_cmd]
    if target is not None:
        arguments += ["--target", target]
    if client_cmd is not None:
        arguments += ["--client-cmd", client_cmd]
    for profile in profiles:
        arguments += ["--profile", profile]
    return arguments
