"""The human-readable certificate of a run, in Markdown or HTML (chosen by file name)."""

from __future__ import annotations

import html
import os
from typing import Any

_VERDICT_WORDS = {
    "passed": "PASSED",
    "failed": "FAILED",
    "not-applicable": "not applicable",
    "not-run": "not run",
}


def _overall(summary: dict[str, Any]) -> str:
    if summary["conformant"]:
        if summary["expected_failures"]:
            return "CONFORMANT, with expected failures listed below"
        return "CONFORMANT in every requested profile"
    return "NOT CONFORMANT"


def _facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    hypo = summary["hypothesis"]
    seed = "derandomized (gating run)" if hypo["derandomized"] else f"seed {hypo['seed']}"
    subject = summary["target"] or summary["server_cmd"]
    facts = [
        ("Server", f"{summary['mode']} `{subject}`"),
        ("Suite", f"{summary['suite']['name']} {summary['suite']['version']}"),
        ("Date", summary["finished_at"]),
        ("Hypothesis", seed + (", thorough" if hypo["thorough"] else "")),
        ("Result", _overall(summary)),
    ]
    if summary["expectation_file"]:
        facts.append(("Expectation file", summary["expectation_file"]))
    return facts


def _failures(summary: dict[str, Any]) -> list[dict[str, Any]]:
    failing = ("failed", "expected-failure", "unexpected-pass")
    return [r for r in summary["requirements"] if r["outcome"] in failing]


def markdown(summary: dict[str, Any]) -> str:
    lines = ["# MindSpore Serving conformance certificate", ""]
    lines += [f"- **{key}:** {value}" for key, value in _facts(summary)]
    lines += [
        "",
        "## Profiles",
        "",
        "| profile | verdict | requirements | note |",
        "|---|---|---|---|",
    ]
    for name, profile in summary["profiles"].items():
        counts = ", ".join(f"{n} {k}" for k, n in sorted(profile["counts"].items()))
        lines.append(
            f"| `{name}` | **{_VERDICT_WORDS[profile['verdict']]}** | {counts} | "
            f"{profile['reason']} |"
        )
    failures = _failures(summary)
    lines += ["", "## Failed requirements", ""]
    if not failures:
        lines.append("None.")
    for r in failures:
        lines.append(
            f"- `{r['id']}` ({r['level']}, {r['profile']}, {r['outcome']}): {r['sentence']}"
        )
    return "\n".join(lines) + "\n"


def html_page(summary: dict[str, Any]) -> str:
    esc = html.escape
    facts = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v.replace('`', ''))}</td></tr>" for k, v in _facts(summary)
    )
    rows = "".join(
        f"<tr class='{esc(p['verdict'])}'><td><code>{esc(name)}</code></td>"
        f"<td><b>{esc(_VERDICT_WORDS[p['verdict']])}</b></td>"
        f"<td>{esc(', '.join(f'{n} {k}' for k, n in sorted(p['counts'].items())))}</td>"
        f"<td>{esc(p['reason'])}</td></tr>"
        for name, p in summary["profiles"].items()
    )
    failures = "".join(
        f"<li><code>{esc(r['id'])}</code> ({esc(r['level'])}, {esc(r['profile'])}, "
        f"{esc(r['outcome'])}): {esc(r['sentence'])}</li>"
        for r in _failures(summary)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>MindSpore Serving conformance certificate</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;"
        "text-align:left}.passed b{color:#070}.failed b{color:#b00}"
        "</style></head><body>\n<h1>MindSpore Serving conformance certificate</h1>\n"
        f"<table>{facts}</table>\n<h2>Profiles</h2>\n<table><tr><th>profile</th><th>verdict</th>"
        f"<th>requirements</th><th>note</th></tr>{rows}</table>\n<h2>Failed requirements</h2>\n"
        + (f"<ul>{failures}</ul>" if failures else "<p>None.</p>")
        + "\n</body></html>\n"
    )


def write(summary: dict[str, Any], path: str) -> None:
    text = html_page(summary) if path.lower().endswith((".html", ".htm")) else markdown(summary)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
