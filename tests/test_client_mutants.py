"""The client suite catches broken clients.

Every mutant of tests/client_mutants (the reference client's testee with one rule broken) is
certified by the harness (``conformance --client-cmd``) on the requirements its entry names: the
run must exit 1 with each of them failed. The same script unbroken (``none``) must pass every
client profile, so the failures come from the mutations. The meta-test requires every MUST
client requirement to be tripped by some mutant. The runs of the mutants that hang (``waits``)
start with the session, in the background (support.ahead).
"""

from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path
from typing import cast

import pytest
from client_mutants.catalogue import MUTANTS, ClientMutant
from support import ahead, zygote

from conformance.api import Certification
from conformance.catalogue import CLIENT_PROFILE_NAMES
from conformance.verify.clients import CLIENT_BY_ID

TESTEE = Path(__file__).resolve().parent / "client_mutants" / "testee.py"
RUN_TIMEOUT_S = 300.0


def command(name: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(TESTEE))} {name}"


@pytest.mark.slow
def test_control_passes_every_client_profile() -> None:
    done = zygote.certify(client_cmd=command("none"), timeout_s=RUN_TIMEOUT_S)
    assert done.exit_status == 0, done.output[-3000:]
    assert done.verdicts == {p: "passed" for p in CLIENT_PROFILE_NAMES}


def run(mutant: ClientMutant) -> Certification:
    args = [word for i in mutant.trips for word in ("--requirement", i)]
    return zygote.certify(client_cmd=command(mutant.name), args=args, timeout_s=RUN_TIMEOUT_S)


def _param(mutant: ClientMutant) -> object:
    # A run that mostly waits starts with the session, in the background (support.ahead).
    marks = [pytest.mark.ahead.with_args(functools.partial(run, mutant))] if mutant.waits else []
    return pytest.param(mutant, id=mutant.name, marks=marks)


@pytest.mark.parametrize("mutant", [_param(m) for m in MUTANTS])
def test_mutant_is_caught(mutant: ClientMutant, request: pytest.FixtureRequest) -> None:
    done = cast(Certification, ahead.result(request)) if mutant.waits else run(mutant)
    assert done.exit_status == 1, done.output[-3000:]
    survived = [i for i in mutant.trips if done.outcomes.get(i) != "failed"]
    assert survived == [], f"{mutant.name} ({mutant.breaks}) was not caught by {survived}"


def test_every_must_client_requirement_is_tripped_by_a_mutant() -> None:
    tripped = {requirement for mutant in MUTANTS for requirement in mutant.trips}
    assert tripped <= set(CLIENT_BY_ID)
    must = {i for i, r in CLIENT_BY_ID.items() if r.level == "MUST"}
    assert must - tripped == set()
