"""The harness catches broken servers.

Every mutant of tests/mutants (the reference server with one rule broken) is certified by the
harness, started through ``--server-cmd`` as a third-party server would be: the run must end
with exit status 1 and report each requirement the mutant's entry names as failed. The same
script unbroken (the controls) must pass, so the failures come from the mutations: the
reference server as it is (``none``) passes every check of every server profile in
tests/test_conformance_reference.py, and here, through this script, one check of each quick
profile and the whole of the waiting ones; behind the TLS front (``tls-front``), every TLS
check. A meta-test then requires every MUST requirement of the catalogue to be tripped by some
mutant that is caught.

A mutant run keeps only the tests of the requirements it names (the harness's
``--requirement``), which keeps the module within CI's time. The runs of the mutants that hang
(entries marked ``waits``) mostly wait out the harness's deadlines: they start with the session,
in the background (support.ahead), rather than each keeping a worker idle in turn.
"""

from __future__ import annotations

import functools
import json
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from mutants.catalogue import Mutant, controls, everything, mutants
from support import ahead, zygote

from conformance.catalogue import BY_ID, CLIENT_PROFILE_NAMES, PROFILES, REQUIREMENTS, by_profile

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SERVE = TESTS / "mutants" / "serve.py"
SERVER_ARGUMENTS = (
    "--address {address} --certificate {certificate} --private-key {private_key} "
    "--custom-ca {custom_ca} --verify-client {verify_client} "
    "--max-msg-mb-size {max_msg_mb_size} --grace {grace} --device cpu"
)
# One harness run: a few seconds, a minute for those that wait out deadlines; this only bounds a
# harness that hangs, so it leaves a busy machine room.
RUN_TIMEOUT_S = 600.0

# MUST requirements no mutant can trip, each with the reason. Empty: every MUST requirement,
# the purely client-side ones included, has a server that breaks it (see the meta-test).
EXEMPT: dict[str, str] = {}


@dataclass
class Run:
    status: int
    report: dict[str, Any]
    output: str

    def failed(self) -> set[str]:
        return set(self.report.get("failed", []))

    def explain(self) -> str:
        return f"exit status {self.status}; harness output (tail):\n{self.output[-3000:]}"


def server_command(name: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVE))} --mutant {name} " + (
        SERVER_ARGUMENTS
    )


def certify(
    entry: Mutant, profiles: tuple[str, ...], requirements: tuple[str, ...], out: Path
) -> Run:
    """Run the harness against serve.py --mutant NAME: ``profiles``, or only ``requirements``
    (their profiles, as a user rerunning them would; resnet's decided by its probe)."""
    report = out / "report.json"
    argv = ["--server-cmd", server_command(entry.name)]
    if requirements:
        argv += [f"--requirement={requirement}" for requirement in requirements]
    else:
        argv += [f"--profile={profile}" for profile in profiles]
    # Unminimised failing examples: the verdict is the same, minimising costs calls.
    argv += ["--json-report", str(report), "-q", "--no-shrink", *entry.harness_args]
    # A fork of one process that has imported the harness's libraries once (support.zygote).
    pid = zygote.shared().start(argv, out)
    finished = zygote.shared().wait(pid, out, RUN_TIMEOUT_S)
    if finished is None:
        zygote.stop(pid, zygote.STOP_GRACE_S)  # SIGTERM first: the harness stops its servers
        output = (out / "harness-output.txt").read_text(errors="replace")
        pytest.fail(f"the harness ran over {RUN_TIMEOUT_S} s:\n{output[-3000:]}")
    if finished.status is None:
        pytest.fail(f"the harness was killed:\n{finished.output[-3000:]}")
    data = json.loads(report.read_text()) if report.exists() else {}
    return Run(finished.status, data, finished.output)


class NotCaught(AssertionError):
    """The harness did not report what a mutant breaks."""


# A control's run over the long profiles waits too (robustness: floods, stalls).
WAITING_PROFILES = tuple(p.name for p in PROFILES if not p.quick)


def certify_ahead(entry: Mutant, profiles: tuple[str, ...], requirements: tuple[str, ...]) -> Run:
    """``certify`` in a folder of its own: for a run started before its test (support.ahead)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as out:
        return certify(entry, profiles, requirements, Path(out))


def _param(entry: Mutant) -> Any:
    # A known miss is a strict xfail on NotCaught only: a timeout or a broken report still
    # fails, and a harness that starts catching the mutant turns the xfail into a failure.
    marks: list[Any] = []
    if entry.missed:
        marks.append(pytest.mark.xfail(strict=True, raises=NotCaught, reason=entry.missed))
    if entry.waits:  # mostly waits: started with the session, in the background
        run = functools.partial(certify_ahead, entry, entry.profiles, entry.trips)
        marks.append(pytest.mark.ahead.with_args(run))
    return pytest.param(entry, id=entry.name, marks=marks)


def _control_runs() -> list[Any]:
    """Each control over the profiles its mutants use. ``none``, the reference server as it
    is, passes every check of every server profile in tests/test_conformance_reference.py (the
    docs' full certification, same server, same flags): here it passes one check per quick
    profile, so that serve.py is seen to serve it there, and the whole of the profiles whose
    checks wait, started with the session in the background. The others run whole."""
    runs = []
    for control in controls():
        profiles = control.profiles
        waiting = tuple(p for p in profiles if p in WAITING_PROFILES)
        quick = tuple(p for p in profiles if p not in WAITING_PROFILES)
        if waiting:
            run = functools.partial(certify_ahead, control, waiting, ())
            marks = [pytest.mark.ahead.with_args(run)]
            runs.append(pytest.param(control, waiting, (), id=_name(control, waiting), marks=marks))
        if not quick:
            continue
        sample = tuple(by_profile(p)[0].id for p in quick) if control.name == "none" else ()
        name = _name(control, quick) + ("-one-check-each" if sample else "")
        marks = [] if sample else [pytest.mark.slow]  # whole profiles take a while
        runs.append(pytest.param(control, quick, sample, id=name, marks=marks))
    return runs


def _name(control: Mutant, profiles: tuple[str, ...]) -> str:
    return f"{control.name}-{'-'.join(profiles)}"


def run_of(request: pytest.FixtureRequest, make: Callable[[], Run]) -> Run:
    """The test's run: started ahead (its outcome), or made here."""
    if request.node.get_closest_marker(ahead.MARK) is not None:
        return cast(Run, ahead.result(request))
    return make()


@pytest.mark.parametrize("entry", [_param(m) for m in mutants()])
def test_mutant_is_caught(entry: Mutant, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run = run_of(request, lambda: certify(entry, entry.profiles, entry.trips, tmp_path))
    what = f"{entry.name} ({entry.description})"
    if run.status != 1:
        raise NotCaught(f"{what}: expected exit status 1; {run.explain()}")
    missed = [requirement for requirement in entry.trips if requirement not in run.failed()]
    if missed:
        raise NotCaught(
            f"{what}: {missed} not reported as failed (failed: {sorted(run.failed())}); "
            f"{run.explain()}"
        )
    unsaid = [text for text in entry.says if text not in run.output]
    if unsaid:
        raise NotCaught(f"{what}: the output does not say {unsaid}; {run.explain()}")


@pytest.mark.parametrize(("control", "profiles", "requirements"), _control_runs())
def test_control_passes(
    control: Mutant,
    profiles: tuple[str, ...],
    requirements: tuple[str, ...],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run = run_of(request, lambda: certify(control, profiles, requirements, tmp_path))
    assert run.status == 0, f"control {control.name} is not conformant: {run.explain()}"
    assert "Warning:" not in run.output, run.explain()  # a clean run prints no Python warning
    if requirements:
        passed = {r["id"] for r in run.report["requirements"] if r["outcome"] == "passed"}
        assert passed == set(requirements), run.explain()
    else:
        verdicts = {name: p["verdict"] for name, p in run.report["profiles"].items()}
        assert verdicts == dict.fromkeys(profiles, "passed"), verdicts


def test_controls_cover_every_mutant_profile() -> None:
    covered = {profile for control in controls() for profile in control.profiles}
    used = {profile for entry in mutants() for profile in entry.profiles}
    assert used <= covered, f"profiles no control passes: {sorted(used - covered)}"


def test_catalogue_entries_are_sound() -> None:
    for entry in mutants():
        assert entry.trips, f"{entry.name} names no requirement"
        unknown = [r for r in entry.trips if r not in BY_ID]
        assert not unknown, f"{entry.name}: unknown requirement IDs {unknown}"
        outside = [r for r in entry.trips if BY_ID[r].profile not in entry.profiles]
        assert not outside, f"{entry.name}: {outside} are not in profiles {entry.profiles}"
    assert len(everything()) == len(mutants()) + len(controls())


def test_every_must_requirement_is_tripped() -> None:
    """Every MUST server requirement has a mutant that breaks it and is caught (the runs above
    check that each caught mutant's requirements are reported failed); the client-* profiles'
    requirements have their broken clients in tests/test_client_mutants.py."""
    tripped = {r for entry in mutants() if not entry.missed for r in entry.trips}
    musts = {
        req.id
        for req in REQUIREMENTS
        if req.level == "MUST" and req.profile not in CLIENT_PROFILE_NAMES
    }
    untripped = sorted(musts - tripped - set(EXEMPT))
    assert not untripped, f"MUST requirements no caught mutant trips: {untripped}"
    stale = sorted(set(EXEMPT) & tripped)
    assert not stale, f"exempt but tripped after all (drop them from EXEMPT): {stale}"
    assert set(EXEMPT) <= musts, "EXEMPT lists IDs that are not MUST requirements"


def test_serve_refuses_an_unknown_mutant() -> None:
    result = subprocess.run(
        [sys.executable, str(SERVE), "--mutant", "no-such-mutant", "--address", "127.0.0.1:0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown mutant 'no-such-mutant'" in result.stderr
