"""support.ahead.order: the tests marked slow first, the tests of background runs last, each
group in the order it came (pytest-randomly's shuffle), on real collected items."""

from __future__ import annotations

import pytest
from support import ahead

pytest_plugins = ["pytester"]

SOURCE = """
import pytest

def test_a(): pass

@pytest.mark.ahead(lambda: None)
def test_waits_1(): pass

@pytest.mark.slow
def test_slow_1(): pass

def test_b(): pass

@pytest.mark.ahead(lambda: None)
def test_waits_2(): pass

@pytest.mark.slow
def test_slow_2(): pass
"""


def test_slow_first_background_last_each_group_in_its_order(pytester: pytest.Pytester) -> None:
    items = pytester.getitems(SOURCE)
    ahead.order(items)
    assert [item.name for item in items] == [
        "test_slow_1",
        "test_slow_2",
        "test_a",
        "test_b",
        "test_waits_1",
        "test_waits_2",
    ]
