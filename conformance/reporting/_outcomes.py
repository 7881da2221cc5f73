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

import dataclasses
import datetime as dt
import enum
import json
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest

from conformance import __version__
from conformance.catalogue import PROFILES, REQUIREMENTS, Requirement, RunOptions
from conformance.drive import Incident, RunContext, ServerExit

# Of the JSON report; reporting/report.schema.json describes it. 2: ``testee`` (the client's
# hello, with its own environment) and a failure's ``call`` and ``testee_stderr``.
SCHEMA_VERSION = 2
# Skip reasons that start with this are "not applicable", never "passed" nor plain "skipped".
NOT_APPLICABLE = "not applicable: "
# report.user_properties keys, carried from xdist workers to the controller.
PROPERTY_ID = "conformance_requirement"
PROPERTY_FAILED = "conformance_failed"
PROPERTY_DETAIL = "conformance_failure"  # JSON: a FailureDetail's fields
_MESSAGE_LINES = 12  # of a failure's message in the compact block and the reports
# ... and the figures a test measured (name -> number), e.g. the robustness profile's calls
# tried, worst latency, RSS growth. Over a requirement's tests, figures named "...calls" add
# up; the others keep their largest value.
PROPERTY_FIGURES = "conformance_figures"


def merge_figures(into: dict[str, float], figures: dict[str, float]) -> None:
    for name, value in figures.items():
        if name.endswith("calls"):
            into[name] = into.get(name, 0) + value
        else:
            into[name] = max(into.get(name, value), value)


class RequirementOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    EXPECTED_FAILURE = "expected-failure"
    UNEXPECTED_PASS = "unexpected-pass"
    NOT_APPLICABLE = "not-applicable"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"


class Verdict(enum.StrEnum):
    PASSED = "passed"
    PASSED_WITH_EXPECTED_FAILURES = "passed-with-expected-failures"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    NOT_APPLICABLE = "not-applicable"
    NOT_RUN = "not-run"


class RunResult(enum.StrEnum):
    CONFORMANT = "conformant"
    CONFORMANT_WITH_EXPECTED_FAILURES = "conformant-with-expected-failures"
    INCOMPLETE = "incomplete"
    NOT_CONFORMANT = "not-conformant"
    NOT_FINISHED = "not-finished"


_O = RequirementOutcome
FAILING = (_O.FAILED, _O.EXPECTED_FAILURE, _O.UNEXPECTED_PASS)
UNCHECKED = (_O.NOT_RUN, _O.SKIPPED)  # outcomes that leave a requirement unchecked


@dataclass(frozen=True)
class FailureDetail:
    """One failing test of a requirement: what came back against what was expected
    (``message``), what was sent (``request``, runnable, if the test recorded one) and the
    command that checks the requirement again (``rerun``). A client check (``--client-cmd``)
    gives instead of ``request`` the ``call`` that replays it to the testee (None if it sent
    none) and the tail of the testee's stderr (``testee_stderr``)."""

    test: str
    message: str
    request: str | None
    rerun: str
    call: str | None = None
    testee_stderr: str | None = None


@dataclass(frozen=True)
class Environment:
    """Where the run happened: the harness, gRPC, Python, the platform."""

    harness: str
    grpc: str
    python: str
    platform: str


def environment() -> Environment:
    import platform

    import grpc

    return Environment(
        __version__, grpc.__version__, platform.python_version(), platform.platform()
    )


def failure_message(report: pytest.TestReport) -> str:
    """The failure's own message (the first differing field, for the suites' checks), without
    the traceback: at most _MESSAGE_LINES lines."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = str(crash.message) if crash is not None else str(longrepr or "")
    text = text.split("\nRequest (runnable):", 1)[0]  # hypothesis's note: the block has it
    lines = text.strip().splitlines()
    if len(lines) > _MESSAGE_LINES:
        lines = [*lines[:_MESSAGE_LINES], f"... ({len(lines) - _MESSAGE_LINES} more lines: -v)"]
    return "\n".join(lines)


def failure_block(requirement: str, sentence: str, detail: dict[str, Any]) -> str:
    """One failed test as a person reads it: the requirement, what differed, the command that
    reruns it and the request that reproduces it (the traceback only with -v)."""

    def indented(text: str) -> str:
        return "\n".join("    " + line for line in text.splitlines())

    lines = [f"{requirement}: {sentence}", "  failed:", indented(detail["message"])]
    if detail.get("call"):
        lines += ["  the call (replays it to the testee):", indented(detail["call"])]
    if detail.get("testee_stderr") is not None:
        lines += ["  the testee's stderr (tail):", indented(detail["testee_stderr"] or "(empty)")]
    lines += ["  rerun:", "    " + detail["rerun"]]
    if detail.get("request"):
        lines += ["  reproduce (Python):", indented(detail["request"])]
    lines.append("  (the full traceback: -v)")
    return "\n".join(lines)


@dataclass(frozen=True)
class RequirementReport:
    id: str
    level: str
    profile: str
    sentence: str
    outcome: RequirementOutcome
    reason: str
    tests: int
    failed_tests: list[str]
    duration_s: float
    failures: list[FailureDetail] = dataclasses.field(default_factory=list)
    figures: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ProfileReport:
    verdict: Verdict
    reason: str
    counts: dict[str, int]
    failed: list[str]
    expected_failures: list[str]
    unexpected_passes: list[str]
    not_run: list[str]
    duration_s: float


@dataclass(frozen=True)
class HypothesisRun:
    derandomized: bool
    seed: int | None
    thorough: bool


@dataclass(frozen=True)
class Suite:
    name: str
    version: str


@dataclass(frozen=True)
class Report:
    """The run's result; ``to_json`` is the JSON report (reporting/report.schema.json)."""

    suite: Suite
    mode: str
    target: str | None
    server_cmd: str | None
    client_cmd: str | None
    profiles_requested: list[str]
    profiles_explicit: bool
    result: RunResult
    exit_status: int
    run_timed_out: bool
    run_timeout_s: float
    profiles: dict[str, ProfileReport]
    requirements: list[RequirementReport]
    expectation_file: str | None
    servers_exited: list[ServerExit]
    hypothesis: HypothesisRun
    started_at: str
    finished_at: str
    duration_s: float
    environment: Environment  # the harness's
    profiles_not_requested: list[str]
    interrupted_by: str | None = None  # "SIGINT" (Ctrl-C) or "SIGTERM" for an interrupted run
    # Checks after which a launched server no longer served (conformance.drive's supervisor).
    server_incidents: list[Incident] = dataclasses.field(default_factory=list)
    # --client-cmd: the testee's hello (client, features, and the client's own environment as
    # the testee reports it); None in a server run or when the testee gave no valid hello.
    testee: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def conformant(self) -> bool:
        return self.result in (RunResult.CONFORMANT, RunResult.CONFORMANT_WITH_EXPECTED_FAILURES)

    def with_outcome(self, outcome: RequirementOutcome) -> list[str]:
        return [r.id for r in self.requirements if r.outcome is outcome]

    @property
    def failed(self) -> list[str]:
        return self.with_outcome(_O.FAILED)

    @property
    def expected_failures(self) -> list[str]:
        return self.with_outcome(_O.EXPECTED_FAILURE)

    @property
    def unexpected_passes(self) -> list[str]:
        return self.with_outcome(_O.UNEXPECTED_PASS)

    @property
    def not_run(self) -> list[str]:
        return [i for p in self.profiles.values() for i in p.not_run]

    @property
    def subject(self) -> str:
        return self.target or self.client_cmd or str(self.server_cmd)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": self.schema_version}
        data.update(dataclasses.asdict(self))
        data.update(
            conformant=self.conformant,
            failed=self.failed,
            expected_failures=self.expected_failures,
            unexpected_passes=self.unexpected_passes,
            not_run=self.not_run,
        )
        return json.loads(json.dumps(data))  # enums as their strings

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """The Report a JSON report holds (``to_json``'s inverse; the properties it adds, such
        as ``failed``, are computed again)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {name: value for name, value in data.items() if name in fields}
        values.update(
            suite=Suite(**data["suite"]),
            result=RunResult(data["result"]),
            profiles={
                name: ProfileReport(**{**p, "verdict": Verdict(p["verdict"])})
                for name, p in data["profiles"].items()
            },
            requirements=[
                RequirementReport(
                    **{
                        **r,
                        "outcome": RequirementOutcome(r["outcome"]),
                        "failures": [FailureDetail(**f) for f in r["failures"]],
                    }
                )
                for r in data["requirements"]
            ],
            servers_exited=[ServerExit(**s) for s in data["servers_exited"]],
            hypothesis=HypothesisRun(**data["hypothesis"]),
            environment=Environment(**data["environment"]),
            server_incidents=[Incident(**i) for i in data.get("server_incidents", [])],
        )
        return cls(**values)


def schema() -> dict[str, Any]:
    """The published JSON Schema of the JSON report (shipped in the package)."""
    text = resources.files("conformance.reporting").joinpath("report.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def write_json(report: Report, path: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(report.to_json(), file, indent=2)
        file.write("\n")


@dataclass
class _Test:
    requirement: str
    outcome: RequirementOutcome = _O.PASSED  # passed | failed | not-applicable | skipped
    reason: str = ""
    duration_s: float = 0.0
    failures: list[FailureDetail] = dataclasses.field(default_factory=list)
    figures: dict[str, float] = dataclasses.field(default_factory=dict)


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
        # Every phase's report carries the test's properties so far: the figures are taken
        # from its last report only (teardown), which has them all.
        for key, value in report.user_properties if report.when == "teardown" else ():
            if key == PROPERTY_FIGURES and isinstance(value, dict):
                merge_figures(test.figures, value)
        if PROPERTY_FAILED in properties:
            test.outcome = _O.FAILED
            if PROPERTY_DETAIL in properties:
                test.failures.append(FailureDetail(**json.loads(str(properties[PROPERTY_DETAIL]))))
        elif report.skipped and test.outcome is _O.PASSED:
            reason = _skip_reason(report)
            test.outcome = _O.NOT_APPLICABLE if reason.startswith(NOT_APPLICABLE) else _O.SKIPPED
            test.reason = reason.removeprefix(NOT_APPLICABLE)

    def summarize(
        self,
        context: RunContext,
        options: RunOptions,
        exit_status: int,
        servers_exited: list[ServerExit] | None = None,
        *,
        run_timed_out: bool = False,
        interrupted_by: str | None = None,
        server_incidents: list[Incident] | None = None,
    ) -> Report:
        return summarize(
            self,
            context,
            options,
            exit_status,
            servers_exited or [],
            run_timed_out=run_timed_out,
            interrupted_by=interrupted_by,
            server_incidents=server_incidents or [],
        )


def _requirement_outcome(
    req: Requirement, tests: list[_Test], context: RunContext, expected: frozenset[str]
) -> tuple[RequirementOutcome, str]:
    """(outcome, reason) of one requirement."""
    if req.profile not in context.requested:
        return _O.NOT_RUN, "profile not requested"
    if req.profile in context.not_applicable:
        return _O.NOT_APPLICABLE, context.not_applicable[req.profile]
    outcomes = {t.outcome for t in tests}
    listed = req.id in expected
    if _O.FAILED in outcomes:
        return (_O.EXPECTED_FAILURE if listed else _O.FAILED), ""
    if _O.PASSED in outcomes:
        return (_O.UNEXPECTED_PASS if listed else _O.PASSED), ""
    for outcome in (_O.NOT_APPLICABLE, _O.SKIPPED):
        if outcome in outcomes:
            return outcome, next(t.reason for t in tests if t.outcome is outcome)
    return _O.NOT_RUN, "no test ran (deselected)"


def summarize(
    results: Results,
    context: RunContext,
    options: RunOptions,
    exit_status: int,
    servers_exited: list[ServerExit],
    *,
    run_timed_out: bool = False,
    interrupted_by: str | None = None,
    server_incidents: list[Incident] | None = None,
) -> Report:
    """The report. ``exit_status`` is pytest's; the report gives the command's (0, 1 or 2)."""
    exit_status = exit_status if exit_status in (0, 1) else 2
    by_requirement: dict[str, list[_Test]] = defaultdict(list)
    failing_tests: dict[str, list[str]] = defaultdict(list)
    for nodeid, test in results.tests.items():
        by_requirement[test.requirement].append(test)
        if test.outcome is _O.FAILED:
            failing_tests[test.requirement].append(nodeid)
    requirements: list[RequirementReport] = []
    for req in REQUIREMENTS:
        tests = by_requirement.get(req.id, [])
        outcome, reason = _requirement_outcome(req, tests, context, options.expected_failures)
        figures: dict[str, float] = {}
        for test in tests:
            merge_figures(figures, test.figures)
        requirements.append(
            RequirementReport(
                id=req.id,
                level=req.level,
                profile=req.profile,
                sentence=req.sentence,
                outcome=outcome,
                reason=reason,
                tests=len(tests),
                failed_tests=sorted(failing_tests.get(req.id, [])),
                duration_s=round(sum(t.duration_s for t in tests), 3),
                failures=[f for t in tests for f in t.failures],
                figures=figures,
            )
        )
    profiles: dict[str, ProfileReport] = {}
    for profile in PROFILES:
        if profile.name not in context.requested:
            continue
        mine = [r for r in requirements if r.profile == profile.name]
        counts: dict[str, int] = defaultdict(int)
        for r in mine:
            counts[r.outcome.value] += 1
        profiles[profile.name] = ProfileReport(
            verdict=_verdict(profile.name in context.not_applicable, counts),
            reason=context.not_applicable.get(profile.name)
            or context.server_failures.get(profile.name, "").split("\n", 1)[0],
            counts=dict(counts),
            failed=[r.id for r in mine if r.outcome is _O.FAILED],
            expected_failures=[r.id for r in mine if r.outcome is _O.EXPECTED_FAILURE],
            unexpected_passes=[r.id for r in mine if r.outcome is _O.UNEXPECTED_PASS],
            not_run=[r.id for r in mine if r.outcome in UNCHECKED],
            duration_s=round(sum(r.duration_s for r in mine), 3),
        )
    finished = dt.datetime.now(dt.UTC)
    return Report(
        suite=Suite("ms-serving-conformance", __version__),
        mode=context.mode,
        target=options.target,
        server_cmd=options.server_cmd,
        client_cmd=options.client_cmd,
        profiles_requested=list(context.requested),
        profiles_explicit=context.explicit,
        result=_result(exit_status, profiles, requirements),
        exit_status=exit_status,
        run_timed_out=run_timed_out,
        run_timeout_s=options.run_timeout_s,
        profiles=profiles,
        requirements=requirements,
        expectation_file=options.expect_failures_file,
        servers_exited=servers_exited,
        hypothesis=HypothesisRun(context.seed is None, context.seed, context.thorough),
        started_at=results.started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        duration_s=round((finished - results.started).total_seconds(), 3),
        environment=environment(),
        profiles_not_requested=[p.name for p in PROFILES if p.name not in context.requested],
        interrupted_by=interrupted_by,
        server_incidents=list(server_incidents or []),
        testee=context.testee_hello,
    )


def _verdict(not_applicable: bool, counts: dict[str, int]) -> Verdict:
    def some(*outcomes: RequirementOutcome) -> bool:
        return any(counts.get(outcome.value, 0) for outcome in outcomes)

    if not_applicable:
        return Verdict.NOT_APPLICABLE
    if some(_O.FAILED):
        return Verdict.FAILED
    if not some(_O.PASSED, *FAILING):
        return Verdict.NOT_RUN
    if some(*UNCHECKED):
        return Verdict.INCOMPLETE
    if some(_O.EXPECTED_FAILURE):
        return Verdict.PASSED_WITH_EXPECTED_FAILURES
    return Verdict.PASSED


def _result(
    exit_status: int, profiles: dict[str, ProfileReport], requirements: list[RequirementReport]
) -> RunResult:
    if exit_status == 2:
        return RunResult.NOT_FINISHED
    if exit_status == 1:
        return RunResult.NOT_CONFORMANT
    if any(p.verdict in (Verdict.INCOMPLETE, Verdict.NOT_RUN) for p in profiles.values()):
        return RunResult.INCOMPLETE
    if any(r.outcome is _O.EXPECTED_FAILURE for r in requirements):
        return RunResult.CONFORMANT_WITH_EXPECTED_FAILURES
    return RunResult.CONFORMANT


def result_line(report: Report) -> str:
    """The run's result in words, as the certificate and the terminal summary give it."""
    result = report.result
    if result is RunResult.NOT_FINISHED:
        if report.interrupted_by is not None:
            return f"NOT FINISHED: interrupted ({report.interrupted_by})"
        why = " (--run-timeout reached)" if report.run_timed_out else ""
        return f"NOT FINISHED: the harness could not run or complete the run{why}"
    if result is RunResult.NOT_CONFORMANT:
        return "NOT CONFORMANT"
    if result is RunResult.INCOMPLETE:
        count = len(report.not_run)
        return f"INCOMPLETE: {count} requirement{'s' if count != 1 else ''} not run"
    inapplicable = [n for n, p in report.profiles.items() if p.verdict is Verdict.NOT_APPLICABLE]
    scope = "in every requested profile"
    if inapplicable:
        scope = (
            f"in every requested profile that applies (not applicable: {', '.join(inapplicable)})"
        )
    if result is RunResult.CONFORMANT_WITH_EXPECTED_FAILURES:
        return f"CONFORMANT {scope}, with the expected failures listed below"
    return f"CONFORMANT {scope}"


def incident_line(incident: Incident) -> str:
    """One server incident in words (terminal, certificate, the failing check's report)."""
    after = "it was restarted" if incident.restarted else "a restart did not bring it back"
    line = (
        f"server '{incident.server}' stopped serving during {incident.requirement} "
        f"({incident.test}): {incident.what}; {after}"
    )
    if incident.request:  # the request itself, without the snippet's comments and imports
        code = [x.strip() for x in incident.request.splitlines()]
        kept = [x for x in code if x and not x.startswith(("#", "import ", "from "))]
        line += f"; the check's last request: {' '.join(kept or code)[:400]}"
    return line


def timeout_line(seconds: float) -> str:
    return f"the run exceeded --run-timeout ({seconds:g} s) and was stopped (exit status 2)"


def terminal_lines(report: Report) -> list[str]:
    """One line per requested profile, then the failing IDs."""
    lines = []
    for name, profile in report.profiles.items():
        counts = profile.counts
        total = sum(counts.values())
        detail = profile.reason or ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        lines.append(f"{name:<7} {profile.verdict.upper():<15} {total:>3} requirements: {detail}")
    for gone in report.servers_exited:
        last = (gone.output_tail.splitlines() or ["(no output)"])[-1]
        lines.append(f"server '{gone.server}' exited during the run (status {gone.status}): {last}")
    lines += [incident_line(incident) for incident in report.server_incidents]
    if report.run_timed_out:
        lines.append(timeout_line(report.run_timeout_s))
    for ids, label in (
        (report.failed, "FAILED"),
        (report.expected_failures, "expected failures"),
        (report.unexpected_passes, "UNEXPECTED PASSES (listed as expected failures)"),
    ):
        if ids:
            lines.append(f"{label}: {' '.join(ids)}")
    for r in report.requirements:
        if r.figures:
            lines.append(f"{r.id}: {figures_text(r.figures)}")
    lines.append(f"result: {result_line(report)}")
    return lines


def figures_text(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in sorted(figures.items()))


__all__ = [
    "FAILING",
    "NOT_APPLICABLE",
    "PROPERTY_DETAIL",
    "PROPERTY_FAILED",
    "PROPERTY_FIGURES",
    "PROPERTY_ID",
    "SCHEMA_VERSION",
    "UNCHECKED",
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
    "environment",
    "failure_block",
    "failure_message",
    "figures_text",
    "incident_line",
    "merge_figures",
    "result_line",
    "schema",
    "summarize",
    "terminal_lines",
    "timeout_line",
    "write_json",
]
