"""Explicit examples of the classes a requirement's sentence names (catalogue.NAMED).

A suite declares, per requirement, its explicit examples and the (field, class) cells each
one sends, then applies them: to a hypothesis property (``examples``: one ``@example`` each,
so every gating run sends them whatever it draws) or to a fixed test (``parametrize``: one
``pytest.param`` each). tests/test_conformance_named.py reads the declarations beside the
sentences: every cell the sentence names must be declared, and every declared example must
really be of the classes it claims (a classifier of its own looks at the values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import example

from conformance.catalogue import Cell

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Case:
    covers: frozenset[Cell]
    arguments: dict[str, Any]
    id: str


@dataclass
class Explicit:
    """One requirement's explicit examples. ``covers`` of a case: cells (field, class), or
    bare class names for a sentence that names no field."""

    requirement: str
    cases: list[Case] = field(default_factory=list)
    applied_to: list[tuple[str, str]] = field(default_factory=list)  # (module, test) sending them

    def __post_init__(self) -> None:
        DECLARED.setdefault(self.requirement, []).append(self)

    def case(self, covers: list[Cell | str], id: str = "", **arguments: Any) -> None:
        cells = frozenset(c if isinstance(c, tuple) else ("", c) for c in covers)
        self.cases.append(Case(cells, arguments, id or f"case{len(self.cases)}"))

    def examples(self, test: F) -> F:
        """Every case as an ``@example`` of the property ``test`` (put it below ``@given``)."""
        for case in reversed(self.cases):  # @example rows run in the order written
            test = example(**case.arguments)(test)
        self.applied_to.append((test.__module__, test.__name__))
        return test

    def parametrize(self, *names: str) -> Callable[[F], F]:
        """Every case as a ``pytest.param`` of the arguments ``names`` of a fixed test."""
        params = [pytest.param(*(c.arguments[n] for n in names), id=c.id) for c in self.cases]
        mark = pytest.mark.parametrize(names, params)

        def decorate(test: F) -> F:
            self.applied_to.append((test.__module__, test.__name__))
            return mark(test)

        return decorate


DECLARED: dict[str, list[Explicit]] = {}  # requirement -> its declarations, as imported


__all__ = [
    "DECLARED",
    "Case",
    "Explicit",
]
