"""How long a certification takes: the `conformance` command against the reference server.

Each configuration runs as a subprocess of the real command line (``--server-cmd`` mode, the
servers launched by the harness), so the figures include everything a user waits for: Python and
pytest start-up, TLS material, server start-up and readiness, the suite, shutdown. The floor is
the same command selecting no test at all (start-up and shutdown only), measured in the same run;
each figure is printed with its ratio to that floor, and per-profile suite time comes from the
JSON report.

    python bench/bench_conformance.py [--repeat N] [--server-cmd TEMPLATE]

Budgets (2-core machine): every profile but resnet <= 60 s wall, core alone <= 20 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from conformance.catalogue import PROFILES

REFERENCE_SERVER = (
    f"{sys.executable} -m reference_server --address {{address}} --certificate {{certificate}} "
    "--private-key {private_key} --custom-ca {custom_ca} --verify-client {verify_client} "
    "--max-msg-mb-size {max_msg_mb_size} --device cpu"
)
# The server profiles, from their declarations; robustness (not quick) is timed by
# bench_robustness.py, and an optional one (resnet: applies only where deployed) apart.
_TIMED = [p for p in PROFILES if not p.is_client and p.quick]
OPTIONAL = [p.name for p in _TIMED if p.applies_if is not None]
ALL_BUT_OPTIONAL = [p.name for p in _TIMED if p.applies_if is None]
ALL_BUT = "all but " + ", ".join(OPTIONAL)
BUDGETS_S = {ALL_BUT: 60.0, "core": 20.0}


def run(server_cmd: str, args: list[str], expect: int) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one command, and its JSON report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "conformance", "--server-cmd", server_cmd, "-q"]
        command += [*args, "--json-report", str(report)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        if done.returncode != expect:
            sys.exit(f"{' '.join(args)}: exit status {done.returncode}\n{done.stdout[-3000:]}")
        data = json.loads(report.read_text()) if report.exists() else {}
    return wall, data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--server-cmd", default=REFERENCE_SERVER, help="server command template")
    options = parser.parse_args()

    def profiles(names: list[str]) -> list[str]:
        return [arg for name in names for arg in ("--profile", name)]

    configurations: list[tuple[str, list[str], int]] = [
        # No test selected: pytest exits 5, the command 2. Start-up and shutdown only.
        ("floor (no test)", [*profiles(["core"]), "-k", "no_test_matches_this"], 2),
        (ALL_BUT, profiles(ALL_BUT_OPTIONAL), 0),
        (f"{ALL_BUT}, -n 2", [*profiles(ALL_BUT_OPTIONAL), "-n", "2"], 0),
        ("default (resnet if it answers)", [], 0),
        *((name, profiles([name]), 0) for name in [*ALL_BUT_OPTIONAL, *OPTIONAL]),
    ]
    floor = None
    print(f"{'configuration':<32} {'wall s':>7} {'x floor':>8}  suite time per profile (s)")
    for label, args, expect in configurations:
        walls: list[float] = []
        report: dict[str, Any] = {}
        for _ in range(options.repeat):
            wall, report = run(options.server_cmd, args, expect)
            walls.append(wall)
        wall = statistics.median(walls)
        floor = floor or wall
        per_profile = ", ".join(
            f"{name} {p['duration_s']:.1f}" for name, p in report.get("profiles", {}).items()
        )
        budget = BUDGETS_S.get(label)
        verdict = (
            ""
            if budget is None
            else (" within" if wall <= budget else " OVER") + f" {budget:.0f} s"
        )
        print(f"{label:<32} {wall:7.2f} {wall / floor:8.2f}  {per_profile}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
