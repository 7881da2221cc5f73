"""Run client checks without pytest: one outcome per requirement, in catalogue order.

The harness runs the same checks through its suites (for its reports and certificate); this
runner serves the project's own tests (broken clients, the meta-test) and quick local use:
``python -m conformance.clients.runner 'COMMAND' [ID ...]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.clients.catalogue import CLIENT_BY_ID, CLIENT_REQUIREMENTS, ClientRequirement
from conformance.clients.checks import CHECKS
from conformance.clients.session import ClientSession
from conformance.clients.testee import TesteeFailure


@dataclass(frozen=True)
class Outcome:
    id: str
    outcome: str  # "passed", "failed" or "not applicable"
    detail: str
    seconds: float


class NotApplicable(Exception):
    """The testee's hello lacks the feature a requirement needs."""


def applicable(session: ClientSession, requirement: ClientRequirement) -> None:
    """Raise NotApplicable unless the testee declares the requirement's feature.

    A testee that cannot even say hello raises its TesteeFailure: that fails the check.
    """
    if requirement.feature is not None and requirement.feature not in session.pool.hello.features:
        raise NotApplicable(f"the testee does not declare the {requirement.feature!r} feature")


def run_one(session: ClientSession, requirement_id: str) -> Outcome:
    requirement = CLIENT_BY_ID[requirement_id]
    started = time.monotonic()
    try:
        applicable(session, requirement)
        CHECKS[requirement_id](session)
    except NotApplicable as exc:
        return Outcome(requirement_id, "not applicable", str(exc), time.monotonic() - started)
    except AssertionError as exc:  # ClientCheckFailed and TesteeFailure
        detail = str(exc)
        for note in getattr(exc, "__notes__", []):
            detail += "\n" + note
        if not isinstance(exc, TesteeFailure):
            log = session.pool.last_log().strip()
            if log:
                detail += f"\n--- testee stderr (tail) ---\n{log[-2000:]}"
        return Outcome(requirement_id, "failed", detail, time.monotonic() - started)
    return Outcome(requirement_id, "passed", "", time.monotonic() - started)


def run(
    command: str,
    requirement_ids: Iterable[str] | None = None,
    *,
    profiles: Iterable[str] | None = None,
    seed: int | None = None,
    examples: float = 1.0,
) -> list[Outcome]:
    wanted = set(requirement_ids) if requirement_ids is not None else None
    chosen = set(profiles) if profiles is not None else None
    session = ClientSession(command, seed=seed, examples=examples)
    try:
        return [
            run_one(session, r.id)
            for r in CLIENT_REQUIREMENTS
            if (wanted is None or r.id in wanted) and (chosen is None or r.profile in chosen)
        ]
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m conformance.clients.runner 'COMMAND' [REQUIREMENT-ID ...]")
        return 2
    outcomes = run(args[0], args[1:] or None)
    for outcome in outcomes:
        print(f"{outcome.outcome:>14}  {outcome.id}  ({outcome.seconds:.1f} s)")
        if outcome.detail and outcome.outcome == "failed":
            print("    " + outcome.detail.replace("\n", "\n    "))
    return 1 if any(o.outcome == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
