"""From test reports to requirement outcomes, profile verdicts and the JSON report.

Outcomes of a requirement (over all the tests that carry its ID):

* ``failed``: a test failed and the ID is not in the expectation file;
* ``expected-failure``: a test failed and the ID is listed;
* ``unexpected-pass``: every test passed but the ID is listed (fails the run: lists are strict);
* ``passed``: every test that ran passed;
* ``not-applicable``: the harness cannot check it here (never counted as passed);
* ``skipped``: skipped for another reason; ``not-run``: deselected or its profile not requested.

A profile's verdict, first that applies:

* ``not-applicable``: the profile cannot run here;
* ``failed``: a requirement failed (not counting expected failures);
* ``not-run``: none of its requirements was checked (passed or failed, expectedly or not);
* ``incomplete``: some requirements were not run or skipped (a ``-k`` selection, say): never
  "passed", whatever the ones that ran did;
* ``passed-with-expected-failures``: every requirement ran; the only failures are listed in the
  expectation file;
* ``passed``: every requirement ran and passed (requirement-level "not applicable", such as
  the expired-certificate check of a ``--target`` run, does not count against it).

The run's ``result``: ``not-finished`` (exit status 2), ``not-conformant`` (1), and with exit
status 0 ``incomplete`` if a profile is incomplete or not run, else
``conformant-with-expected-failures`` or ``conformant``. Exit status 0 means "nothing failed":
an incomplete run is not a failure (a deliberate selection), but it is not called conformant.
"""

from __future__ import annotations

import datetime as dt
import json
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
UNCHECKED = ("not-run", "skipped")  # outcomes that leave a requirement unchecked


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
        *,
        run_timed_out: bool = False,
    ) -> dict[str, Any]:
        return summarize(
            self, context, options, exit_status, servers_exited or [], run_timed_out=run_timed_out
        )


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
    *,
    run_timed_out: bool = False,
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
        verdict = _verdict(profile.name in context.not_applicable, counts)
        profiles[profile.name] = {
            "verdict": verdict,
            "reason": context.not_applicable.get(profile.name, ""),
            "counts": dict(counts),
            "failed": [r["id"] for r in mine if r["outcome"] == "failed"],
            "expected_failures": [r["id"] for r in mine if r["outcome"] == "expected-failure"],
            "unexpected_passes": [r["id"] for r in mine if r["outcome"] == "unexpected-pass"],
            "not_run": [r["id"] for r in mine if r["outcome"] in UNCHECKED],
            "duration_s": round(sum(r["duration_s"] for r in mine), 3),
        }
    result = _result(exit_status, profiles, requirements)
    finished = dt.datetime.now(dt.UTC)
    return {
        "suite": {"name": "ms-serving-conformance", "version": __version__},
        "mode": context.mode,
        "target": options.target,
        "server_cmd": options.server_cmd,
        "profiles_requested": list(context.requested),
        "profiles_explicit": context.explicit,
        "conformant": result.startswith("conformant"),
        "result": result,
        "exit_status": exit_status,
        "run_timed_out": run_timed_out,
        "run_timeout_s": options.run_timeout_s,
        "profiles": profiles,
        "requirements": requirements,
        "failed": [r["id"] for r in requirements if r["outcome"] == "failed"],
        "expected_failures": [r["id"] for r in requirements if r["outcome"] == "expected-failure"],
        "unexpected_passes": [r["id"] for r in requirements if r["outcome"] == "unexpected-pass"],
        "not_run": [i for p in profiles.values() for i in p["not_run"]],
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


def _verdict(not_applicable: bool, counts: dict[str, int]) -> str:
    def some(*outcomes: str) -> bool:
        return any(counts.get(outcome, 0) for outcome in outcomes)

    if not_applicable:
        return "not-applicable"
    if some("failed"):
        return "failed"
    if not some("passed", *FAILING):
        return "not-run"
    if some(*UNCHECKED):
        return "incomplete"
    if some("expected-failure"):
        return "passed-with-expected-failures"
    return "passed"


def _result(
    exit_status: int, profiles: dict[str, dict[str, Any]], requirements: list[dict[str, Any]]
) -> str:
    if exit_status == 2:
        return "not-finished"
    if exit_status == 1:
        return "not-conformant"
    if any(p["verdict"] in ("incomplete", "not-run") for p in profiles.values()):
        return "incomplete"
    if any(r["outcome"] == "expected-failure" for r in requirements):
        return "conformant-with-expected-failures"
    return "conformant"


def result_line(summary: dict[str, Any]) -> str:
    """The run's result in words, as the certificate and the terminal summary give it."""
    result = summary["result"]
    if result == "not-finished":
        why = " (--run-timeout reached)" if summary.get("run_timed_out") else ""
        return f"NOT FINISHED: the harness could not run or complete the run{why}"
    if result == "not-conformant":
        return "NOT CONFORMANT"
    if result == "incomplete":
        count = len(summary["not_run"])
        return f"INCOMPLETE: {count} requirement{'s' if count != 1 else ''} not run"
    inapplicable = [n for n, p in summary["profiles"].items() if p["verdict"] == "not-applicable"]
    scope = "in every requested profile"
    if inapplicable:
        scope = (
            f"in every requested profile that applies (not applicable: {', '.join(inapplicable)})"
        )
    if result == "conformant-with-expected-failures":
        return f"CONFORMANT {scope}, with the expected failures listed below"
    return f"CONFORMANT {scope}"


def timeout_line(seconds: float) -> str:
    return f"the run exceeded --run-timeout ({seconds:g} s) and was stopped (exit status 2)"


def write_json(summary: dict[str, Any], path: str) -> None:
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
    if summary["run_timed_out"]:
        lines.append(timeout_line(summary.get("run_timeout_s", 0)))
    for key, label in (
        ("failed", "FAILED"),
        ("expected_failures", "expected failures"),
        ("unexpected_passes", "UNEXPECTED PASSES (listed as expected failures)"),
    ):
        if summary[key]:
            lines.append(f"{label}: {' '.join(summary[key])}")
    lines.append(f"result: {result_line(summary)}")
    return lines
