#!/usr/bin/env python3
"""The reference server against the real MindSpore Serving 2.0.2, measured in the same run.

    python bench/bench_upstream.py [--rounds 6] [--small-seconds 2] [--echo-seconds 4]
                                   [--mib 16] [--quick] [--upstream-python PY39]

Two servers run as subprocesses, each in its own process group, serving the kit's servables:
* ``reference``: ``python -m reference_server --address 127.0.0.1:0 --device cpu``;
* ``upstream``: ``PY39 upstream/serve.py --address 127.0.0.1:PORT``, the real MindSpore Serving
  with the kit's servables as Python stages (upstream/servables/). PY39 is ``--upstream-python``,
  else $UPSTREAM_PYTHON, else ``.tox/upstream-py39/bin/python`` (made by ``tox -e upstream``)
  if it exists, else ``/tmp/up39/bin/python``; without one that imports mindspore_serving the
  script says so and exits 2.

Workloads, each with one client (one grpcio channel per server; the request serialized once and
the reply taken as bytes, as bench_overhead.py does, so the client's cost is the same for both):
* ``add.add_common`` with one instance of two float32 [2,2];
* ``conformance.echo`` (version 1) with one float32 tensor of ``--mib`` MiB.

Rounds alternate between the servers (A B B A ...), each round a fixed time, so drift on a
shared machine hits both. Rows: calls/s (median over rounds), p50 and p99 latency (over every
timed call of that server), reference/upstream calls/s. Every server is checked to answer
correctly before and after its rounds: a figure counts only for a server that still serves.
The load average is printed before and after. Both process groups are stopped at the end, on
Ctrl-C and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import grpc
import numpy as np
from bench_overhead import PREDICT, add_common_request  # bench/ is this script's sys.path[0]

from protos import codec
from protos import ms_service_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "upstream" / "serve.py"
FALLBACK_UPSTREAM_PYTHON = "/tmp/up39/bin/python"
READY_TIMEOUT_S = 90.0  # upstream starts a master and three worker processes
STOP_TIMEOUT_S = 15.0
CHECK_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 30.0
MAX_CALLS_PER_ROUND = 1_000_000  # a second bound besides the round's time
LIMIT = 100 * 1024 * 1024  # both servers' default message limit (100 MB), both ways
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", LIMIT),
    ("grpc.max_send_message_length", LIMIT),
]


class NoUpstream(Exception):
    """No usable Python with mindspore_serving: said plainly, exit 2."""


def upstream_python(given: str | None) -> tuple[str, str]:
    """The Python 3.9 to run upstream with, and its mindspore-serving version."""
    if not SERVE.exists():  # e.g. an sdist that does not ship upstream/
        raise NoUpstream(f"{SERVE} is missing")
    if given:
        candidate = given
    else:
        tox_venv = ROOT / ".tox" / "upstream-py39" / "bin" / "python"
        candidate = str(tox_venv) if tox_venv.exists() else FALLBACK_UPSTREAM_PYTHON
    probe = (
        "import importlib.metadata as m, mindspore_serving.server; "
        "print(m.version('mindspore-serving'))"
    )
    try:
        result = subprocess.run(
            [candidate, "-W", "ignore", "-c", probe],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NoUpstream(f"{candidate} does not run ({error})") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise NoUpstream(f"{candidate} cannot import mindspore_serving ({last})")
    return candidate, result.stdout.strip()


def free_port() -> int:
    """A free loopback port: upstream takes no port 0 (it would print 0 back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """A server subprocess in its own process group, ready once it prints `` serving on ADDR``.

    Its own session keeps a terminal's Ctrl-C away from it (and from upstream's workers): the
    bench stops the whole group itself, SIGTERM to the leader first so upstream shuts its
    workers down its own way, then SIGKILL to whatever of the group is left.
    """

    def __init__(self, name: str, command: Sequence[str], cwd: Path | None = None) -> None:
        self.name = name
        self.command = list(command)
        self.address = ""
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=cwd,
            start_new_session=True,
        )
        self.group = self.process.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        # Drained for the whole run, so that a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if " serving on " in line:
                self.address = line.split(" serving on ", 1)[1].split()[0]
                return
        self._stderr.seek(0)
        tail = "".join(self._stderr.readlines()[-10:])
        raise SystemExit(f"bench_upstream: {self.name} did not start:\n{tail}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT_S)
        # Upstream's workers, if its master died or hung before ending them.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)
        self._stderr.close()


def echo_request(mib: int) -> tuple[pb.PredictRequest, np.ndarray]:
    x = np.arange(mib * 1024 * 1024 // 4, dtype=np.float32)
    request = pb.PredictRequest()
    request.servable_spec.name = "conformance"
    request.servable_spec.method_name = "echo"
    request.servable_spec.version_number = 1
    codec.fill_array_tensor(request.instances.add().items["x"], x)
    return request, x


def check_add(reply: pb.PredictReply, request: pb.PredictRequest) -> None:
    items = request.instances[0].items
    expected = codec.tensor_to_array(items["x1"]) + codec.tensor_to_array(items["x2"])
    got = codec.tensor_to_array(reply.instances[0].items["y"])
    assert got.dtype == np.float32 and np.array_equal(got, expected), f"add_common gave {got}"


def check_echo(x: np.ndarray) -> Callable[[pb.PredictReply, pb.PredictRequest], None]:
    def check(reply: pb.PredictReply, request: pb.PredictRequest) -> None:
        items = reply.instances[0].items
        y = codec.tensor_to_array(items["y"])
        assert y.dtype == x.dtype and np.array_equal(y, x), "echo changed the tensor"
        version = codec.tensor_to_array(items["version"])
        assert int(version) == 1, f"echo served version {version}"

    return check


class Workload:
    def __init__(
        self,
        label: str,
        request: pb.PredictRequest,
        check: Callable[[pb.PredictReply, pb.PredictRequest], None],
        seconds: float,
    ) -> None:
        self.label = label
        self.request = request
        self.payload = request.SerializeToString()
        self.check = check
        self.seconds = seconds


def verify(name: str, call: grpc.UnaryUnaryMultiCallable, workload: Workload) -> None:
    """One call whose reply is parsed and checked: the server serves this workload correctly."""
    try:
        answer = call(workload.payload, timeout=CHECK_TIMEOUT_S)
    except grpc.RpcError as error:
        raise SystemExit(f"bench_upstream: {name} failed {workload.label}: {error}") from None
    reply = pb.PredictReply.FromString(answer)
    if reply.error_msg:
        raise SystemExit(f"bench_upstream: {name} refused {workload.label}: {reply.error_msg}")
    workload.check(reply, workload.request)


def timed_round(
    call: grpc.UnaryUnaryMultiCallable, payload: bytes, seconds: float
) -> tuple[float, list[float]]:
    """Calls per second and each call's latency, calls back to back for ``seconds``."""
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline and len(latencies) < MAX_CALLS_PER_ROUND:
        call(payload, timeout=CALL_TIMEOUT_S)
        after = time.perf_counter()
        latencies.append(after - now)
        now = after
    return len(latencies) / (now - start), latencies


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: with fewer than 100 calls, p99 is the slowest one."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(
    calls: dict[str, grpc.UnaryUnaryMultiCallable], workload: Workload, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Per server: median calls/s over the rounds, p50 and p99 latency in seconds."""
    names = list(calls)
    rates: dict[str, list[float]] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        calls[name](workload.payload, timeout=CALL_TIMEOUT_S)  # warm, outside the rounds
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:  # ABBA
            rate, times = timed_round(calls[name], workload.payload, workload.seconds)
            rates[name].append(rate)
            latencies[name] += times
    return {
        name: (
            statistics.median(rates[name]),
            percentile(latencies[name], 0.50),
            percentile(latencies[name], 0.99),
        )
        for name in names
    }


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM/SIGHUP unwind like Ctrl-C: the finally stops the servers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds per server (6)")
    parser.add_argument(
        "--small-seconds", type=float, default=2.0, help="add_common round length (2)"
    )
    parser.add_argument("--echo-seconds", type=float, default=4.0, help="echo round length (4)")
    parser.add_argument("--mib", type=int, default=16, help="echo tensor size in MiB (16)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 rounds of 0.75 s and 1.5 s"
    )
    parser.add_argument("--upstream-python", default=os.environ.get("UPSTREAM_PYTHON"))
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.small_seconds, args.echo_seconds = 2, 0.75, 1.5
    try:
        python39, version = upstream_python(args.upstream_python)
    except NoUpstream as error:
        print(
            f"bench_upstream: no upstream to compare with: {error}. Install mindspore-serving "
            "2.0.2 in a Python 3.9 venv (`tox -e upstream` makes .tox/upstream-py39) or name "
            "one with --upstream-python or $UPSTREAM_PYTHON.",
            file=sys.stderr,
        )
        return 2

    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    began = time.perf_counter()
    servers: list[Served] = []
    channels: list[grpc.Channel] = []
    workdir = tempfile.TemporaryDirectory(prefix="bench-upstream-")
    try:
        reference_cmd = ["-m", "reference_server", "--address", "127.0.0.1:0", "--device", "cpu"]
        upstream_cmd = ["-W", "ignore", str(SERVE), "--address", f"127.0.0.1:{free_port()}"]
        # Upstream writes its logs and its master/worker sockets here, removed at the end.
        upstream_cmd += ["--workdir", workdir.name]
        servers.append(Served("reference", [sys.executable, *reference_cmd]))
        servers.append(Served("upstream", [python39, *upstream_cmd]))
        for server in servers:
            server.wait_ready()
            print(
                f"{server.name}: serving on {server.address} (process group {server.group})",
                flush=True,
            )
        calls: dict[str, grpc.UnaryUnaryMultiCallable] = {}
        for server in servers:
            channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
            channels.append(channel)
            calls[server.name] = channel.unary_unary(PREDICT, None, None)  # bytes both ways

        echo, x = echo_request(args.mib)
        workloads = [
            Workload(
                "add_common float32 [2,2]", add_common_request(), check_add, args.small_seconds
            ),
            Workload(f"echo float32 {args.mib} MiB", echo, check_echo(x), args.echo_seconds),
        ]
        print(
            f"bench_upstream: reference server (python {sys.version.split()[0]}, grpcio "
            f"{grpc.__version__}) vs MindSpore Serving {version} ({python39}); one client; "
            f"{args.rounds} rounds per server, alternating; rounds of {args.small_seconds:g} s "
            f"(add_common) and {args.echo_seconds:g} s (echo)"
        )
        print(f"load average before: {load()}")
        header = f"{'workload':<26} {'server':<9} {'calls/s':>8} {'MiB/s':>7}"
        print(f"{header} {'p50 ms':>8} {'p99 ms':>8}")
        for workload in workloads:
            for name, call in calls.items():
                verify(name, call, workload)
            results = measure(calls, workload, args.rounds)
            for name, call in calls.items():
                verify(name, call, workload)  # still serving correctly after its rounds
            size_mib = len(workload.payload) / (1024 * 1024)
            for name, (rate, p50, p99) in results.items():
                mib_s = f"{rate * size_mib:7.1f}" if size_mib >= 1 else f"{'':7}"
                row = f"{workload.label:<26} {name:<9} {rate:>8.1f} {mib_s}"
                print(f"{row} {p50 * 1e3:>8.2f} {p99 * 1e3:>8.2f}")
            ratio = results["reference"][0] / results["upstream"][0]
            print(f"{workload.label:<26} reference/upstream calls/s: {ratio:.2f}x", flush=True)
        print(f"load average after: {load()}")
        for server in servers:
            if not server.alive():
                raise SystemExit(f"bench_upstream: {server.name} exited during the run")
    except KeyboardInterrupt:
        print("bench_upstream: interrupted; stopping both servers", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl-C must not skip the stops.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for channel in channels:
            channel.close()
        for server in servers:
            server.close()
        workdir.cleanup()
        signal.signal(signal.SIGINT, previous)
    print(f"({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
