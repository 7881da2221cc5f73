"""From test reports to requirement outcomes, profile verdicts, JSON and certificates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.catalogue import RunOptions, by_profile
from conformance.drive import Incident, RunContext, ServerExit
from conformance.reporting import (
    NOT_APPLICABLE,
    PROPERTY_DETAIL,
    PROPERTY_FAILED,
    PROPERTY_FIGURES,
    PROPERTY_ID,
    SCHEMA_VERSION,
    Report,
    RequirementOutcome,
    Results,
    RunResult,
    Verdict,
    html_page,
    markdown,
    schema,
    terminal_lines,
    write_certificate,
    write_json,
)


def make_report(nodeid: str, requirement: str, outcome: str, **extra: Any) -> pytest.TestReport:
    properties: list[tuple[str, object]] = [(PROPERTY_ID, requirement)]
    if extra.get("failed_as"):
        properties.append((PROPERTY_FAILED, extra["failed_as"]))
    for figures in extra.get("figures", ()):
        properties.append((PROPERTY_FIGURES, figures))
    longrepr = extra.get("longrepr")
    return pytest.TestReport(
        nodeid=nodeid,
        location=("x.py", 1, nodeid),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=longrepr,
        when=extra.get("when", "call"),
        duration=0.25,
        user_properties=properties,
    )


def context(**changes: Any) -> RunContext:
    values: dict[str, Any] = {
        "mode": "server-cmd",
        "subject": "srv {address}",
        "requested": ("core", "tls", "strict"),
        "explicit": False,
        "not_applicable": {"tls": "no {certificate} placeholder"},
        "endpoints": {},
        "tls_files": None,
        "seed": None,
        "thorough": False,
        "scratch": "/tmp/x",
    }
    values.update(changes)
    return RunContext(**values)


def summary_of(
    reports: list[pytest.TestReport],
    expected: frozenset[str] = frozenset(),
    status: int = 1,
    **context_changes: Any,
) -> Report:
    results = Results()
    for report in reports:
        results.add(report)
    options = RunOptions(server_cmd="srv {address}", expected_failures=expected)
    return results.summarize(context(**context_changes), options, status)


def passing(profile: str, *, but: dict[str, pytest.TestReport] | None = None) -> list[Any]:
    """A passing report for every requirement of ``profile``, some replaced by ``but``."""
    but = but or {}
    return [but.get(r.id) or make_report(r.id, r.id, "passed") for r in by_profile(profile)]


def outcome_of(summary: Report, requirement: str) -> str:
    return next(r.outcome for r in summary.requirements if r.id == requirement)


def test_outcomes_and_verdicts() -> None:
    reports = [
        make_report("a[1]", "CORE-ECHO-STRING", "passed"),
        make_report("a[2]", "CORE-ECHO-STRING", "failed", failed_as="call"),  # one of two fails
        make_report("b", "CORE-ECHO-BYTES", "passed"),
        make_report("c", "CORE-SPEC-ECHO", "skipped", failed_as="call"),  # xfail-converted
        make_report("d", "STRICT-FAIL-TEXT", "passed"),
        make_report(
            "e",
            "STRICT-ZERO-INSTANCES",
            "skipped",
            longrepr=("x.py", 1, f"Skipped: {NOT_APPLICABLE}needs a TLS server"),
        ),
        make_report(
            "f", "STRICT-TEXT-TRUNCATION", "skipped", longrepr=("x.py", 1, "Skipped: other")
        ),
    ]
    summary = summary_of(reports, expected=frozenset({"CORE-SPEC-ECHO", "STRICT-FAIL-TEXT"}))
    assert outcome_of(summary, "CORE-ECHO-STRING") == "failed"
    assert outcome_of(summary, "CORE-ECHO-BYTES") == "passed"
    assert outcome_of(summary, "CORE-SPEC-ECHO") == "expected-failure"
    assert outcome_of(summary, "STRICT-FAIL-TEXT") == "unexpected-pass"
    assert outcome_of(summary, "STRICT-ZERO-INSTANCES") == "not-applicable"
    assert outcome_of(summary, "STRICT-TEXT-TRUNCATION") == "skipped"
    assert outcome_of(summary, "CORE-FAIL-PATTERN") == "not-run"
    assert outcome_of(summary, "TLS-ACCEPT-TRUSTED-CA") == "not-applicable"
    assert outcome_of(summary, "LIMITS-UNDER-LIMIT-OK") == "not-run"  # profile not requested
    assert set(summary.profiles) == {"core", "tls", "strict"}
    assert summary.profiles["core"].verdict == "failed"
    assert summary.profiles["tls"].verdict == "not-applicable"
    # Most of strict never ran: "incomplete", whatever the ones that ran did.
    assert summary.profiles["strict"].verdict == "incomplete"
    assert summary.unexpected_passes == ["STRICT-FAIL-TEXT"]
    assert summary.failed == ["CORE-ECHO-STRING"]
    failed = next(r for r in summary.requirements if r.id == "CORE-ECHO-STRING")
    assert failed.failed_tests == ["a[2]"] and failed.tests == 2 and failed.duration_s == 0.5
    lines = terminal_lines(summary)
    assert lines[0].startswith("core    FAILED") and "no {certificate} placeholder" in lines[1]
    assert lines[-1] == "result: NOT CONFORMANT" and summary.result == "not-conformant"


def test_a_selection_is_incomplete_not_conformant(tmp_path: Path) -> None:
    # One requirement ran and passed, the rest were deselected (-k): exit status 0, but no
    # "passed" verdict and no CONFORMANT certificate.
    summary = summary_of(
        [make_report("v", "CORE-VERSION-SELECT", "passed")],
        status=0,
        requested=("core",),
        not_applicable={},
    )
    core = summary.profiles["core"]
    not_run = len(by_profile("core")) - 1  # every core requirement but the one that ran
    assert core.verdict == "incomplete" and len(core.not_run) == not_run
    assert summary.result == "incomplete" and not summary.conformant
    assert summary.exit_status == 0 and len(summary.not_run) == not_run
    write_certificate(summary, str(tmp_path / "c.md"))
    text = (tmp_path / "c.md").read_text()
    assert f"**Result:** INCOMPLETE: {not_run} requirements not run" in text
    assert "CONFORMANT" not in text and "| `core` | **INCOMPLETE** |" in text
    assert "## Requirements not run" in text and "`CORE-SPEC-ECHO`" in text
    assert terminal_lines(summary)[-1] == f"result: INCOMPLETE: {not_run} requirements not run"


def test_only_expected_failures_is_a_pass_with_deviations(tmp_path: Path) -> None:
    truncation = make_report("t", "STRICT-TEXT-TRUNCATION", "skipped", failed_as="call")
    summary = summary_of(
        passing("strict", but={"STRICT-TEXT-TRUNCATION": truncation}),
        expected=frozenset({"STRICT-TEXT-TRUNCATION"}),
        status=0,
        requested=("strict",),
        not_applicable={},
    )
    assert summary.profiles["strict"].verdict == "passed-with-expected-failures"
    assert summary.result == "conformant-with-expected-failures" and summary.conformant
    write_certificate(summary, str(tmp_path / "c.md"))
    text = (tmp_path / "c.md").read_text()
    assert "CONFORMANT in every requested profile, with the expected failures listed" in text
    assert "| `strict` | **PASSED with expected failures** |" in text
    failed, deviations = text.split("## Known deviations (listed as expected failures)")
    assert "## Failed requirements\n\nNone." in failed
    assert "- `STRICT-TEXT-TRUNCATION` (SHOULD, strict, expected-failure)" in deviations
    write_certificate(summary, str(tmp_path / "c.html"))
    page = (tmp_path / "c.html").read_text()
    assert "<h2>Known deviations (listed as expected failures)</h2>" in page


def test_a_complete_pass_is_conformant_and_names_inapplicable_profiles() -> None:
    summary = summary_of(passing("core"), status=0, requested=("core", "tls"))
    assert summary.profiles["core"].verdict == "passed"
    assert summary.profiles["tls"].verdict == "not-applicable"
    assert summary.result == "conformant" and summary.conformant
    assert terminal_lines(summary)[-1] == (
        "result: CONFORMANT in every requested profile that applies (not applicable: tls)"
    )


def test_not_applicable_is_never_passed() -> None:
    reports = [
        make_report(
            "e", "CORE-ECHO-BYTES", "skipped", longrepr=("x", 1, f"Skipped: {NOT_APPLICABLE}why")
        )
    ]
    summary = summary_of(reports, status=0)
    assert outcome_of(summary, "CORE-ECHO-BYTES") == "not-applicable"
    assert summary.profiles["core"].verdict == "not-run"


def test_json_and_certificates(tmp_path: Path) -> None:
    reports = [make_report("a", "CORE-ECHO-STRING", "failed", failed_as="call")]
    summary = summary_of(reports)
    write_json(summary, str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["failed"] == ["CORE-ECHO-STRING"]
    assert data["schema_version"] == SCHEMA_VERSION and data["result"] == "not-conformant"
    jsonschema.validate(data, schema())
    write_certificate(summary, str(tmp_path / "c.md"))
    text = (tmp_path / "c.md").read_text()
    assert "NOT CONFORMANT" in text and "| `core` | **FAILED** |" in text
    assert (
        "| `tls` | **not applicable** |" in text
        and "- `CORE-ECHO-STRING` (MUST, core, failed)" in text
    )
    write_certificate(summary, str(tmp_path / "c.html"))
    page = (tmp_path / "c.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<code>CORE-ECHO-STRING</code>" in page
    assert "srv {address}" in page and "<td><b>FAILED</b></td>" in page


def test_the_json_report_validates_against_its_published_schema(tmp_path: Path) -> None:
    # Every shape the report takes: passes, expected failures, an exited server, a timeout.
    gone = ServerExit("core", -9, "killed")
    results = Results()
    for report in passing("core"):
        results.add(report)
    options = RunOptions(server_cmd="srv {address}", expect_failures_file="x.txt")
    summary = results.summarize(
        context(seed=7, thorough=True), options, 2, [gone], run_timed_out=True
    )
    write_json(summary, str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, schema())
    assert data["servers_exited"] == [{"server": "core", "status": -9, "output_tail": "killed"}]
    assert data["result"] == "not-finished" and data["hypothesis"]["seed"] == 7
    # The schema is strict: a report missing a key, or with an unknown outcome, is refused.
    for broken in (
        {k: v for k, v in data.items() if k != "schema_version"},
        {**data, "requirements": [{**data["requirements"][0], "outcome": "ok"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema())


def test_figures_reach_the_json_report_and_the_certificate(tmp_path: Path) -> None:
    # Two tests of one requirement: calls add up, the worst latency is the larger one; the
    # figures are read once per test (from its teardown report, which carries them all).
    calls = [
        make_report("h[1]", "ROBUSTNESS-HOSTILE-REQUESTS", "passed", when=when, figures=figures)
        for when, figures in (
            ("call", [{"calls": 10, "worst_latency_s": 0.5}]),
            ("teardown", [{"calls": 10, "worst_latency_s": 0.5}]),
        )
    ]
    calls.append(
        make_report(
            "h[2]",
            "ROBUSTNESS-HOSTILE-REQUESTS",
            "passed",
            when="teardown",
            figures=[{"calls": 5, "worst_latency_s": 2.25}],
        )
    )
    calls.append(
        make_report(
            "m",
            "ROBUSTNESS-MEMORY-BOUNDED",
            "failed",
            failed_as="call",
            when="teardown",
            figures=[{"calls": 2200, "rss_growth_mib": 19.7}],
        )
    )
    summary = summary_of(calls, requested=("robustness",), not_applicable={})
    figures = {r.id: r.figures for r in summary.requirements if r.figures}
    assert figures == {
        "ROBUSTNESS-HOSTILE-REQUESTS": {"calls": 15, "worst_latency_s": 2.25},
        "ROBUSTNESS-MEMORY-BOUNDED": {"calls": 2200, "rss_growth_mib": 19.7},
    }
    write_json(summary, str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, schema())
    by_id = {r["id"]: r for r in data["requirements"]}
    assert by_id["ROBUSTNESS-MEMORY-BOUNDED"]["figures"]["rss_growth_mib"] == 19.7
    assert by_id["CORE-SPEC-ECHO"]["figures"] == {}
    page = markdown(summary)
    assert "## Figures" in page
    assert "| `ROBUSTNESS-HOSTILE-REQUESTS` | calls 15, worst_latency_s 2.25 |" in page
    assert "rss_growth_mib 19.7" in html_page(summary)
    assert "ROBUSTNESS-MEMORY-BOUNDED: calls 2200, rss_growth_mib 19.7" in terminal_lines(summary)
    # A run without figures has no such section.
    assert "Figures" not in markdown(summary_of(passing("core"), requested=("core",)))


def test_a_json_report_reads_back_as_the_same_typed_report() -> None:
    # api.certify returns the typed Report read from the JSON: every nested type comes back.
    reports = [
        make_report("a", "CORE-ECHO-STRING", "failed", failed_as="call", longrepr="bad"),
        make_report("b", "CORE-SPEC-ECHO", "failed", failed_as="call", longrepr="worse"),
    ]
    detail = {"test": "a", "message": "bad", "request": "req()", "rerun": "conformance ..."}
    reports[0].user_properties.append((PROPERTY_DETAIL, json.dumps(detail)))
    incident = Incident("core", "CORE-ECHO-STRING", "a", "stopped serving", "req()", True)
    results = Results()
    for report in reports:
        results.add(report)
    options = RunOptions(
        server_cmd="srv {address}", expected_failures=frozenset({"CORE-SPEC-ECHO"})
    )
    summary = results.summarize(
        context(seed=3), options, 1, [ServerExit("core", 3, "tail")], server_incidents=[incident]
    )
    assert summary.failed == ["CORE-ECHO-STRING"] and summary.expected_failures
    again = Report.from_json(json.loads(json.dumps(summary.to_json())))
    assert again == summary
    assert outcome_of(again, "CORE-ECHO-STRING") is RequirementOutcome.FAILED
    assert again.requirements[0].outcome is RequirementOutcome.NOT_RUN
    failure = next(r for r in again.requirements if r.id == "CORE-ECHO-STRING").failures[0]
    assert failure.message == "bad" and failure.request == "req()" and failure.call is None
    assert again.profiles["core"].verdict is Verdict.FAILED
    assert again.server_incidents == [incident] and again.result is RunResult.NOT_CONFORMANT
