"""Harness runs forked from a process that has already imported the harness's libraries.

A ``conformance`` run spends about half a second of CPU importing numpy, hypothesis, pytest,
cryptography and grpc before it does anything; the mutant meta-tests make about 150 such runs.
A zygote imports them once; each run is a fork of it that then does exactly what
``python -m conformance ARGS`` does in the run's folder: the conformance package itself is
imported after the fork, as the command imports it (the installed one, under tox: the zygote's
own folder is not on its path), so pytest rewrites the suites' asserts as usual.

``certify`` is conformance.api.certify on the process's shared zygote: the same arguments, a
fresh folder, the same Certification. The run's environment is the zygote's (the process's when
it first certified), so a test that sets a variable for its run uses conformance.api.certify.

The zygote stays single-threaded (no grpc channel, no BLAS pool) so that forking it is safe. It
ignores SIGCHLD, so its children are reaped by the kernel; each run writes its exit status to a
file as its last act, and a run that left none was killed. A run is watched by its pid.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.api import Certification, certify_arguments

# Imported once by the zygote: the libraries, never the project's own packages.
PRELOAD = (
    "numpy",
    "grpc",
    "google.protobuf.message",
    "hypothesis",
    "hypothesis.strategies",
    "pytest",
    "_pytest.pytester",
    "xdist.plugin",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "trustme",
    "pygments.lexers",
)
POLL_S = 0.05
STOP_GRACE_S = 15.0  # a harness stops its servers on SIGTERM within ~8 s

_ZYGOTE = r"""
import importlib, json, os, signal, sys
if sys.path[:1] == [""]:  # its folder: a run imports the installed harness, as the command would
    del sys.path[0]
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS thread pool in the process that forks
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except ImportError:  # not installed here (pygments comes with newer pytest only): skip it
        pass
del os.environ["OPENBLAS_NUM_THREADS"]
# hypothesis's table of Unicode categories, which each run would build again in its own scratch
# home (~0.15 s): built once here, in a throwaway home, and inherited by every fork.
import shutil, tempfile
from hypothesis.configuration import notice_initialization_restarted, set_hypothesis_home_dir
from hypothesis.internal import charmap
home = tempfile.mkdtemp()
set_hypothesis_home_dir(home)
charmap.charmap()
set_hypothesis_home_dir(None)
shutil.rmtree(home)
# Forget the disk access, which hypothesis's pytest plugin would otherwise report in each run
# (HypothesisSideeffectWarning): it happened here, before any run.
notice_initialization_restarted(warn=False)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
requests, replies = sys.stdin.buffer, sys.stdout
for line in requests:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(job["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0); os.dup2(out, 1); os.dup2(out, 2)
        os.close(null); os.close(out)
        os.chdir(job["cwd"])
        sys.argv = ["conformance", *job["argv"]]
        status = 70
        try:
            from conformance.cli import main
            status = main(job["argv"])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            with open(job["status"], "w") as file:
                file.write(str(status))
            os._exit(status)
    replies.write(f"{pid}\n"); replies.flush()
"""


@dataclass
class Finished:
    status: int | None  # None: killed (no status written)
    output: str


class Zygote:
    """One zygote per test process, started at its first run; runs may overlap (threads)."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def _started(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE, json.dumps(PRELOAD)],
                cwd=self._cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self._process

    def start(self, argv: list[str], folder: Path, cwd: Path | None = None) -> int:
        """Fork a run of ``conformance ARGV`` in ``cwd`` (default: the zygote's); its output
        and status go to files in ``folder``. Returns its pid."""
        job = {
            "argv": argv,
            "cwd": str(cwd or self._cwd),
            "output": str(folder / "harness-output.txt"),
            "status": str(folder / "harness-status.txt"),
        }
        with self._lock:
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(job) + "\n")
            process.stdin.flush()
            reply = process.stdout.readline()
        if not reply.strip().isdigit():
            raise RuntimeError(f"the zygote did not start the run (it said {reply!r})")
        return int(reply)

    @staticmethod
    def wait(pid: int, folder: Path, timeout_s: float) -> Finished | None:
        """The run's outcome, or None if it is still running after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while _alive(pid):
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)
        status_file = folder / "harness-status.txt"
        text = status_file.read_text() if status_file.exists() else ""
        output = (folder / "harness-output.txt").read_text(errors="replace")
        return Finished(int(text) if text.strip() else None, output)

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                assert self._process.stdin is not None
                self._process.stdin.close()  # its loop ends; it exits
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(pid: int, grace_s: float) -> None:
    """SIGTERM (the harness then stops its servers), SIGKILL after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_S)


_SHARED: Zygote | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Zygote:
    """The process's zygote, started at its first run, closed at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Zygote(Path(tempfile.gettempdir()))
            atexit.register(_SHARED.close)
        return _SHARED


def certify(*, args: Sequence[str] = (), timeout_s: float = 600.0, **command: Any) -> Certification:
    """conformance.api.certify, forked from the shared zygote."""
    argv = certify_arguments(**command)  # server_cmd, target, client_cmd, profiles
    with tempfile.TemporaryDirectory(prefix="conformance-") as name:
        folder = Path(name)
        report = folder / "report.json"
        zygote = shared()
        pid = zygote.start([*argv, *args, "--json-report", str(report)], folder, cwd=folder)
        finished = zygote.wait(pid, folder, timeout_s)
        if finished is None:
            stop(pid, STOP_GRACE_S)
            raise subprocess.TimeoutExpired(["conformance", *argv, *args], timeout_s)
        if finished.status is None:
            raise RuntimeError(f"the run was killed:\n{finished.output[-3000:]}")
        return Certification.read(finished.status, finished.output, report)
