"""The plugin's active part: one object per pytest run that certifies a server.

Lifecycle (the controller, or the only process without xdist):

* configure: check the options, fix the hypothesis mode;
* sessionstart: start the run timer (``--run-timeout``: it interrupts the run as Ctrl-C
  does), start or probe the servers (a failure is a pytest usage error: status 4, which the
  conformance command reports as 2), keep hang marks in the scratch folder
  (conformance.drive.guard);
* collection: only the requested profiles' declared suites (Profile.suites); deselect
  unrequested requirements, mark inapplicable ones;
* each test: fails at setup if its profile's server exited at start (its own message);
* each report: its requirement's outcome; a failure as one compact block (the traceback with
  -v) and its details for the reports; the requirement ID to JUnit as system-out;
* sessionfinish: JSON report, certificate, exit status;
* unconfigure: stop the servers.

An xdist worker receives the run as a dict instead of starting anything, and reports its
results through ``report.user_properties``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import pytest

from conformance._fixtures import CONTEXT
from conformance._handover import WORKER_OPTIONS, command_plugin
from conformance.catalogue import (
    BY_ID,
    OPTIONS,
    PROFILES_BY_NAME,
    LaunchError,
    OptionsError,
    RunOptions,
    build,
)
from conformance.drive import (
    Launched,
    RunContext,
    choose_seed,
    guard,
    make_scratch,
    start,
)
from conformance.reporting import (
    NOT_APPLICABLE,
    PROPERTY_DETAIL,
    PROPERTY_FAILED,
    PROPERTY_FIGURES,
    PROPERTY_ID,
    Report,
    Results,
    failure_block,
    failure_message,
    incident_line,
    repro,
    terminal_lines,
    timeout_line,
    write_certificate,
    write_json,
)
from conformance.verify import hypo
from conformance.verify.marks import requirement_of

_WORKER_KEY = "conformance_context"
_SUITES_PACKAGE = "conformance.suites"
_SUITES_FOLDER = Path(__file__).resolve().parent / "suites"
# Where hypothesis leaves a test's failing examples for its pytest plugin (private to it).
_HYPOTHESIS_FAILING_EXAMPLES = "_hypothesis_failing_examples"


def _harness_error(message: str, config: pytest.Config) -> NoReturn:
    # A usage error: pytest prints it once, stops, unconfigures (stopping any server started)
    # and exits with 4, which the conformance command reports as 2.
    if command_plugin(config) is not None:
        print(f"conformance: error: {message}", file=sys.stderr, flush=True)
        raise pytest.UsageError()  # no arguments: pytest prints nothing more
    raise pytest.UsageError(f"conformance: {message}")


def options_of(config: pytest.Config) -> RunOptions:
    """The run's options, parsed once: the command's as it handed them over, an xdist worker's
    from its controller, else built from this pytest command line's --conformance-* options."""
    command = command_plugin(config)
    plugin_values: dict[str, Any] = {
        o.dest: config.getoption(f"conformance_{o.dest}") for o in OPTIONS
    }
    if command is not None:
        mixed = [o for o in OPTIONS if plugin_values[o.dest] not in (None, False, [])]
        if mixed:  # after `--`: two sources of options, where the command's are the run's
            option = mixed[0]
            raise OptionsError(
                f"{option.plugin_flag} is the plugin's: give the command --{option.name}"
            )
        return command.options
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_OPTIONS in workerinput:
        return RunOptions.from_dict(json.loads(workerinput[WORKER_OPTIONS]))
    return build(plugin_values)


def activate(config: pytest.Config) -> None:
    try:
        options = options_of(config)
    except OptionsError as exc:
        _harness_error(str(exc), config)
    workerinput = getattr(config, "workerinput", None)
    given: RunContext | None = None
    if workerinput is not None and _WORKER_KEY in workerinput:
        # an xdist worker: the controller started everything
        given = RunContext.from_dict(json.loads(workerinput[_WORKER_KEY]))
        seed, scratch = given.seed, given.scratch
    else:
        seed, scratch = choose_seed(options), make_scratch()
    # Before collection: the suites read the hypothesis mode when they are imported.
    hypo.configure(
        seed,
        options.thorough,
        os.path.join(scratch, "hypothesis"),
        shrink=not options.no_shrink,
    )
    run = ConformanceRun(config, options, seed, scratch, given)
    config.pluginmanager.register(run, "conformance-run")
    from conformance import _fixtures

    config.pluginmanager.register(_fixtures, "conformance-fixtures")


def has_line_number(entry: Any) -> bool:
    """False for a traceback entry without a line number: an interrupt (Ctrl-C, SIGTERM,
    --run-timeout) can land on such an instruction (Python 3.11), and pytest's report of the
    interrupt then fails with a TypeError, ending the run with status 1 instead of 2."""
    try:
        entry.lineno  # noqa: B018 (None - 1 raises here)
    except TypeError:
        return False
    return True


class ConformanceRun:
    def __init__(
        self,
        config: pytest.Config,
        options: RunOptions,
        seed: int | None,
        scratch: str,
        worker_context: RunContext | None,
    ) -> None:
        self.config = config
        self.options = options
        self.seed = seed
        self.scratch = scratch
        self.is_worker = worker_context is not None
        self.context = worker_context
        self.launched: Launched | None = None
        self.results = Results()
        self.summary: Report | None = None
        self.timer: guard.RunTimer | None = None
        self.write_errors: list[str] = []
        self.stopped_by: str | None = None  # "SIGTERM" once a SIGTERM interrupted the run
        # An interrupt raised but not yet seen by pytest (pytest_keyboard_interrupt clears it).
        self._interrupt_pending = False
        self._interrupt_seen = False  # pytest has handled an interrupt (SIGTERM, SIGINT, timer)
        self._previous_term: Any = None

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # SIGTERM unwinds like Ctrl-C (the servers stopped, the reports written), reported as
        # itself.
        self.stopped_by = "SIGTERM"
        self._interrupt_pending = True
        raise KeyboardInterrupt

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        # The signal's KeyboardInterrupt lands wherever the main thread is: inside a finalizer
        # (a channel's __del__) Python prints it and goes on, and the run would finish as if
        # never interrupted. Raised again here, between two tests, it stops the run.
        expired = self.timer is not None and self.timer.expired.is_set()
        if self._interrupt_pending or (expired and not self._interrupt_seen):
            self._interrupt_pending = True
            raise KeyboardInterrupt

    def _say(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"conformance: {line}")

    # -- start ---------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.is_worker:
            if threading.current_thread() is threading.main_thread():
                self._previous_term = signal.signal(signal.SIGTERM, self._on_sigterm)
            self.timer = guard.RunTimer(self.options.run_timeout_s)
            self.timer.start()
            try:
                self.context, self.launched = start(
                    self.options, self.seed, self.scratch, self._say
                )
            except (LaunchError, OptionsError) as exc:
                _harness_error(str(exc), self.config)
        assert self.context is not None
        self.config.stash[CONTEXT] = self.context
        guard.configure(self.scratch)  # after start(): the probes there mark nothing

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: hand the run to each worker (the servers are the controller's)."""
        assert self.context is not None
        node.workerinput[_WORKER_KEY] = json.dumps(self.context.to_dict())
        node.workerinput[WORKER_OPTIONS] = json.dumps(self.options.to_dict())

    # -- collection ----------------------------------------------------------------------------
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """A suite module is collected only when a requested profile declares it: a profile's
        declaration, not the suites folder, says what runs."""
        if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
            return None
        if collection_path.resolve().parent != _SUITES_FOLDER:
            return None
        assert self.context is not None
        declared = {s for name in self.context.requested for s in PROFILES_BY_NAME[name].suites}
        return True if collection_path.stem not in declared else None

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        context = self.context
        assert context is not None
        kept, dropped = [], []
        for item in items:
            requirement_id = requirement_of(item)
            if requirement_id is None:
                module = getattr(item, "module", None)
                if module is not None and module.__name__.startswith(_SUITES_PACKAGE):
                    raise pytest.UsageError(f"{item.nodeid}: suite test without a requirement")
                kept.append(item)
                continue
            profile = BY_ID[requirement_id].profile
            selected = not self.options.requirements or requirement_id in self.options.requirements
            if profile not in context.requested or not selected:
                dropped.append(item)
                continue
            item.user_properties.append((PROPERTY_ID, requirement_id))
            if profile in context.not_applicable:
                reason = NOT_APPLICABLE + context.not_applicable[profile]
                item.add_marker(pytest.mark.skip(reason=reason))
            kept.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    # -- running -------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        repro.clear()
        requirement_id = dict(item.user_properties).get(PROPERTY_ID)
        assert self.context is not None
        if requirement_id is not None:
            why = self.context.server_failures.get(BY_ID[str(requirement_id)].profile)
            if why is not None:  # its server exited with its own message: a failure (exit 1)
                pytest.fail(why, pytrace=False)
            supervisor = self.context.supervisor()
            for server in self._servers_of(str(requirement_id)):
                gone = supervisor.given_up(server)
                if gone is not None:  # it stopped serving and a restart did not bring it back
                    pytest.fail(gone, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        # hypothesis's plugin would write a patch adding each failing example to the suite's
        # source, importing libcst to do so (~1 s of CPU per failing run): the suites are the
        # harness's, not its user's to patch, and the report carries the failing request.
        item.__dict__.pop(_HYPOTHESIS_FAILING_EXAMPLES, None)
        report: pytest.TestReport = yield
        requirement_id = dict(item.user_properties).get(PROPERTY_ID)
        if requirement_id is not None and report.when == "call" and not report.skipped:
            self._supervise(str(requirement_id), report)
        if requirement_id is None or not report.failed:
            return report
        report.user_properties.append((PROPERTY_FAILED, report.when))
        assert self.context is not None
        snippet = repro.last_snippet(self.context.server_commands)
        message = failure_message(report)
        rerun = self.options.rerun_command(str(requirement_id), self.seed)
        detail = {"test": report.nodeid, "message": message, "request": snippet, "rerun": rerun}
        detail.update(repro.client_failure())  # a client check's call and testee stderr
        report.user_properties.append((PROPERTY_DETAIL, json.dumps(detail)))
        if self.config.get_verbosity() > 0:
            if snippet is not None:
                report.sections.append((f"conformance {requirement_id}: reproduce", snippet))
        else:  # one compact block; the traceback (and the harness's source) behind -v
            sentence = BY_ID[str(requirement_id)].sentence
            report.longrepr = failure_block(str(requirement_id), sentence, detail)
        if requirement_id in self.options.expected_failures:
            # Listed in the expectation file: reported as xfailed, aggregated as a failure.
            report.outcome = "skipped"
            report.wasxfail = f"{requirement_id} is listed as an expected failure"
        return report

    def _servers_of(self, requirement_id: str) -> list[str]:
        assert self.context is not None
        profile = PROFILES_BY_NAME[BY_ID[requirement_id].profile]
        names = dict.fromkeys(spec.server_name for spec in profile.endpoints)
        return [n for n in names if n in self.context.supervised]

    def _supervise(self, requirement_id: str, report: pytest.TestReport) -> None:
        """After a check: each server it used must still serve; one that does not fails this
        check (not the next ones), is named once in the report, and is started again."""
        assert self.context is not None
        servers = self._servers_of(requirement_id)
        if not servers:
            return
        snippet = repro.last_snippet(self.context.server_commands)
        supervisor = self.context.supervisor()
        for incident in supervisor.check(servers, requirement_id, report.nodeid, snippet):
            line = incident_line(incident)
            if report.passed:
                report.outcome = "failed"
                report.longrepr = line
            else:
                report.sections.append(("conformance: server incident", line))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        self.results.add(report)
        # The requirement goes to JUnit as system-out, not as testcase <properties> (which
        # the common JUnit schema does not allow there); CI systems show system-out.
        ours = (PROPERTY_ID, PROPERTY_FAILED, PROPERTY_DETAIL, PROPERTY_FIGURES)
        requirement_id = dict(report.user_properties).get(PROPERTY_ID)
        report.user_properties[:] = [p for p in report.user_properties if p[0] not in ours]
        if requirement_id is not None and report.when == "teardown":  # after any <failure>
            self._junit_note(report, f"conformance requirement: {requirement_id}")

    def _junit_note(self, report: pytest.TestReport, text: str) -> None:
        import xml.etree.ElementTree as ET

        from _pytest.junitxml import xml_key

        junit = self.config.stash.get(xml_key, None)
        if junit is not None:
            node = ET.Element("system-out")
            node.text = text
            junit.node_reporter(report).append(node)

    # -- finish --------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or self.context is None:
            return
        if self.timer is not None:
            self.timer.cancel()
        status = int(exitstatus)
        exited = self.launched.exited() if self.launched is not None else []
        timed_out = self._timed_out()
        preliminary = self.results.summarize(self.context, self.options, status, exited)
        if preliminary.unexpected_passes and status == 0:
            status = 1
            session.exitstatus = status
        interrupted = status == pytest.ExitCode.INTERRUPTED and not timed_out
        self.summary = self.results.summarize(
            self.context,
            self.options,
            status,
            exited,
            run_timed_out=timed_out,
            interrupted_by=(self.stopped_by or "SIGINT") if interrupted else None,
            server_incidents=self.context.supervisor().incidents(),
        )
        for label, path, writer in (
            ("JSON report", self.options.json_report, write_json),
            ("certificate", self.options.certificate, write_certificate),
        ):
            if not path:
                continue
            try:
                writer(self.summary, path)
            except OSError as exc:  # checked writable at the start; something changed since
                self.write_errors.append(f"could not write the {label} {path}: {exc.strerror}")
        if self.write_errors and session.exitstatus in (0, 1):
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR  # the command reports 2

    def _timed_out(self) -> bool:
        return self.timer is not None and self.timer.expired.is_set()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is None:
            if self._timed_out():
                terminalreporter.section("conformance")
                terminalreporter.write_line(timeout_line(self.options.run_timeout_s))
            return
        terminalreporter.section("conformance")
        for line in terminal_lines(self.summary):
            terminalreporter.write_line(line)
        for option, path in (
            ("JSON report", self.options.json_report),
            ("certificate", self.options.certificate),
        ):
            if path and not any(path in error for error in self.write_errors):
                terminalreporter.write_line(f"{option}: {path}")
        for error in self.write_errors:
            terminalreporter.write_line(f"ERROR: {error}", red=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_keyboard_interrupt(
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> Generator[None, None, None]:
        self._interrupt_pending, self._interrupt_seen = False, True
        excinfo.traceback = excinfo.traceback.filter(has_line_number)
        return (yield)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._previous_term is not None:
            signal.signal(signal.SIGTERM, self._previous_term)
            self._previous_term = None
        if self.timer is not None:
            self.timer.cancel()
        guard.configure(None)
        if self.launched is not None:
            self.launched.stop()
            self.launched = None
        elif not self.is_worker:
            shutil.rmtree(self.scratch, ignore_errors=True)  # start() never ran
        hypo.reset()


__all__ = [
    "ConformanceRun",
    "activate",
    "options_of",
]
