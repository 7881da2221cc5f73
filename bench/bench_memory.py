#!/usr/bin/env python3
"""Peak memory of the reference server per large call, measured from outside its process.

    python bench/bench_memory.py [--mib 64] [--calls 3]

A fresh ``python -m reference_server --device cpu`` serves ``--calls`` echoes of one uint8
tensor of ``--mib`` MiB, each sent by the reference client (``reference_client.Client``), one at
a time. Before each call the process's peak resident size is reset (``/proc/PID/clear_refs``,
5); after it, ``VmHWM`` (the peak during the call) and ``VmRSS`` are read from
``/proc/PID/status``. Printed: the idle size, and per call the peak above idle as a multiple of
the payload, and what is still held above idle after the call and after ``--settle`` seconds.

The floor, the same way: the raw-bytes grpcio server of bench/bench_payload.py (the request's own
bytes sent back, no protobuf), called with the same request's bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import grpc
import numpy as np
from bench_overhead import PREDICT, Server  # bench/ is this script's sys.path[0]
from bench_payload import OPTIONS, echo_request

from reference_client import Client

MB = 1e6


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as lines:
        for line in lines:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as control:
        control.write("5")  # VmHWM := VmRSS


def measure(
    name: str, pid: int, call: Callable[[], object], size: int, calls: int, settle: float
) -> None:
    time.sleep(settle)
    idle = status(pid)["VmRSS"]
    print(f"  {name}: idle {idle / MB:.0f} MB")
    for index in range(1, calls + 1):
        reset_peak(pid)
        call()
        after = status(pid)
        time.sleep(settle)
        settled = status(pid)["VmRSS"]
        peak = after["VmHWM"] - idle
        print(
            f"    call {index}: peak {after['VmHWM'] / MB:.0f} MB, "
            f"{peak / size:.2f}x the payload above idle; held above idle after the call "
            f"{(after['VmRSS'] - idle) / MB:.0f} MB, after {settle:g} s "
            f"{(settled - idle) / MB:.0f} MB"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="payload in MiB (64)")
    parser.add_argument("--calls", type=int, default=3, help="calls per server (3)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before reading (1)")
    args = parser.parse_args(argv)
    size = args.mib * 1024 * 1024
    array = np.ones(size, np.uint8)
    print(
        f"bench_memory: echo of one uint8 tensor of {args.mib} MiB, {args.calls} calls, "
        f"grpcio {grpc.__version__}, python {sys.version.split()[0]}"
    )

    command = [sys.executable, "-m", "reference_server", "--address", "127.0.0.1:0"]
    server = Server([*command, "--device", "cpu"])
    try:
        with Client(server.address, "conformance", "echo", timeout=120) as client:

            def infer() -> object:
                result = client.infer({"x": array})
                assert isinstance(result, list) and result[0]["y"].size == size, result
                return result

            measure("reference", server.process.pid, infer, size, args.calls, args.settle)
    finally:
        server.close()

    payload = echo_request(size).SerializeToString()
    floor = Server([sys.executable, "bench/bench_payload.py", "--floor-server", "raw"])
    channel = grpc.insecure_channel(floor.address, options=OPTIONS)
    try:
        call = channel.unary_unary(PREDICT, None, None)
        measure(
            "raw floor",
            floor.process.pid,
            lambda: call(payload, timeout=120),
            size,
            args.calls,
            args.settle,
        )
    finally:
        channel.close()
        floor.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
