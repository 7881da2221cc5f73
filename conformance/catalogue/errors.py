"""What the harness raises on purpose, in one tree.

Where a class is also a builtin exception, that is for pytest or a caller's ``except``: a check
that fails raises an AssertionError, so that pytest reports the requirement as failed (exit
status 1), not as an error of the harness::

    Exception
     └── ConformanceError            base of everything below
          ├── HarnessError           the harness cannot run as asked: exit status 2
          │    ├── OptionsError      a bad option value; its message is one line for the user
          │    └── LaunchError       a server under test did not start, or never answered
          ├── HarnessBug             + RuntimeError: the harness broke its own rule
          │    └── LevelError        a MUST check drew an input only SHOULD covers
          ├── OutsideModel           + ValueError: a request whose answer the oracle does not
          │                          know (it names an optional servable); not a failure
          └── CheckFailed            + AssertionError: the implementation under test broke the
               │                     requirement being checked (the test fails)
               ├── ClientCheckFailed the client answered a check wrongly
               └── TesteeFailure     the client's testee program itself failed: died, stalled,
                                     wrote non-JSON or broke the testee protocol

Pure classes: importing this module imports nothing.
"""

from __future__ import annotations

__all__ = [
    "CheckFailed",
    "ClientCheckFailed",
    "ConformanceError",
    "HarnessBug",
    "HarnessError",
    "LaunchError",
    "LevelError",
    "OptionsError",
    "OutsideModel",
    "TesteeFailure",
]


class ConformanceError(Exception):
    """Base of every exception the harness raises on purpose."""


class HarnessError(ConformanceError):
    """The harness cannot run as asked; the conformance command exits with status 2."""


class OptionsError(HarnessError):
    """A bad option value; the message is one line for the user."""


class LaunchError(HarnessError):
    """The harness could not get a server under test running."""


class HarnessBug(ConformanceError, RuntimeError):
    """The harness broke one of its own rules (never the implementation's fault)."""


class LevelError(HarnessBug):
    """A MUST check drew an input whose expected reply only SHOULD asks for."""


class OutsideModel(ConformanceError, ValueError):
    """A request whose answer the model does not know (it names an optional servable)."""


class CheckFailed(ConformanceError, AssertionError):
    """The implementation under test broke the requirement being checked.

    An AssertionError, so that pytest reports a failed check (exit status 1), not an error.
    """

    __test__ = False  # not a pytest test class, whatever its name


class ClientCheckFailed(CheckFailed):
    """The client broke the requirement being checked."""


class TesteeFailure(CheckFailed):
    """The testee itself failed: died, stalled, wrote non-JSON or broke the testee protocol.

    It fails the requirement whose call was running.
    """
