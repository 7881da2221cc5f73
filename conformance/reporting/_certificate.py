"""The human-readable certificate of a run, in Markdown or HTML (chosen by file name).

Its result line never says CONFORMANT for a run that left requirements unchecked (INCOMPLETE)
or that failed; known deviations (expected failures) are listed apart from failures.
"""

from __future__ import annotations

import html
from typing import Any

from conformance.reporting._outcomes import (
    Report,
    RequirementReport,
    figures_text,
    incident_line,
    result_line,
)

_VERDICT_WORDS = {
    "passed": "PASSED",
    "passed-with-expected-failures": "PASSED with expected failures",
    "failed": "FAILED",
    "incomplete": "INCOMPLETE",
    "not-applicable": "not applicable",
    "not-run": "not run",
}


def _facts(summary: Report) -> list[tuple[str, str]]:
    hypo = summary.hypothesis
    seed = "derandomized (gating run)" if hypo.derandomized else f"seed {hypo.seed}"
    subject = summary.subject
    env = summary.environment
    harness = f"grpcio {env.grpc}, Python {env.python}, {env.platform}"
    facts = [
        ("Client" if summary.client_cmd else "Server", f"{summary.mode} {subject}"),
        *(_testee_facts(summary.testee) if summary.client_cmd else []),
        ("Suite", f"{summary.suite.name} {summary.suite.version}"),
        ("Harness environment" if summary.client_cmd else "Environment", harness),
        ("Date", summary.finished_at),
        ("Hypothesis", seed + (", thorough" if hypo.thorough else "")),
        ("Result", result_line(summary)),
    ]
    if summary.expectation_file:
        facts.append(("Expectation file", summary.expectation_file))
    return facts


def _testee_facts(testee: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What was certified, from the testee's hello: the client, its features, and the
    environment it runs in as the testee reports it (not the harness's)."""
    if testee is None:
        return [("Testee", "gave no valid hello")]
    features = ", ".join(testee["features"]) or "none"
    environment = ", ".join(f"{k} {v}" for k, v in testee["environment"].items())
    return [
        ("Testee", f"{testee['client']} (features: {features})"),
        ("Client environment", (environment or "not reported") + " (as the testee reports it)"),
    ]


def _failures(summary: Report) -> list[RequirementReport]:
    failing = ("failed", "unexpected-pass")
    return [r for r in summary.requirements if r.outcome in failing]


def _deviations(summary: Report) -> list[RequirementReport]:
    return [r for r in summary.requirements if r.outcome == "expected-failure"]


def _measured(summary: Report) -> list[RequirementReport]:
    """The requirements whose tests reported figures (calls tried, worst latency, RSS...)."""
    return [r for r in summary.requirements if r.figures]


def _item(r: RequirementReport) -> str:
    return f"`{r.id}` ({r.level}, {r.profile}, {r.outcome}): {r.sentence}"


def _fence(text: str) -> list[str]:
    return ["  ```", *("  " + line for line in text.splitlines()), "  ```"]


def _failure_lines(r: RequirementReport) -> list[str]:
    """A failed requirement in Markdown: the item, then each failing test's message, the
    request that reproduces it and the command that reruns it."""
    lines = [f"- {_item(r)}"]
    for failure in r.failures:
        lines += [f"  - `{failure.test}`:", *_fence(failure.message)]
        if failure.call:
            lines += ["  - the call (replays it to the testee):", *_fence(failure.call)]
        if failure.testee_stderr is not None:
            stderr = failure.testee_stderr or "(empty)"
            lines += ["  - the testee's stderr (tail):", *_fence(stderr)]
        if failure.request:
            lines += ["  - request sent (runnable):", *_fence(failure.request)]
        lines += ["  - rerun:", *_fence(failure.rerun)]
    return lines


def markdown(summary: Report) -> str:
    lines = ["# MindSpore Serving conformance certificate", ""]
    facts = [
        (k, f"{summary.mode} `{summary.subject}`" if k == "Server" else v)
        for k, v in _facts(summary)
    ]
    lines += [f"- **{key}:** {value}" for key, value in facts]
    lines += [
        "",
        "## Profiles",
        "",
        "| profile | verdict | requirements | note |",
        "|---|---|---|---|",
    ]
    for name, profile in summary.profiles.items():
        counts = ", ".join(f"{n} {k}" for k, n in sorted(profile.counts.items()))
        lines.append(
            f"| `{name}` | **{_VERDICT_WORDS[profile.verdict]}** | {counts} | {profile.reason} |"
        )
    measured = _measured(summary)
    if measured:
        lines += ["", "## Figures", "", "| requirement | measured |", "|---|---|"]
        lines += [f"| `{r.id}` | {figures_text(r.figures)} |" for r in measured]
    if summary.server_incidents:
        lines += ["", "## Server incidents", ""]
        lines += [f"- {incident_line(incident)}" for incident in summary.server_incidents]
    failures = _failures(summary)
    lines += ["", "## Failed requirements", ""]
    if not failures:
        lines.append("None.")
    for r in failures:
        lines += _failure_lines(r)
    deviations = _deviations(summary)
    if deviations:
        lines += ["", "## Known deviations (listed as expected failures)", ""]
        lines += [f"- {_item(r)}" for r in deviations]
    if summary.not_run:
        lines += [
            "",
            "## Requirements not run",
            "",
            ", ".join(f"`{i}`" for i in summary.not_run),
        ]
    if summary.profiles_not_requested:
        lines += ["", "## Profiles not requested", ""]
        lines.append(", ".join(f"`{p}`" for p in summary.profiles_not_requested))
    return "\n".join(lines) + "\n"


def html_page(summary: Report) -> str:
    esc = html.escape
    result_class = "passed" if summary.conformant else "failed"
    if summary.result.value == "incomplete":
        result_class = "incomplete"

    def fact(key: str, value: str) -> str:
        if key == "Result":  # coloured as the verdicts are
            return (
                f"<tr class='{result_class}'><th>{esc(key)}</th><td><b>{esc(value)}</b></td></tr>"
            )
        return f"<tr><th>{esc(key)}</th><td>{esc(value)}</td></tr>"

    facts = "".join(fact(k, v) for k, v in _facts(summary))
    rows = "".join(
        f"<tr class='{esc(p.verdict)}'><td><code>{esc(name)}</code></td>"
        f"<td><b>{esc(_VERDICT_WORDS[p.verdict])}</b></td>"
        f"<td>{esc(', '.join(f'{n} {k}' for k, n in sorted(p.counts.items())))}</td>"
        f"<td>{esc(p.reason)}</td></tr>"
        for name, p in summary.profiles.items()
    )

    def details(r: RequirementReport) -> str:
        parts = []
        for failure in r.failures:
            part = f"<p class='test'><code>{esc(failure.test)}</code></p>"
            part += f"<pre class='message'>{esc(failure.message)}</pre>"
            if failure.call:
                part += "<p>the call (replays it to the testee):</p>"
                part += f"<pre class='call'>{esc(failure.call)}</pre>"
            if failure.testee_stderr is not None:
                part += "<p>the testee's stderr (tail):</p>"
                part += f"<pre class='stderr'>{esc(failure.testee_stderr or '(empty)')}</pre>"
            if failure.request:
                part += "<p>request sent (runnable):</p>"
                part += f"<pre class='request'>{esc(failure.request)}</pre>"
            part += f"<p>rerun:</p><pre class='rerun'>{esc(failure.rerun)}</pre>"
            parts.append(part)
        return "".join(parts)

    def items(requirements: list[RequirementReport]) -> str:
        return "".join(
            f"<li id='{esc(r.id)}'><code>{esc(r.id)}</code> ({esc(r.level)}, {esc(r.profile)}, "
            f"{esc(r.outcome)}): {esc(r.sentence)}{details(r)}</li>"
            for r in requirements
        )

    failures = items(_failures(summary))
    deviations = _deviations(summary)
    extra = ""
    measured = _measured(summary)
    if measured:
        figure_rows = "".join(
            f"<tr><td><code>{esc(r.id)}</code></td><td>{esc(figures_text(r.figures))}</td></tr>"
            for r in measured
        )
        extra += (
            "<h2>Figures</h2>\n<table><tr><th>requirement</th><th>measured</th></tr>"
            f"{figure_rows}</table>\n"
        )
    if summary.server_incidents:
        extra += "<h2>Server incidents</h2>\n<ul>"
        extra += "".join(f"<li>{esc(incident_line(i))}</li>" for i in summary.server_incidents)
        extra += "</ul>\n"
    if deviations:
        extra += "<h2>Known deviations (listed as expected failures)</h2>\n"
        extra += f"<ul>{items(deviations)}</ul>\n"
    if summary.not_run:
        codes = ", ".join(f"<code>{esc(i)}</code>" for i in summary.not_run)
        extra += f"<h2>Requirements not run</h2>\n<p>{codes}</p>\n"
    if summary.profiles_not_requested:
        codes = ", ".join(f"<code>{esc(p)}</code>" for p in summary.profiles_not_requested)
        extra += f"<h2>Profiles not requested</h2>\n<p class='not-requested'>{codes}</p>\n"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>MindSpore Serving conformance certificate</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;"
        "text-align:left}pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;word-break:break-all}"
        ".passed b,.passed-with-expected-failures b{color:#070}.failed b{color:#b00}"
        ".incomplete b,.not-run b{color:#a60}.not-applicable b{color:#666}"
        "</style></head><body>\n<h1>MindSpore Serving conformance certificate</h1>\n"
        f"<table>{facts}</table>\n<h2>Profiles</h2>\n<table><tr><th>profile</th><th>verdict</th>"
        f"<th>requirements</th><th>note</th></tr>{rows}</table>\n<h2>Failed requirements</h2>\n"
        + (f"<ul>{failures}</ul>" if failures else "<p>None.</p>")
        + "\n"
        + extra
        + "</body></html>\n"
    )


def write(summary: Report, path: str) -> None:
    text = html_page(summary) if path.lower().endswith((".html", ".htm")) else markdown(summary)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


__all__ = [
    "html_page",
    "markdown",
    "write",
]
