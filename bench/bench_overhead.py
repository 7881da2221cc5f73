#!/usr/bin/env python3
"""Per-request overhead of the reference server against bare grpcio, measured in the same run.

    python bench/bench_overhead.py [--rounds 5] [--round-seconds 1.5] [--clients 1 8]

Two servers run as subprocesses, side by side:
* ``bare``: a grpcio sync server with the same options and thread pool whose generic handler
  returns a precomputed serialized reply, without even parsing the request (the floor);
* ``reference``: ``python -m reference_server --device cpu``, the real thing;
* with ``--streaming-floor``, ``stream``: the bare server's precomputed reply served the way
  the reference server serves Predict (request-streaming handler, issue 9's robustness
  design): the floor for that design, printed as stream/bare.

Clients (grpc.aio, one channel each, pre-serialized request) call ``add.add_common`` with one
float32 [2,2] instance for timed rounds; each round times bare and reference back to back, in
alternating order, so drift on a shared machine hits both. Prints the median requests/s of each
and reference/bare per client count. Bounded: well under 60 s with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures

import grpc
import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server.dispatch import Dispatcher
from reference_server.servables import kit_registry

PREDICT = "/mindspore.serving.proto.MSService/Predict"
READY_TIMEOUT_S = 20.0
CALL_TIMEOUT_S = 10.0


def add_common_request() -> pb.PredictRequest:
    request = pb.PredictRequest()
    request.servable_spec.name = "add"
    request.servable_spec.method_name = "add_common"
    instance = request.instances.add()
    x = np.arange(4, dtype=np.float32).reshape(2, 2)
    instance.items["x1"].CopyFrom(codec.array_to_tensor(x))
    instance.items["x2"].CopyFrom(codec.array_to_tensor(x))
    return request


def run_bare_server(streaming: bool = False) -> None:
    """The floor: answer every Predict with the reference reply, computed once, unparsed.

    ``streaming``: the same, served as the reference server serves Predict (request-streaming
    on the server's side, the body taken from the iterator in the handler): the floor of that
    design, which grpcio hands to a worker thread before the message arrives.
    """
    reply = Dispatcher(kit_registry()).predict(add_common_request()).SerializeToString()

    def predict(request: bytes, context: grpc.ServicerContext) -> bytes:
        return reply

    def predict_streaming(bodies: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        next(bodies, None)
        return reply

    limit = 100 * 1024 * 1024  # the reference server's default, both ways
    server = grpc.server(
        futures.ThreadPoolExecutor(16),
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
        ],
    )
    handler = grpc.method_handlers_generic_handler(
        "mindspore.serving.proto.MSService",
        {
            "Predict": grpc.stream_unary_rpc_method_handler(predict_streaming)
            if streaming
            else grpc.unary_unary_rpc_method_handler(predict)
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"bare{'-stream' if streaming else ''}: serving on 127.0.0.1:{port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop(None)


class Server:
    """A server subprocess that prints ``... serving on ADDRESS ...`` when ready."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        line: list[str] = []
        assert self.process.stdout is not None
        stdout = self.process.stdout
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if not line or " serving on " not in line[0]:
            self.close()
            raise SystemExit(f"bench_overhead: {command[-1]} did not start")
        self.address = line[0].split(" serving on ", 1)[1].split()[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the reference server stops on SIGTERM
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _raw_call(channel: grpc.aio.Channel) -> grpc.aio.UnaryUnaryMultiCallable:
    """Predict on bytes: the request is serialized once, the reply is not parsed."""
    return channel.unary_unary(PREDICT, None, None)


async def _round(address: str, payload: bytes, clients: int, seconds: float) -> float:
    """Requests per second over ``seconds`` with ``clients`` concurrent callers."""
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    try:
        calls = [_raw_call(channel) for channel in channels]
        for call in calls:  # connect and warm up outside the timed window
            await call(payload, timeout=CALL_TIMEOUT_S)
        done = 0
        deadline = time.perf_counter() + seconds

        async def client(call: grpc.aio.UnaryUnaryMultiCallable) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await call(payload, timeout=CALL_TIMEOUT_S)
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(call) for call in calls))
        return done / (time.perf_counter() - start)
    finally:
        for channel in channels:
            await channel.close(None)


def measure(
    servers: dict[str, Server], payload: bytes, clients: int, rounds: int, seconds: float
) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in servers}
    names = list(servers)
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]  # ABBA: drift hits both alike
        for name in order:
            rate = asyncio.run(_round(servers[name].address, payload, clients, seconds))
            rates[name].append(rate)
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per server (5)")
    parser.add_argument("--round-seconds", type=float, default=1.5, help="round length (1.5)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="(1 8)")
    parser.add_argument(
        "--streaming-floor",
        action="store_true",
        help="also a bare server that serves Predict request-streaming, as the reference does",
    )
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-stream-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_server or args.bare_stream_server:
        run_bare_server(streaming=args.bare_stream_server)
        return 0

    request = add_common_request()
    payload = request.SerializeToString()
    expected = Dispatcher(kit_registry()).predict(request).SerializeToString()
    began = time.perf_counter()
    servers: dict[str, Server] = {}
    try:
        servers["bare"] = Server([sys.executable, __file__, "--bare-server"])
        if args.streaming_floor:
            servers["stream"] = Server([sys.executable, __file__, "--bare-stream-server"])
        command = ["-m", "reference_server", "--address", "127.0.0.1:0", "--device", "cpu"]
        servers["reference"] = Server([sys.executable, *command])
        with grpc.insecure_channel(servers["reference"].address) as channel:
            answer = channel.unary_unary(PREDICT, None, None)(payload, timeout=CALL_TIMEOUT_S)
        assert answer == expected, "the reference server's reply differs from the bare one's"

        print(
            f"bench_overhead: add.add_common, 1 instance float32 [2,2]; {args.rounds} rounds of "
            f"{args.round_seconds:g} s per server, alternating; grpcio {grpc.__version__}, "
            f"python {sys.version.split()[0]}"
        )
        print(f"{'clients':>7}  {'bare req/s':>10}  {'reference req/s':>15}  {'ratio':>5}", end="")
        print(f"  {'streaming floor req/s':>21}  {'ratio':>5}" if args.streaming_floor else "")
        for clients in args.clients:
            rates = measure(servers, payload, clients, args.rounds, args.round_seconds)
            bare = statistics.median(rates["bare"])
            reference = statistics.median(rates["reference"])
            row = f"{clients:>7}  {bare:>10.0f}  {reference:>15.0f}  {reference / bare:>5.2f}"
            print(row, end="")
            if args.streaming_floor:
                stream = statistics.median(rates["stream"])
                print(f"  {stream:>21.0f}  {stream / bare:>5.2f}")
            else:
                print()
    finally:
        for server in servers.values():
            server.close()
    print(f"({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
