"""--no-shrink: a failing property reports the example it first failed on, not a minimised one.

Minimising a failing request is the default (a small reproduction is the point of a report);
the flag trades it for a faster verdict, which the harness's own mutant runs use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import build
from conformance.verify import hypo

LIMIT = 1000  # the property fails from here on; the minimal failing example is LIMIT itself


@pytest.fixture(autouse=True)
def _default_mode() -> Iterator[None]:
    yield
    hypo.reset()


def _reported_example(*, shrink: bool) -> int:
    """Run a property that fails for every integer >= LIMIT; hypothesis replays the example it
    reports last, so the last value seen is the reported one."""
    hypo.configure(None, False, shrink=shrink)
    seen: list[int] = []

    @hypo.examples(50)
    @given(st.integers(min_value=0, max_value=10**9))
    def prop(value: int) -> None:
        seen.append(value)
        assert value < LIMIT

    with pytest.raises(AssertionError):
        prop()
    return seen[-1]


def test_a_failing_example_is_minimised_by_default() -> None:
    assert _reported_example(shrink=True) == LIMIT


def test_no_shrink_reports_the_example_as_found() -> None:
    reported = _reported_example(shrink=False)
    assert reported >= LIMIT
    assert reported != LIMIT  # derandomized: the first failing draw is far above the limit


def test_the_option_reaches_the_run_options() -> None:
    command = "server --address {address}"
    assert build({"server_cmd": command, "no_shrink": True}).no_shrink
    assert not build({"server_cmd": command}).no_shrink
