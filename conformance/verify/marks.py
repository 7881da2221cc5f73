"""How a suite test names its requirement, and how it says "not applicable here"."""

from __future__ import annotations

from typing import NoReturn

import pytest

from conformance.catalogue import BY_ID
from conformance.reporting import NOT_APPLICABLE

MARKER = "conformance_requirement"


def requirement(requirement_id: str) -> pytest.MarkDecorator:
    """Tie a suite test (or one parameter of it) to exactly one catalogue entry."""
    if requirement_id not in BY_ID:
        raise LookupError(f"unknown requirement ID {requirement_id!r}")
    mark: pytest.MarkDecorator = getattr(pytest.mark, MARKER)(requirement_id)
    return mark


def not_applicable(why: str) -> NoReturn:
    pytest.skip(NOT_APPLICABLE + why)


def requirement_of(item: pytest.Item) -> str | None:
    marks = list(item.iter_markers(MARKER))
    if not marks:
        return None
    if len(marks) > 1 or len(marks[0].args) != 1:
        raise pytest.UsageError(f"{item.nodeid}: a suite test names exactly one requirement")
    return str(marks[0].args[0])


__all__ = ["MARKER", "not_applicable", "requirement", "requirement_of"]
