#!/usr/bin/env python3
"""The reference server under hostile traffic and shutdown: the bounds of issue 9, measured.

    python bench/bench_robustness.py [--bodies 10000] [--stallers 64] [--in-flight 20]
                                     [--payload-mib 8] [--grace 5]

Each phase runs ``python -m reference_server --device cpu`` as a subprocess and prints figures:

* ``undecodable``: RSS growth (VmRSS from /proc) after ``--bodies`` Predict bodies that are not
  a PredictRequest (bound: < 5 MB);
* ``stalled``: the worst latency of well-formed calls while ``--stallers`` clients hold a call
  open after its headers, sending no message (bound: < 1 s);
* ``sigterm``: ``--in-flight`` calls in flight when SIGTERM arrives, once as 1 s calls of
  ``slow.sleep`` (tests/support/slow_server.py), once as echo calls of ``--payload-mib`` MiB:
  how many end OK, and how long the process takes to exit (bound: all OK, exit within
  grace + 1 s);
* ``sigterm-computing``: handlers that run 60 s, past a 1 s grace: the exit time (bound:
  grace + 1 s).

A benchmark, not a test: it prints, and exits 1 if a bound is not held.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb

PREDICT = "/mindspore.serving.proto.MSService/Predict"
READY_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 60.0
STALLED_CALL_TIMEOUT_S = 3.0  # a well-formed call among stalled ones: inf past this
NO_PROXY = {"no_proxy": "*", "NO_PROXY": "*"}


SLOW_SERVER = os.path.join(os.path.dirname(__file__), "..", "tests", "support", "slow_server.py")


class Server:
    """The CLI (or, with ``slow_s``, tests/support/slow_server.py: the kit plus ``slow.sleep``
    taking ``slow_s`` seconds per call) on a free port."""

    def __init__(self, *args: str, slow_s: float | None = None) -> None:
        args = (*args, *os.environ.get("BENCH_SERVER_ARGS", "").split())
        if slow_s is None:
            command = [sys.executable, "-m", "reference_server"]
        else:
            command = [sys.executable, SLOW_SERVER, str(slow_s)]
        self.process = subprocess.Popen(
            [*command, "--address", "127.0.0.1:0", "--device", "cpu", *args],
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("BENCH_SERVER_STDERR") else subprocess.DEVNULL,
            text=True,
            env={**os.environ, **NO_PROXY},
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if not line or not line[0]:
            self.process.kill()
            raise SystemExit("server did not start")
        self.address = line[0].split(" serving on ", 1)[1].rsplit(" (", 1)[0]

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)


def channel(address: str) -> grpc.Channel:
    limit = 512 << 20
    return grpc.insecure_channel(
        address,
        options=[
            ("grpc.max_send_message_length", limit),
            ("grpc.max_receive_message_length", limit),
        ],
    )


def echo_request(nbytes: int) -> bytes:
    message = pb.PredictRequest()
    message.servable_spec.name = "conformance"
    message.servable_spec.method_name = "echo"
    tensor = codec.array_to_tensor(np.zeros(max(nbytes, 1), np.uint8))
    message.instances.add().items["x"].CopyFrom(tensor)
    return message.SerializeToString()


def raw_predict(chan: grpc.Channel) -> grpc.UnaryUnaryMultiCallable:
    return chan.unary_unary(PREDICT, None, None)  # bytes in, bytes out


def phase_undecodable(bodies: int) -> bool:
    server = Server()
    try:
        with channel(server.address) as chan:
            call = raw_predict(chan)

            def send(count: int) -> int:
                refused = 0
                for _ in range(count):
                    try:
                        call(b"\xff\xff", timeout=CALL_TIMEOUT_S)
                    except grpc.RpcError as error:
                        refused += error.code() == grpc.StatusCode.INTERNAL
                return refused

            send(500)  # warm-up: threads, channel, allocator arenas
            time.sleep(0.5)
            before = server.rss_mb()
            start = time.monotonic()
            with futures.ThreadPoolExecutor(8) as pool:
                refused = sum(pool.map(send, [bodies // 8] * 8))
            elapsed = time.monotonic() - start
            time.sleep(0.5)
            after = server.rss_mb()
    finally:
        server.close()
    growth = after - before
    ok = growth < 5.0 and refused == bodies // 8 * 8
    print(
        f"undecodable: {bodies // 8 * 8} bodies in {elapsed:.1f} s, {refused} INTERNAL; "
        f"RSS {before:.1f} -> {after:.1f} MB, growth {growth:+.2f} MB (bound < 5 MB) "
        f"{'ok' if ok else 'FAILED'}"
    )
    return ok


def _stall(release: threading.Event) -> Iterator[bytes]:
    release.wait(CALL_TIMEOUT_S)
    return
    yield  # a generator that sends nothing


def phase_stalled(stallers: int) -> bool:
    server = Server()
    release = threading.Event()
    channels = [channel(server.address) for _ in range(stallers)]
    try:
        stalled = [
            chan.stream_unary(PREDICT, None, None).future(_stall(release), timeout=CALL_TIMEOUT_S)
            for chan in channels
        ]
        time.sleep(1.0)  # every stalled call has reached the server
        body = echo_request(16)
        latencies = []
        with channel(server.address) as chan:
            call = raw_predict(chan)
            for _ in range(20):
                start = time.monotonic()
                try:
                    call(body, timeout=STALLED_CALL_TIMEOUT_S)
                except grpc.RpcError:
                    latencies.append(float("inf"))  # not answered in time
                    continue
                latencies.append(time.monotonic() - start)
        worst = max(latencies)
        still_stalled = sum(not f.done() for f in stalled)
    finally:
        release.set()
        for chan in channels:
            chan.close()
        server.close()
    ok = worst < 1.0
    print(
        f"stalled: {stallers} clients stalled mid-call ({still_stalled} still held); "
        f"20 well-formed calls, worst {worst * 1000:.0f} ms, median "
        f"{sorted(latencies)[10] * 1000:.0f} ms (bound < 1 s) {'ok' if ok else 'FAILED'}"
    )
    return ok


def _in_flight(server: Server, bodies: list[bytes], grace: float) -> tuple[list[str], float]:
    channels = [channel(server.address) for _ in bodies]
    try:
        for chan in channels:  # connected first: "in flight" means the server has the call
            grpc.channel_ready_future(chan).result(timeout=READY_TIMEOUT_S)
        calls = [
            raw_predict(chan).future(body, timeout=CALL_TIMEOUT_S)
            for chan, body in zip(channels, bodies, strict=True)
        ]
        time.sleep(0.3)  # every call has started
        start = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(grace + 30)
            exit_s = time.monotonic() - start
        except subprocess.TimeoutExpired:
            exit_s = float("inf")  # still running: close() kills it
        outcomes = []
        for call in calls:
            try:
                call.result(CALL_TIMEOUT_S)
                outcomes.append("OK")
            except grpc.RpcError as error:
                outcomes.append(error.code().name)
    finally:
        for chan in channels:
            chan.close()
    return outcomes, exit_s


def phase_sigterm(in_flight: int, payload_mib: float, grace: float) -> bool:
    """Calls in flight two ways: ``slow.sleep`` calls of 1 s each (more than the 16 workers,
    so some wait for one), and echo calls with large payloads still in transit."""
    results = []
    for label, server, body in (
        ("1 s slow.sleep", Server("--grace", str(grace), slow_s=1.0), sleep_request()),
        (f"{payload_mib:g} MiB echo", Server("--grace", str(grace)), None),
    ):
        try:
            if body is None:
                body = echo_request(int(payload_mib * (1 << 20)))
            outcomes, exit_s = _in_flight(server, [body] * in_flight, grace)
            status = server.process.returncode
        finally:
            server.close()
        good = outcomes.count("OK")
        ok = good == in_flight and exit_s <= grace + 1.0 and status == 0
        others = sorted({o for o in outcomes if o != "OK"})
        print(
            f"sigterm: {in_flight} calls of {label} in flight, grace {grace:g} s: "
            f"{good} OK {others or ''}, exit {status} after {exit_s:.2f} s "
            f"(bound: all OK, <= {grace + 1:g} s) {'ok' if ok else 'FAILED'}"
        )
        results.append(ok)
    return all(results)


def sleep_request() -> bytes:
    message = pb.PredictRequest()
    message.servable_spec.name = "slow"
    message.servable_spec.method_name = "sleep"
    message.instances.add().items["x"].CopyFrom(codec.array_to_tensor(np.zeros(4, np.uint8)))
    return message.SerializeToString()


def phase_sigterm_computing(in_flight: int) -> bool:
    grace = 1.0
    server = Server("--grace", str(grace), slow_s=60.0)
    try:
        outcomes, exit_s = _in_flight(server, [sleep_request()] * in_flight, grace)
        status = server.process.returncode
    finally:
        server.close()
    ok = exit_s <= grace + 1.0 and status == 0
    print(
        f"sigterm-computing: {in_flight} calls of 60 s slow.sleep in their handlers, grace "
        f"{grace:g} s: exit {status} after {exit_s:.2f} s, calls {sorted(set(outcomes))} "
        f"(bound <= {grace + 1:g} s) {'ok' if ok else 'FAILED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=10000)
    parser.add_argument("--stallers", type=int, default=64)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--payload-mib", type=float, default=8.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument(
        "--phase",
        action="append",
        choices=["undecodable", "stalled", "sigterm", "sigterm-computing"],
        help="run only these phases (repeatable)",
    )
    args = parser.parse_args()
    phases = args.phase or ["undecodable", "stalled", "sigterm", "sigterm-computing"]
    results = []
    if "undecodable" in phases:
        results.append(phase_undecodable(args.bodies))
    if "stalled" in phases:
        results.append(phase_stalled(args.stallers))
    if "sigterm" in phases:
        results.append(phase_sigterm(args.in_flight, args.payload_mib, args.grace))
    if "sigterm-computing" in phases:
        results.append(phase_sigterm_computing(args.in_flight))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
