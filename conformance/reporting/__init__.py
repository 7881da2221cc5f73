"""Reporting a run: requirement outcomes and profile verdicts as typed data (Report), the JSON
report with its published schema (report.schema.json, ``schema()``), the terminal summary, the
certificate, and runnable reproductions of failing requests (repro)."""

from conformance.reporting import _repro as repro
from conformance.reporting._certificate import html_page, markdown
from conformance.reporting._certificate import write as write_certificate
from conformance.reporting._outcomes import (
    NOT_APPLICABLE,
    PROPERTY_FAILED,
    PROPERTY_FIGURES,
    PROPERTY_ID,
    SCHEMA_VERSION,
    HypothesisRun,
    ProfileReport,
    Report,
    RequirementOutcome,
    RequirementReport,
    Results,
    RunResult,
    ServerExit,
    Suite,
    Verdict,
    figures_text,
    result_line,
    schema,
    summarize,
    terminal_lines,
    timeout_line,
    write_json,
)

__all__ = [
    "NOT_APPLICABLE",
    "PROPERTY_FAILED",
    "PROPERTY_FIGURES",
    "PROPERTY_ID",
    "SCHEMA_VERSION",
    "HypothesisRun",
    "ProfileReport",
    "Report",
    "RequirementOutcome",
    "RequirementReport",
    "Results",
    "RunResult",
    "ServerExit",
    "Suite",
    "Verdict",
    "figures_text",
    "html_page",
    "markdown",
    "repro",
    "result_line",
    "schema",
    "summarize",
    "terminal_lines",
    "timeout_line",
    "write_certificate",
    "write_json",
]
