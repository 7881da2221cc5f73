"""bench/bench_upstream.py: it says plainly when there is no upstream to compare with, and it
leaves no server process behind when interrupted mid-run (upstream's workers included).

The interrupted run needs a Python with mindspore-serving 2.0.2, named in $UPSTREAM_PYTHON
(opt-in: it starts two servers and a real upstream, which the default run does not), and skips
cleanly without it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_upstream.py"
WAIT_S = 90.0


def test_without_upstream_it_says_so_and_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-python"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--upstream-python", str(missing)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "no upstream to compare with" in result.stderr and str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(
    not os.environ.get("UPSTREAM_PYTHON"), reason="opt-in: UPSTREAM_PYTHON names no upstream"
)
def test_ctrl_c_mid_run_stops_both_servers() -> None:
    # One short add_common round, then echo rounds far longer than the test waits: the SIGINT
    # lands while the bench is calling both servers.
    command = [sys.executable, str(BENCH), "--rounds", "1", "--small-seconds", "0.2"]
    command += ["--echo-seconds", "60", "--mib", "1"]
    bench = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert bench.stdout is not None
        for line in bench.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    groups: dict[str, int] = {}
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=WAIT_S)
            if line is None:
                _, stderr = bench.communicate(timeout=WAIT_S)
                if bench.returncode == 2 and "no upstream to compare with" in stderr:
                    pytest.skip(stderr.strip())
                pytest.fail(f"the bench ended early ({bench.returncode}): {seen} {stderr}")
            seen.append(line)
            if " serving on " in line:
                groups[line.split(":")[0]] = int(line.rsplit("process group ", 1)[1].rstrip(")\n"))
            if "add_common" in line and "reference/upstream calls/s" in line:
                break
        assert set(groups) == {"reference", "upstream"}
        assert all(_group_alive(group) for group in groups.values())
        rows = [row.split() for row in seen if row.startswith("add_common") and "/" not in row]
        assert sorted(row[3] for row in rows) == ["reference", "upstream"]
        assert all(float(row[4]) > 0 for row in rows)  # calls/s measured on each
        bench.send_signal(signal.SIGINT)
        _, stderr = bench.communicate(timeout=WAIT_S)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(WAIT_S)
    assert bench.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not [name for name, group in groups.items() if _group_alive(group)]
