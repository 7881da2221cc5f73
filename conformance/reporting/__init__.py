"""Reporting a run: requirement outcomes and profile verdicts as typed data (Report), the JSON
report with its published schema (report.schema.json, ``schema()``), the terminal summary, the
certificate, and runnable reproductions of failing requests (repro)."""

from conformance.reporting import _repro as repro
from conformance.reporting._certificate import html_page, markdown
from conformance.reporting._certificate import write as write_certificate
from conformance.reporting._outcomes import (
    NOT_APPLICABLE,
    PROPERTY_DETAIL,
    PROPERTY_FAILED,
    PROPERTY_FIGURES,
    PROPERTY_ID,
    SCHEMA_VERSION,
    Environment,
    FailureDetail,
    HypothesisRun,
    ProfileReport,
    Report,
    RequirementOutcome,
    RequirementReport,
    Results,
    RunResult,
    Suite,
    Verdict,
    failure_block,
    failure_message,
    incident_line,
    schema,
    terminal_lines,
    timeout_line,
    write_json,
)

__all__ = [
    "NOT_APPLICABLE",
    "PROPERTY_DETAIL",
    "PROPERTY_FAILED",
    "PROPERTY_FIGURES",
    "PROPERTY_ID",
    "SCHEMA_VERSION",
    "Environment",
    "FailureDetail",
    "HypothesisRun",
    "ProfileReport",
    "Report",
    "RequirementOutcome",
    "RequirementReport",
    "Results",
    "RunResult",
    "Suite",
    "Verdict",
    "failure_block",
    "failure_message",
    "html_page",
    "incident_line",
    "markdown",
    "repro",
    "schema",
    "terminal_lines",
    "timeout_line",
    "write_certificate",
    "write_json",
]
