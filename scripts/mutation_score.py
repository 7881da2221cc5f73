"""The conformance harness's mutation score over the reference server's protocol logic.

A benchmark, not a CI test (minutes to hours): cosmic-ray mutates the target modules one
mutation at a time, and each mutant is certified by the conformance command line in
``--server-cmd`` mode. Exit status 0 means the harness certified the broken server (the mutant
SURVIVED); any other status, or no answer within ``--timeout`` seconds (a hung server), means it
was KILLED.

    python3 scripts/mutation_score.py --sample 40 --seed 1        # a random sample
    python3 scripts/mutation_score.py --all                        # every mutant
    python3 scripts/mutation_score.py --list                       # count and stop

Steps: copy the tree to a temporary directory (cosmic-ray edits files IN PLACE, so it never runs
on a checkout), run the unmutated harness once (it must pass; its time sets the default
timeout), write the cosmic-ray config, ``cosmic-ray init``, mark the mutants that are equivalent
by construction as skipped (see ``equivalent_by_construction``), optionally keep a seeded sample,
``cosmic-ray exec``, then print killed/total, the score and every survivor with its diff.
Results: docs/mutation.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The protocol logic under test (paths relative to the repository root; globs allowed). Other
# modules (gRPC wiring, TLS, the CLI) are exercised by the harness too, but are not the subject.
DEFAULT_TARGETS = (
    "reference_server/checks.py",
    "reference_server/replies.py",
    "reference_server/dispatch.py",
    "reference_server/registry.py",
    "reference_server/servables/add.py",
    "reference_server/servables/conformance*.py",
    "reference_server/servables/model_inputs.py",
)
DEFAULT_PROFILES = ("core", "strict", "limits")
SERVER_CMD = (
    "python3 -m reference_server --address {address} --certificate {certificate} "
    "--private-key {private_key} --custom-ca {custom_ca} --verify-client {verify_client} "
    "--max-msg-mb-size {max_msg_mb_size}"
)
# Not copied: version control, caches, build outputs.
IGNORE = shutil.ignore_patterns(
    ".git", "__pycache__", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.egg-info"
)


def conformance_command(python: str, profiles: list[str]) -> list[str]:
    """The certification run; ``-- -x`` stops at the first failure (a killed mutant needs one)."""
    command = [python, "-m", "conformance", "--server-cmd", SERVER_CMD, "-q"]
    for profile in profiles:
        command += ["--profile", profile]
    return [*command, "--", "-x", "-p", "no:cacheprovider"]


# --- equivalent by construction -------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    start: tuple[int, int]  # (line 1-based, column 0-based), as cosmic-ray's positions
    end: tuple[int, int]
    reason: str


def _region(node: ast.AST, reason: str) -> Region:
    end_line = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    end_col = node.end_col_offset or 0  # type: ignore[attr-defined]
    return Region((node.lineno, node.col_offset), (end_line, end_col), reason)  # type: ignore[attr-defined]


def _keyword_only_marker(source: str, args: ast.arguments) -> Region | None:
    """Where the bare ``*`` of ``def f(a, *, b)`` stands, if the signature has one."""
    if args.vararg is not None or not args.kwonlyargs:
        return None
    before: list[ast.arg | ast.expr] = [*args.posonlyargs, *args.args, *args.defaults]
    lines = source.splitlines()
    line, col = (args.kwonlyargs[0].lineno, args.kwonlyargs[0].col_offset)
    if before:
        last = max(before, key=lambda n: (n.end_lineno or 0, n.end_col_offset or 0))
        start = (last.end_lineno or line, last.end_col_offset or 0)
    else:
        start = (line, 0)
    # Scan back from the first keyword-only argument to the '*' (commas and spaces between).
    at_line, at_col = line, col
    while (at_line, at_col) > start:
        at_col -= 1
        if at_col < 0:
            at_line -= 1
            at_col = len(lines[at_line - 1])
            continue
        if lines[at_line - 1][at_col : at_col + 1] == "*":
            return Region((at_line, at_col), (at_line, at_col + 1), "keyword-only marker")
    return None


def _is_logging_call(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in {"log", "logger", "logging"}
    )


def _is_dataclass_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "dataclass"


def equivalent_regions(source: str) -> list[Region]:
    """Source regions where no mutation can change what goes on the wire.

    * annotations, where the module has ``from __future__ import annotations``: they stay
      strings, never evaluated (dataclasses read them only to spot ClassVar/InitVar);
    * docstrings;
    * the flags of ``@dataclass(...)`` (frozen, slots): nothing in the server assigns to these
      objects or relies on their having no __dict__;
    * the arguments of logging calls: the server's log is not on the wire;
    * the bare ``*`` of a signature (keyword-only marker), which cosmic-ray takes for a
      multiplication: its mutants are syntax errors or ``/`` (positional-only marker), which
      leaves keyword calls as they were.
    """
    tree = ast.parse(source)
    lazy = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    regions: list[Region] = []
    for node in ast.walk(tree):
        if lazy and isinstance(node, ast.arg) and node.annotation is not None:
            regions.append(_region(node.annotation, "annotation (never evaluated)"))
        if lazy and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            regions.append(_region(node.returns, "annotation (never evaluated)"))
        if lazy and isinstance(node, ast.AnnAssign):
            regions.append(_region(node.annotation, "annotation (never evaluated)"))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                regions.append(_region(body[0], "docstring"))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            marker = _keyword_only_marker(source, node.args)
            if marker:
                regions.append(marker)
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                if _is_dataclass_call(decorator):
                    assert isinstance(decorator, ast.Call)
                    for keyword in decorator.keywords:
                        regions.append(_region(keyword.value, "dataclass flag"))
        if isinstance(node, ast.Call) and _is_logging_call(node):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                regions.append(_region(argument, "logging text"))
    return regions


def equivalent_by_construction(
    regions: list[Region], start: tuple[int, int], end: tuple[int, int]
) -> str | None:
    """The reason a mutation spanning ``start``..``end`` is equivalent, or None."""
    for region in regions:
        if region.start <= start and end <= region.end:
            return region.reason
    return None


# --- the run -------------------------------------------------------------------------------


def expand_targets(root: Path, patterns: list[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        matches = sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file())
        if not matches:
            raise SystemExit(f"mutation_score: no file matches target {pattern!r}")
        found += [m for m in matches if m not in found]
    return found


def write_config(path: Path, targets: list[str], command: list[str], timeout: float) -> None:
    # cosmic-ray splits test-command with shlex and runs it without a shell.
    lines = [
        "[cosmic-ray]",
        f"module-path = {json.dumps(targets)}",
        f"timeout = {timeout:.1f}",
        "excluded-modules = []",
        f"test-command = {json.dumps(shlex.join(command))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, float]:
    began = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, timeout=timeout, check=False)
    return result.returncode, time.monotonic() - began


def mark_skipped(session: Path, decide: dict[str, str]) -> None:
    """Record ``job id -> reason`` as SKIPPED results, so ``exec`` leaves them alone."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        for job_id, reason in decide.items():
            db.set_result(job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=reason))


def work_items(session: Path) -> list:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        return list(db.work_items)


def completed(session: Path) -> list:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        return list(db.completed_work_items)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every mutant")
    which.add_argument("--sample", type=int, metavar="N", help="N mutants drawn with --seed")
    which.add_argument("--list", action="store_true", help="count the mutants and stop")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument(
        "--target",
        action="append",
        metavar="GLOB",
        help=f"a module to mutate, repeatable (default: {' '.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument(
        "--profile",
        action="append",
        metavar="NAME",
        help=f"a conformance profile, repeatable (default: {' '.join(DEFAULT_PROFILES)})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per mutant; a run past it is KILLED (default: 3x the unmutated run, at least 120)",
    )
    parser.add_argument("--workdir", type=Path, help="where to copy the tree (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the copy and the session")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--exclude",
        action="append",
        type=Path,
        metavar="FILE",
        help="a --json file of an earlier run: its mutants are not drawn again (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # ours before theirs
    profiles = args.profile or list(DEFAULT_PROFILES)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mutation-"))
    tree = work / "tree"
    if tree.exists():
        raise SystemExit(f"mutation_score: {tree} exists; give a fresh --workdir")
    began = time.monotonic()
    try:
        shutil.copytree(ROOT, tree, ignore=IGNORE)
        targets = expand_targets(tree, args.target or list(DEFAULT_TARGETS))
        # The copy, not the editable install, is what the harness and its servers import.
        env = {**os.environ, "PYTHONPATH": str(tree)}
        command = conformance_command(sys.executable, profiles)
        config, session = work / "cosmic-ray.toml", work / "session.sqlite"

        timeout = args.timeout
        if not args.list:
            status, baseline = run(command, tree, env, timeout=1800)
            print(f"unmutated run: exit {status} in {baseline:.1f} s ({', '.join(profiles)})")
            if status != 0:
                raise SystemExit("mutation_score: the unmutated server must pass; stopping")
            timeout = timeout or max(120.0, 3 * baseline)
        write_config(config, targets, command, timeout or 120.0)
        cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
        subprocess.run([*cosmic, "init", str(config), str(session)], cwd=tree, env=env, check=True)

        items = work_items(session)
        regions = {
            path: equivalent_regions((tree / path).read_text(encoding="utf-8")) for path in targets
        }
        skipped: dict[str, str] = {}
        candidates = []
        for item in items:
            (mutation,) = item.mutations
            reason = equivalent_by_construction(
                regions[str(mutation.module_path)],
                tuple(mutation.start_pos),
                tuple(mutation.end_pos),
            )
            if reason:
                skipped[item.job_id] = f"equivalent by construction: {reason}"
            else:
                candidates.append(item)
        print(
            f"{len(items)} mutants in {len(targets)} modules; {len(skipped)} equivalent by "
            f"construction; {len(candidates)} candidates"
        )
        if args.list:
            by_reason: dict[str, int] = {}
            for reason in skipped.values():
                by_reason[reason] = by_reason.get(reason, 0) + 1
            for reason, count in sorted(by_reason.items()):
                print(f"  {count:4d}  {reason}")
            return 0
        done = _previously_run(args.exclude or [])
        if done:
            fresh = [item for item in candidates if _where(item) not in done]
            for item in candidates:
                if _where(item) in done:
                    skipped[item.job_id] = "run in an excluded earlier sample"
            print(f"{len(candidates) - len(fresh)} candidates excluded (run before)")
            candidates = fresh
        chosen = candidates
        if args.sample is not None and args.sample < len(candidates):
            chosen = random.Random(args.seed).sample(candidates, args.sample)
            keep = {item.job_id for item in chosen}
            for item in candidates:
                if item.job_id not in keep:
                    skipped[item.job_id] = "not sampled"
        mark_skipped(session, skipped)

        # Stale bytecode of a target could stand in for its mutant: compile them from source.
        for path in targets:
            shutil.rmtree((tree / path).parent / "__pycache__", ignore_errors=True)
        print(f"running {len(chosen)} mutants, timeout {timeout:.0f} s each")
        exec_began = time.monotonic()
        subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=tree, env=env, check=True)
        elapsed = time.monotonic() - exec_began
        return report(
            session, tree, elapsed, args, profiles, timeout or 0.0, time.monotonic() - began
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(
    session: Path,
    tree: Path,
    elapsed: float,
    args: argparse.Namespace,
    profiles: list[str],
    timeout: float,
    total_time: float,
) -> int:
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    ran = [(i, r) for i, r in completed(session) if r.worker_outcome != WorkerOutcome.SKIPPED]
    killed = [(i, r) for i, r in ran if r.test_outcome == TestOutcome.KILLED]
    survived = [(i, r) for i, r in ran if r.test_outcome == TestOutcome.SURVIVED]
    incompetent = [
        (i, r) for i, r in ran if r.test_outcome not in (TestOutcome.KILLED, TestOutcome.SURVIVED)
    ]
    timeouts = [i for i, r in killed if (r.output or "").strip() == "timeout"]
    total = len(killed) + len(survived)
    score = len(killed) / total if total else 0.0
    per = elapsed / len(ran) if ran else 0.0
    print()
    sample = "all" if args.all else f"sample {args.sample} seed {args.seed}"
    print(
        f"cosmic-ray {_version()}, profiles {' '.join(profiles)}, {sample}, timeout {timeout:.0f} s"
    )
    print(f"killed {len(killed)} / {total} = {score:.1%}  (of which timeouts {len(timeouts)})")
    if incompetent:
        print(f"incompetent (not counted): {len(incompetent)}")
    print(
        f"time: {elapsed:.0f} s for {len(ran)} mutants = {per:.1f} s per mutant; "
        f"total {total_time:.0f} s"
    )
    records = []
    for item, result in sorted(
        survived, key=lambda p: (str(p[0].mutations[0].module_path), p[0].mutations[0].start_pos)
    ):
        (mutation,) = item.mutations
        where = f"{mutation.module_path}:{mutation.start_pos[0]}"
        print(f"\nSURVIVED {where}  {mutation.operator_name}  (occurrence {mutation.occurrence})")
        print(result.diff or "")
        records.append(
            {
                "where": where,
                "operator": mutation.operator_name,
                "occurrence": mutation.occurrence,
                "diff": result.diff,
            }
        )
    for item, result in incompetent:
        (mutation,) = item.mutations
        print(
            f"\nINCOMPETENT {mutation.module_path}:{mutation.start_pos[0]} {mutation.operator_name}"
        )
        print((result.output or "")[-2000:])
    if args.json:
        killed_where = [_where(i) for i, _ in killed]
        args.json.write_text(
            json.dumps(
                {
                    "tool": f"cosmic-ray {_version()}",
                    "profiles": profiles,
                    "sample": args.sample,
                    "seed": args.seed,
                    "timeout_s": timeout,
                    "killed": len(killed),
                    "total": total,
                    "timeouts": len(timeouts),
                    "incompetent": len(incompetent),
                    "exec_s": round(elapsed, 1),
                    "per_mutant_s": round(per, 1),
                    "survivors": records,
                    "killed_mutants": killed_where,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


def _previously_run(files: list[Path]) -> set[str]:
    """The mutants (``_where`` keys) of earlier runs' --json files."""
    done: set[str] = set()
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        done.update(data["killed_mutants"])
        done.update(f"{s['where']} {s['operator']}" for s in data["survivors"])
    return done


def _where(item: Any) -> str:
    """A mutant's key across sessions (job ids are not): file:line and operator."""
    (mutation,) = item.mutations
    return f"{mutation.module_path}:{mutation.start_pos[0]} {mutation.operator_name}"


def _version() -> str:
    from importlib.metadata import version

    return version("cosmic-ray")


if __name__ == "__main__":
    sys.exit(main())
