"""An interrupt stops the run wherever it lands. One that lands on an instruction without a line
number is still reported as an interruption (exit status 2), not as pytest's own crash (status
1); one raised inside a finalizer, which Python prints and drops, is raised again between two
tests.

Seen once under load: SIGTERM arrived while hypothesis was loading a file, the traceback held
a frame whose ``tb_lineno`` is None, and pytest's ``pytest_keyboard_interrupt`` report raised
TypeError. The plugin drops such entries before pytest formats the traceback.
"""

from __future__ import annotations

import gc
import signal
import sys
import types

import pytest

from conformance._active import ConformanceRun, has_line_number


def _interrupt_on_an_unlined_instruction() -> pytest.ExceptionInfo[BaseException]:
    def opens() -> types.FrameType:
        with open(__file__, encoding="utf-8"):
            pass
        return sys._getframe()

    frame = opens()
    unlined = [start for start, _, line in frame.f_code.co_lines() if line is None]
    assert unlined, "no instruction without a line number to land on"
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        here = exc.__traceback__
        assert here is not None
        # the interrupt's traceback, as if it had been raised at that instruction
        exc.__traceback__ = types.TracebackType(None, frame, unlined[0], -1)
        exc.__traceback__ = types.TracebackType(exc.__traceback__, here.tb_frame, here.tb_lasti, -1)
        return pytest.ExceptionInfo.from_exception(exc)


def test_pytest_cannot_report_such_an_interrupt_as_it_is() -> None:
    # If this starts passing, pytest has fixed it and the plugin's filter can go.
    with pytest.raises(TypeError):
        _interrupt_on_an_unlined_instruction().getrepr(funcargs=True)


def test_without_the_unlined_entries_it_is_reported() -> None:
    excinfo = _interrupt_on_an_unlined_instruction()
    excinfo.traceback = excinfo.traceback.filter(has_line_number)
    assert len(excinfo.traceback) == 1
    text = str(excinfo.getrepr(funcargs=True))
    assert "KeyboardInterrupt" in text


class _Finalized:
    """Its finalizer runs the harness's SIGTERM handler, as a signal arriving while a channel's
    __del__ runs would: Python prints the KeyboardInterrupt and goes on."""

    def __init__(self, run: ConformanceRun) -> None:
        self.run = run

    def __del__(self) -> None:
        self.run._on_sigterm(signal.SIGTERM, None)


def _bare_run() -> ConformanceRun:
    run = ConformanceRun.__new__(ConformanceRun)  # only the interrupt bookkeeping is used
    run.timer, run.stopped_by = None, None
    run._interrupt_pending = run._interrupt_seen = False
    return run


def test_a_sigterm_swallowed_by_a_finalizer_stops_the_run_at_the_next_test() -> None:
    run = _bare_run()
    run.pytest_runtest_logfinish("before", ("x", None, "x"))  # nothing pending: goes on
    dropped: list[type[BaseException] | None] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: dropped.append(unraisable.exc_type)
    try:
        _Finalized(run)  # dropped at once: the handler's KeyboardInterrupt is lost
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert dropped == [KeyboardInterrupt]
    assert run.stopped_by == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):
        run.pytest_runtest_logfinish("after", ("x", None, "x"))


def test_an_interrupt_pytest_has_seen_is_not_raised_again() -> None:
    run = _bare_run()
    with pytest.raises(KeyboardInterrupt):
        run._on_sigterm(signal.SIGTERM, None)
    excinfo = _interrupt_on_an_unlined_instruction()
    hook = run.pytest_keyboard_interrupt(excinfo)
    next(hook)  # the wrapper's part before pytest's own report
    assert "KeyboardInterrupt" in str(excinfo.getrepr(funcargs=True))  # now reportable
    run.pytest_runtest_logfinish("after", ("x", None, "x"))  # does not raise
