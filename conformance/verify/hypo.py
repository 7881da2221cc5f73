"""Hypothesis settings for the suites: derandomized gating runs, seeded exploration.

Gating (the default): derandomized, a fixed number of examples per property, no example
database, so that a failure reproduces and an expectation file keeps its meaning. ``--thorough``
multiplies the examples and explores with a seed (given with ``--seed`` or chosen and reported).
No deadline: every example crosses the network.

The plugin calls ``configure`` before the suites are collected; the suites decorate their
properties with ``examples(n)``, which reads it at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as fixed_seed
from hypothesis.configuration import set_hypothesis_home_dir

THOROUGH_FACTOR = 10

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Exploration:
    seed: int | None = None  # None: derandomized
    thorough: bool = False
    shrink: bool = True  # False (--no-shrink): a failing example is reported as found


_mode = Exploration()


def configure(
    seed: int | None, thorough: bool, home: str | None = None, *, shrink: bool = True
) -> None:
    """Set the mode; ``home``: where hypothesis keeps its files (else ./.hypothesis of the
    caller's folder, which a certification run should leave alone)."""
    global _mode
    _mode = Exploration(seed=seed, thorough=thorough, shrink=shrink)
    set_hypothesis_home_dir(home)


def reset() -> None:
    configure(None, False, None)


def current() -> Exploration:
    return _mode


def examples(count: int, *, shrink: bool = True) -> Callable[[F], F]:
    """Settings for one property: ``count`` examples in gating runs (x10 when thorough).

    ``shrink=False`` for properties whose every example is many calls (concurrency): shrinking
    them takes minutes, and the test reports the one call that went wrong anyway.
    """
    mode = _mode
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if shrink and mode.shrink:
        phases.append(Phase.shrink)
    chosen = settings(
        max_examples=count * THOROUGH_FACTOR if mode.thorough else count,
        derandomize=mode.seed is None,
        database=None,
        deadline=None,
        print_blob=True,
        # Shrinking is kept (a minimal failing request is the point); explaining is dropped:
        # it re-runs examples against a server for little gain.
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    def decorate(test: F) -> F:
        decorated = chosen(test)
        if mode.seed is not None:
            decorated = fixed_seed(mode.seed)(decorated)
        return decorated

    return decorate


__all__ = [
    "THOROUGH_FACTOR",
    "Exploration",
    "configure",
    "current",
    "examples",
    "reset",
]
