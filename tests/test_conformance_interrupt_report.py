"""An interrupt that lands on an instruction without a line number is still reported as an
interruption (exit status 2), not as pytest's own crash (status 1).

Seen once under load: SIGTERM arrived while hypothesis was loading a file, the traceback held
a frame whose ``tb_lineno`` is None, and pytest's ``pytest_keyboard_interrupt`` report raised
TypeError. The plugin drops such entries before pytest formats the traceback.
"""

from __future__ import annotations

import sys
import types

import pytest

from conformance._active import has_line_number


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
