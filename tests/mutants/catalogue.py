"""The mutant table: every deliberately broken server, what it breaks and what must catch it.

A mutant is registered with ``@mutant(...)`` over the function that breaks the reference
server: ``install(args, behaviour)``, called once in serve.py before the server starts, with the
server's arguments and the ``Behaviour`` the server will run with (see seams.py). Its entry says:

* ``description``  the one rule it breaks, in a line;
* ``trips``        the requirement IDs the harness must report as failed against it;
* ``profiles``     the narrowest profiles whose checks cover those IDs;
* ``missed``       set when the harness is known not to catch it: the reason (the test is a
                   strict xfail, so a harness that starts catching it is noticed);
* ``harness_args`` extra options for the harness run (e.g. a short --run-timeout);
* ``says``         texts the harness's output must contain (how it explains the failure);
* ``waits``        set when its run mostly waits out one of the harness's deadlines (it
                   hangs): tests/test_mutants.py starts such runs together, in the background.

``CONTROLS`` are the unbroken servers the same script serves (``none``: the reference server
as is; ``tls-front``: the same behind the Python TLS terminator the TLS mutants use).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from conformance.catalogue import PROFILES
from reference_server.behaviour import Behaviour

Install = Callable[[argparse.Namespace, Behaviour], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    trips: tuple[str, ...]
    profiles: tuple[str, ...]
    install: Install
    missed: str | None = None
    harness_args: tuple[str, ...] = ()
    says: tuple[str, ...] = ()
    waits: bool = False


_REGISTRY: dict[str, Mutant] = {}
# The controls, then the mutant modules the profiles' declarations name (Profile.mutants).
_MODULES = (
    "mutants.controls",
    *dict.fromkeys(f"mutants.{module}" for p in PROFILES for module in p.mutants),
)
CONTROL_NAMES = ("none", "tls-front")


def mutant(
    name: str,
    description: str,
    *,
    trips: tuple[str, ...] = (),
    profiles: tuple[str, ...] = ("core",),
    missed: str | None = None,
    harness_args: tuple[str, ...] = (),
    says: tuple[str, ...] = (),
    waits: bool = False,
) -> Callable[[Install], Install]:
    """Register the decorated function as the mutant ``name``."""

    def register(install: Install) -> Install:
        if name in _REGISTRY:
            raise ValueError(f"mutant {name!r} registered twice")
        _REGISTRY[name] = Mutant(
            name, description, trips, profiles, install, missed, harness_args, says, waits
        )
        return install

    return register


def everything() -> dict[str, Mutant]:
    """Controls and mutants by name, in registration order."""
    for module in _MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def mutants() -> list[Mutant]:
    return [m for m in everything().values() if m.name not in CONTROL_NAMES]


def controls() -> list[Mutant]:
    return [m for m in everything().values() if m.name in CONTROL_NAMES]
