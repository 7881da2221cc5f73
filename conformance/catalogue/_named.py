"""The variant classes a requirement's sentence names, which every gating run must send.

A sentence such as "names are matched exactly (case, surrounding whitespace, ...)" promises
a check of each class it names, for each field it names. A derandomized run of a few drawn
examples reaches some of them by chance, and a gate that depends on the draw is not a gate:
each class named here is sent as an explicit example of its check (conformance.verify.named),
and draws come on top. Every phrase is the sentence's own words, so that the sentence and this
table are read side by side (tests/test_conformance_named.py holds the suites' explicit
examples to it, and each phrase to its sentence).

Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

Cell = tuple[str, str]  # (field, class); the field is "" where the sentence names none


@dataclass(frozen=True)
class Named:
    """Classes a sentence names and the fields it names them for: every class is sent for
    every field (a cell each)."""

    classes: tuple[str, ...]
    fields: tuple[str, ...] = ("",)

    def cells(self) -> frozenset[Cell]:
        return frozenset((field, name) for field in self.fields for name in self.classes)

    def phrases(self) -> tuple[str, ...]:
        return tuple(p for p in (*self.fields, *self.classes) if p)


NAMED: dict[str, tuple[Named, ...]] = {
    "CORE-WIDE-LOOKUP": (
        Named(
            ("case", "surrounding whitespace", "prefixes", "suffixes", "look-alikes"),
            ("servable", "method", "input"),
        ),
        Named(("2**32 + 2", "2**63 and above"), ("versions",)),
    ),
    "CORE-MISSING-INPUT": (
        Named(("the method's first", "a later one"), ("input",)),
        Named(("the first", "a later one"), ("instance",)),
    ),
    "STRICT-TEXT-MISSING-INPUT": (Named(("the method's first", "a later one"), ("input",)),),
    "CORE-ADD-COMMON-SIZE": (
        Named(("not elements", "larger", "smaller", "MS_STRING", "MS_BYTES", "every instance")),
    ),
    "STRICT-TEXT-ADD-COMMON-SIZE": (
        Named(
            (
                "not elements",
                "beside a good instance",
                "alone",
                "the dtype is wrong too",
                "a text input",
            )
        ),
    ),
    "CORE-CONCURRENT-MIXED": (Named(("tens of KiB to a few MiB in flight at once",)),),
}


def cells(requirement: str) -> frozenset[Cell]:
    """Every (field, class) the sentence of ``requirement`` names; empty if none is listed."""
    return frozenset(cell for named in NAMED.get(requirement, ()) for cell in named.cells())


__all__ = [
    "NAMED",
    "Cell",
    "Named",
    "cells",
]
