#!/usr/bin/env python3
"""Large tensors through the reference server and client, against floors measured in the same run.

    python bench/bench_payload.py [--rounds 4] [--calls 6] [--mib 16]

Three servers run as subprocesses, side by side, with the same gRPC options:
* ``raw``: a grpcio sync server that answers every Predict with the request's own bytes (no
  protobuf at all: the transport's cost);
* ``parse``: a bare grpcio server that parses the PredictRequest, builds the echo reply with
  protobuf (spec copied, ``y`` = ``x``, ``version`` = 1) and serializes it;
* ``reference``: ``python -m reference_server --device cpu``;
* with ``--untuned``, also ``untuned``: the same with glibc's default malloc settings
  (reference_server.memory steps aside when the environment sets ``MALLOC_TOP_PAD_``).

Rows, each a median over alternating rounds (the order rotates per round, so drift on a shared
machine hits every side alike):
* ``conformance.echo`` with one uint8 tensor of ``--mib`` MiB, from a raw-bytes client (the
  request serialized once, the reply not parsed): MB/s of request payload for each server, and
  reference/parse, reference/raw;
* the reference client's ``infer`` of the same echo against the reference server, against a raw
  generated stub (request built by protos' codec, reply parsed into a PredictReply and viewed as
  an array): client/stub;
* ``--clients`` clients at once (4), each with its own channel, sending echoes of ``--client-mib``
  MiB (4) from raw-bytes callers for ``--round-seconds`` per side and round, alternating raw and
  reference: MB/s of request payload and the 99th percentile latency, reference/raw for both.

Peak memory per call is bench/bench_memory.py's.

The small-call rows are bench/bench_overhead.py's; the ResNet-50 row is bench/bench_resnet.py
--torch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures

import grpc
import numpy as np
from bench_overhead import PREDICT, Server  # bench/ is this script's sys.path[0]

from protos import codec, ms_service_pb2_grpc
from protos import ms_service_pb2 as pb
from reference_client import Client

CALL_TIMEOUT_S = 60.0
LIMIT = 100 * 1024 * 1024  # the reference server's default message limit, both ways
OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", LIMIT),
    ("grpc.max_send_message_length", LIMIT),
]


def echo_request(size: int) -> pb.PredictRequest:
    request = pb.PredictRequest()
    request.servable_spec.name = "conformance"
    request.servable_spec.method_name = "echo"
    request.servable_spec.version_number = 1  # the parse floor answers version 1
    codec.fill_array_tensor(request.instances.add().items["x"], np.ones(size, np.uint8))
    return request


def _parse_predict(body: pb.PredictRequest, context: grpc.ServicerContext) -> pb.PredictReply:
    reply = pb.PredictReply()
    reply.servable_spec.CopyFrom(body.servable_spec)
    for instance in body.instances:
        items = reply.instances.add().items
        items["y"].CopyFrom(instance.items["x"])
        codec.fill_array_tensor(items["version"], np.asarray(1, np.int64))
    return reply


def _raw_predict(body: bytes, context: grpc.ServicerContext) -> bytes:
    return body


def run_floor_server(kind: str) -> None:
    if kind == "parse":
        method = grpc.unary_unary_rpc_method_handler(
            _parse_predict,
            request_deserializer=pb.PredictRequest.FromString,
            response_serializer=pb.PredictReply.SerializeToString,
        )
    else:
        method = grpc.unary_unary_rpc_method_handler(_raw_predict)
    server = grpc.server(futures.ThreadPoolExecutor(16), options=OPTIONS)
    handler = grpc.method_handlers_generic_handler(
        "mindspore.serving.proto.MSService", {"Predict": method}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"{kind}: serving on 127.0.0.1:{port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop(None)


def _raw_caller(channel: grpc.Channel, payload: bytes) -> Callable[[], bytes]:
    call = channel.unary_unary(PREDICT, None, None)  # bytes in, bytes out
    return lambda: call(payload, timeout=CALL_TIMEOUT_S)


def timed(call: Callable[[], object], calls: int) -> float:
    """Seconds per call, over ``calls`` calls after one warm-up."""
    call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def rounds(sides: Mapping[str, Callable[[], object]], count: int, calls: int) -> dict[str, float]:
    """Median seconds per call of each side, the order rotating every round."""
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(count):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        if index % 2:
            order.reverse()
        for name in order:
            times[name].append(timed(sides[name], calls))
    return {name: statistics.median(values) for name, values in times.items()}


def concurrent_round(
    address: str, payload: bytes, clients: int, seconds: float
) -> tuple[float, list[float]]:
    """``clients`` threads calling for ``seconds``: calls per second and every call's latency."""
    channels = [grpc.insecure_channel(address, options=OPTIONS) for _ in range(clients)]
    latencies: list[float] = []
    lock = threading.Lock()
    try:
        calls = [_raw_caller(channel, payload) for channel in channels]
        for call in calls:  # connected and warm outside the timed window
            call()
        start = time.perf_counter()
        deadline = start + seconds

        def client(call: Callable[[], bytes]) -> None:
            mine: list[float] = []
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                call()
                mine.append(time.perf_counter() - began)
            with lock:
                latencies.extend(mine)

        with futures.ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, calls))
        return len(latencies) / (time.perf_counter() - start), latencies
    finally:
        for channel in channels:
            channel.close()


def p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def concurrent_rows(servers: Mapping[str, Server], args: argparse.Namespace) -> None:
    size = args.client_mib * 1024 * 1024
    payload = echo_request(size).SerializeToString()
    rates: dict[str, list[float]] = {"raw": [], "reference": []}
    latencies: dict[str, list[float]] = {"raw": [], "reference": []}
    for index in range(args.rounds):
        order = ["raw", "reference"] if index % 2 == 0 else ["reference", "raw"]
        for name in order:
            rate, seen = concurrent_round(
                servers[name].address, payload, args.clients, args.round_seconds
            )
            rates[name].append(rate)
            latencies[name].extend(seen)
    print(
        f"  {args.clients} clients x {args.client_mib} MiB echo, {args.rounds} rounds of "
        f"{args.round_seconds:g} s per side, alternating:"
    )
    for name in ("raw", "reference"):
        rate = statistics.median(rates[name])
        print(
            f"    {name:>9}: {rate * size / 1e6:7.0f} MB/s  ({rate:.1f} calls/s), "
            f"p99 {p99(latencies[name]) * 1e3:.0f} ms over {len(latencies[name])} calls"
        )
    ratio = statistics.median(rates["reference"]) / statistics.median(rates["raw"])
    print(f"    throughput reference/raw: {ratio:.2f}x")
    print(f"    p99 reference/raw: {p99(latencies['reference']) / p99(latencies['raw']):.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="timed rounds per side (4)")
    parser.add_argument("--calls", type=int, default=6, help="calls per round (6)")
    parser.add_argument("--mib", type=int, default=16, help="payload size in MiB (16)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--client-mib", type=int, default=4, help="their payload in MiB (4)")
    parser.add_argument(
        "--round-seconds", type=float, default=2.0, help="concurrent round per side (2 s)"
    )
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="also run the reference server with glibc's default malloc settings",
    )
    parser.add_argument("--floor-server", choices=("raw", "parse"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_server:
        run_floor_server(args.floor_server)
        return 0

    size = args.mib * 1024 * 1024
    request = echo_request(size)
    payload = request.SerializeToString()
    began = time.perf_counter()
    servers: dict[str, Server] = {}
    channels: list[grpc.Channel] = []
    try:
        for kind in ("raw", "parse"):
            servers[kind] = Server([sys.executable, __file__, "--floor-server", kind])
        command = ["-m", "reference_server", "--address", "127.0.0.1:0", "--device", "cpu"]
        servers["reference"] = Server([sys.executable, *command])
        if args.untuned:  # the environment's own setting turns reference_server.memory off
            default_top_pad = {**os.environ, "MALLOC_TOP_PAD_": str(128 * 1024)}
            servers["untuned"] = Server([sys.executable, *command], env=default_top_pad)
        raw_calls: dict[str, Callable[[], bytes]] = {}
        for name, server in servers.items():
            channel = grpc.insecure_channel(server.address, options=OPTIONS)
            channels.append(channel)
            raw_calls[name] = _raw_caller(channel, payload)
        # The reference and parse servers give the same answer (the raw one echoes the request).
        reference_reply = pb.PredictReply.FromString(raw_calls["reference"]())
        parse_reply = pb.PredictReply.FromString(raw_calls["parse"]())
        assert reference_reply == parse_reply, "the reference echo differs from the parse floor"

        print(
            f"bench_payload: conformance.echo, one uint8 tensor of {args.mib} MiB; "
            f"{args.rounds} rounds of {args.calls} calls per side, rotating; "
            f"grpcio {grpc.__version__}, python {sys.version.split()[0]}"
        )
        medians = rounds(raw_calls, args.rounds, args.calls)
        for name, seconds in medians.items():
            print(f"  echo {name:>9}: {size / seconds / 1e6:7.0f} MB/s  ({seconds * 1e3:.1f} ms)")
        reference = medians["reference"]
        print(f"  echo reference/parse: {medians['parse'] / reference:.2f}x")
        print(f"  echo reference/raw:   {medians['raw'] / reference:.2f}x")
        if args.untuned:
            print(f"  echo reference/untuned: {medians['untuned'] / reference:.2f}x")
        if args.clients:
            concurrent_rows(servers, args)

        address = servers["reference"].address
        array = np.ones(size, np.uint8)
        stub_channel = grpc.insecure_channel(address, options=OPTIONS)
        channels.append(stub_channel)
        stub = ms_service_pb2_grpc.MSServiceStub(stub_channel).Predict

        def stub_infer() -> object:
            built = pb.PredictRequest()
            built.servable_spec.name = "conformance"
            built.servable_spec.method_name = "echo"
            built.servable_spec.version_number = 1
            codec.fill_array_tensor(built.instances.add().items["x"], array)
            reply = stub(built, timeout=CALL_TIMEOUT_S)
            return codec.tensor_to_array(reply.instances[0].items["y"])

        client = Client(address, "conformance", "echo", version_number=1, timeout=CALL_TIMEOUT_S)
        with client:

            def client_infer() -> object:
                result = client.infer({"x": array})
                assert isinstance(result, list) and result[0]["y"].size == size, result
                return result

            sides = {"stub": stub_infer, "client": client_infer}
            medians = rounds(sides, args.rounds, args.calls)
        for name, seconds in medians.items():
            print(f"  infer {name:>6}: {size / seconds / 1e6:7.0f} MB/s  ({seconds * 1e3:.1f} ms)")
        print(f"  infer client/stub: {medians['stub'] / medians['client']:.2f}x")
    finally:
        for channel in channels:
            channel.close()
        for server in servers.values():
            server.close()
    print(f"({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
