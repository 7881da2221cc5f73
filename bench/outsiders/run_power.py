"""Measure the harness's power: run ``conformance`` against every fault of serve.py.

    python3 bench/outsiders/run_power.py [--fault NAME ...] [--timeout 120] [--json FILE]
        [--baseline]

Each fault runs in its own profile only (the one serve.py --list names), with the harness
starting ``serve.py --fault NAME`` through every placeholder of README's certify command.
Exit status of ``conformance``: 1 = caught, 0 = missed, 2 (or a timeout) = the harness could not
run. ``--baseline`` also runs ``--fault none`` in every profile, which must exit 0. The
conformance suite is treated as a black box: only its exit status is read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from conformance.catalogue import PROFILES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVE = os.path.join("bench", "outsiders", "serve.py")
SERVER_CMD = (
    f"{sys.executable} {SERVE} --fault {{fault}} --address {{{{address}}}} "
    "--certificate {{certificate}} --private-key {{private_key}} --custom-ca {{custom_ca}} "
    "--verify-client {{verify_client}} --max-msg-mb-size {{max_msg_mb_size}}"
)
VERDICT = {1: "caught", 0: "missed", 2: "harness-error"}
# The server profiles but the long robustness one (its faults are not serve.py's), from their
# declarations.
BASELINE_PROFILES = tuple(p.name for p in PROFILES if not p.is_client and p.quick)


def catalogue() -> list[dict[str, str]]:
    listing = subprocess.run(
        [sys.executable, SERVE, "--list"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    rows = []
    for line in listing.splitlines():
        name, profile, kind, description, cite = line.split("\t")
        rows.append(
            {"fault": name, "profile": profile, "kind": kind, "description": description,
             "cite": cite}
        )  # fmt: skip
    return rows


def run_one(fault: str, profiles: list[str], timeout: float) -> dict[str, object]:
    command = ["conformance", "--server-cmd", SERVER_CMD.format(fault=fault)]
    for profile in profiles:
        command += ["--profile", profile]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": ROOT},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        status: int | None = done.returncode
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        status, tail = None, [f"timed out after {timeout:.0f} s"]
    return {
        "exit_status": status,
        "verdict": VERDICT.get(status, "harness-error") if status is not None else "timeout",
        "seconds": round(time.monotonic() - started, 1),
        "tail": tail,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", action="append", help="only these faults (repeatable)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per fault")
    parser.add_argument("--json", help="write the results as JSON to this file")
    parser.add_argument("--baseline", action="store_true", help="also run --fault none")
    args = parser.parse_args()

    rows = [r for r in catalogue() if not args.fault or r["fault"] in args.fault]
    results = []
    if args.baseline:
        base = run_one("none", list(BASELINE_PROFILES), args.timeout * 4)
        results.append({"fault": "none", "profile": "all", "kind": "-", **base})
        print(f"{'none':30} {'all':7} exit {base['exit_status']} ({base['seconds']} s)", flush=True)
    for row in rows:
        outcome = run_one(row["fault"], [row["profile"]], args.timeout)
        results.append({**row, **outcome})
        print(
            f"{row['fault']:30} {row['profile']:7} {row['kind']:8} {outcome['verdict']:13} "
            f"exit {outcome['exit_status']} ({outcome['seconds']} s)",
            flush=True,
        )
    faults = [r for r in results if r["fault"] != "none"]
    caught = sum(r["verdict"] == "caught" for r in faults)
    ran = sum(r["verdict"] in ("caught", "missed") for r in faults)
    semantic = [r for r in faults if r["kind"] == "semantic"]
    caught_semantic = sum(r["verdict"] == "caught" for r in semantic)
    print(f"caught {caught}/{len(faults)} ({caught}/{ran} of those the harness could run); "
          f"semantic: {caught_semantic}/{len(semantic)}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as file:
            summary = {"caught": caught, "faults": len(faults), "ran": ran,
                       "semantic_caught": caught_semantic, "semantic": len(semantic)}  # fmt: skip
            json.dump({"summary": summary, "results": results}, file, indent=2)
    baseline_ok = all(r["exit_status"] == 0 for r in results if r["fault"] == "none")
    return 0 if baseline_ok else 1


if __name__ == "__main__":
    sys.exit(main())
