"""The client suite catches broken clients.

Every mutant of tests/client_mutants (the reference client's testee with one rule broken) is
certified on the requirements its entry names, each of which must fail; the same script unbroken
(``none``) must pass every client requirement, so the failures come from the mutations. The
meta-test requires every MUST client requirement to be tripped by some mutant.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from client_mutants.catalogue import MUTANTS, ClientMutant

from conformance.clients.catalogue import CLIENT_BY_ID, CLIENT_REQUIREMENTS
from conformance.clients.runner import run

TESTEE = Path(__file__).resolve().parent / "client_mutants" / "testee.py"


def command(name: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(TESTEE))} {name}"


def test_control_passes_every_client_requirement() -> None:
    outcomes = run(command("none"))
    assert {o.id for o in outcomes} == set(CLIENT_BY_ID)
    failed = {o.id: o.detail for o in outcomes if o.outcome != "passed"}
    assert failed == {}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_is_caught(mutant: ClientMutant) -> None:
    outcomes = run(command(mutant.name), mutant.trips)
    assert [o.id for o in outcomes] == [r.id for r in CLIENT_REQUIREMENTS if r.id in mutant.trips]
    survived = [o.id for o in outcomes if o.outcome != "failed"]
    assert survived == [], f"{mutant.name} ({mutant.breaks}) was not caught by {survived}"


def test_every_must_client_requirement_is_tripped_by_a_mutant() -> None:
    tripped = {requirement for mutant in MUTANTS for requirement in mutant.trips}
    assert tripped <= set(CLIENT_BY_ID)
    must = {r.id for r in CLIENT_REQUIREMENTS if r.level == "MUST"}
    assert must - tripped == set()
