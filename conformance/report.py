"""From test reports to requirement outcomes, profile verdicts and the JSON report.

Outcomes of a requirement (over all the tests that carry its ID):

* ``failed``: a test failed and the ID is not in the expectation file;
* ``expected-failure``: a test failed and the ID is listed;
* ``unexpected-pass``: every test passed but the ID is listed (fails the run: lists are strict);
* ``passed``: every test that ran passed;
* ``not-applicable``: the harness cannot check it here (never counted as passed);
* ``skipped``: skipped for another reason; ``not-run``: deselected or its profile not requested.

A profile's verdict: ``not-applicable`` if the profile cannot run here; ``failed`` if any of its
requirements failed (expected or not); ``passed`` if at least one passed and none failed;
``not-run`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from conformance import __version__
from conformance.marks import NOT_APPLICABLE, PROPERTY_FAILED, PROPERTY_ID
from conformance.options import RunOptions
from conformance.requirements import PROFILES, REQUIREMENTS, Requirement
from conformance.run import RunContext

FAILING = ("failed", "expected-failure", "unexpected-pass")


@dataclass
class _Test:
    requirement: str
    outcome: str = "passed"  # passed | failed | not-applicable | skipped
    reason: str = ""
    duration_s: float = 0.0


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


class Results:
    """Collects the reports of conformance tests (on the controller, under xdist)."""

    def __init__(self) -> None:
        self.tests: dict[str, _Test] = {}
        self.started = dt.datetime.now(dt.UTC)

    def add(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        requirement = properties.get(PROPERTY_ID)
        if requirement is None:
            return
        test = self.tests.setdefault(report.nodeid, _Test(str(requirement)))
        test.duration_s += report.duration
        if PROPERTY_FAILED in properties:
            test.outcome = "failed"
        elif report.skipped and test.outcome == "passed":
            reason = _skip_reason(report)
            test.outcome = "not-applicable" if reason.startswith(NOT_APPLICABLE) else "skipped"
            test.reason = reason.removeprefix(NOT_APPLICABLE)

    def summarize(
        self,
        context: RunContext,
        options: RunOptions,
        exit_status: int,
        servers_exited: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return summarize(self, context, options, exit_status, servers_exited or [])


def _requirement_outcome(
    req: Requirement, tests: list[_Test], context: RunContext, expected: frozenset[str]
) -> tuple[str, str]:
    """(outcome, reason) of one requirement."""
    if req.profile not in context.requested:
        return "not-run", "profile not requested"
    if req.profile in context.not_applicable:
        return "not-applicable", context.not_applicable[req.profile]
    outcomes = {t.outcome for t in tests}
    listed = req.id in expected
    if "failed" in outcomes:
        return ("expected-failure" if listed else "failed"), ""
    if "passed" in outcomes:
        return ("unexpected-pass" if listed else "passed"), ""
    for outcome in ("not-applicable", "skipped"):
        if outcome in outcomes:
            return outcome, next(t.reason for t in tests if t.outcome == outcome)
    return "not-run", "no test ran (deselected)"


def summarize(
    results: Results,
    context: RunContext,
    options: RunOptions,
    exit_status: int,
    servers_exited: list[dict[str, Any]],
) -> dict[str, Any]:
    """The report. ``exit_status`` is pytest's; the report gives the command's (0, 1 or 2)."""
    exit_status = exit_status if exit_status in (0, 1) else 2
    by_requirement: dict[str, list[_Test]] = defaultdict(list)
    failing_tests: dict[str, list[str]] = defaultdict(list)
    for nodeid, test in results.tests.items():
        by_requirement[test.requirement].append(test)
        if test.outcome == "failed":
            failing_tests[test.requirement].append(nodeid)
    requirements: list[dict[str, Any]] = []
    for req in REQUIREMENTS:
        tests = by_requirement.get(req.id, [])
        outcome, reason = _requirement_outcome(req, tests, context, options.expected_failures)
        requirements.append(
            {
                "id": req.id,
                "level": req.level,
                "profile": req.profile,
                "sentence": req.sentence,
                "outcome": outcome,
                "reason": reason,
                "tests": len(tests),
                "failed_tests": sorted(failing_tests.get(req.id, [])),
                "duration_s": round(sum(t.duration_s for t in tests), 3),
            }
        )
    profiles: dict[str, dict[str, Any]] = {}
    for profile in PROFILES:
        if profile.name not in context.requested:
            continue
        mine = [r for r in requirements if r["profile"] == profile.name]
        counts: dict[str, int] = defaultdict(int)
        for r in mine:
            counts[r["outcome"]] += 1
        if profile.name in context.not_applicable:
            verdict = "not-applicable"
        elif any(r["outcome"] in FAILING for r in mine):
            verdict = "failed" if counts["failed"] or counts["expected-failure"] else "passed"
        elif counts["passed"]:
            verdict = "passed"
        else:
            verdict = "not-run"
        profiles[profile.name] = {
            "verdict": verdict,
            "reason": context.not_applicable.get(profile.name, ""),
            "counts": dict(counts),
            "failed": [r["id"] for r in mine if r["outcome"] == "failed"],
            "expected_failures": [r["id"] for r in mine if r["outcome"] == "expected-failure"],
            "unexpected_passes": [r["id"] for r in mine if r["outcome"] == "unexpected-pass"],
            "duration_s": round(sum(r["duration_s"] for r in mine), 3),
        }
    finished = dt.datetime.now(dt.UTC)
    return {
        "suite": {"name": "ms-serving-conformance", "version": __version__},
        "mode": context.mode,
        "target": options.target,
        "server_cmd": options.server_cmd,
        "profiles_requested": list(context.requested),
        "profiles_explicit": context.explicit,
        "conformant": exit_status == 0,
        "exit_status": exit_status,
        "profiles": profiles,
        "requirements": requirements,
        "failed": [r["id"] for r in requirements if r["outcome"] == "failed"],
        "expected_failures": [r["id"] for r in requirements if r["outcome"] == "expected-failure"],
        "unexpected_passes": [r["id"] for r in requirements if r["outcome"] == "unexpected-pass"],
        "expectation_file": options.expect_failures_file,
        "servers_exited": servers_exited,
        "hypothesis": {
            "derandomized": context.seed is None,
            "seed": context.seed,
            "thorough": context.thorough,
        },
        "started_at": results.started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - results.started).total_seconds(), 3),
    }


def write_json(summary: dict[str, Any], path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2)
        file.write("\n")


def terminal_lines(summary: dict[str, Any]) -> list[str]:
    """One line per requested profile, then the failing IDs."""
    lines = []
    for name, profile in summary["profiles"].items():
        counts = profile["counts"]
        total = sum(counts.values())
        detail = profile["reason"] or ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        lines.append(
            f"{name:<7} {profile['verdict'].upper():<15} {total:>3} requirements: {detail}"
        )
    for gone in summary["servers_exited"]:
        last = (gone["output_tail"].splitlines() or ["(no output)"])[-1]
        lines.append(
            f"server '{gone['server']}' exited during the run (status {gone['status']}): {last}"
        )
    for key, label in (
        ("failed", "FAILED"),
        ("expected_failures", "expected failures"),
        ("unexpected_passes", "UNEXPECTED PASSES (listed as expected failures)"),
    ):
        if summary[key]:
            lines.append(f"{label}: {' '.join(summary[key])}")
    return lines
