#!/usr/bin/env python3
"""Where reference_server.views starts to pay: one request through each of the server's two paths.

    python bench/bench_request_path.py [--rounds 5] [--sizes 4 16 64 256 1024 16384]

In process, no gRPC, malloc tuned as the server's command line tunes it: the received body ->
reply bytes, as the servicer does it (reference_server.servicer):
* ``protobuf``: ``PredictRequest.FromString``, ``Dispatcher.answer``, then the reply's bytes
  (reference_server.wire's writer from 64 KiB, protobuf's own below);
* ``views``: ``reference_server.views.read_request``, ``Dispatcher.answer_view``,
  reference_server.wire's writer with the payloads kept out of the reply.

For each payload size (KiB), ``conformance.echo`` of one uint8 tensor and ``add.add_cast`` of
two float32 tensors (the request then carries twice the size): the median time per call of each
path over alternating rounds, and protobuf/views (above 1: the view path is faster). The size
where the ratio passes 1 is the crossover that servicer.VIEW_MIN follows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import memory, views, wire
from reference_server.dispatch import Dispatcher
from reference_server.servables import kit_registry


def _request(method: str, kib: int) -> bytes:
    request = pb.PredictRequest()
    request.servable_spec.name = "conformance" if method == "echo" else "add"
    request.servable_spec.method_name = method
    items = request.instances.add().items
    if method == "echo":
        codec.fill_array_tensor(items["x"], np.ones(kib * 1024, np.uint8))
    else:
        for name in ("x1", "x2"):
            codec.fill_array_tensor(items[name], np.ones(kib * 256, np.float32))
    return request.SerializeToString()


def _paths(dispatcher: Dispatcher, body: bytes) -> dict[str, Callable[[], bytes]]:
    large = len(body) >= wire.LARGE_TENSOR

    def by_protobuf() -> bytes:
        reply = dispatcher.answer(pb.PredictRequest.FromString(body))
        return wire.serialize_reply(reply) if large else reply.SerializeToString()

    def by_views() -> bytes:
        view = views.read_request(body)
        assert view is not None
        payloads: wire.Payloads = {}
        return wire.serialize_reply(dispatcher.answer(view, payloads), payloads)

    return {"protobuf": by_protobuf, "views": by_views}


def _per_call(call: Callable[[], bytes], seconds: float) -> float:
    call()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        call()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return (now - start) / count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--round-seconds", type=float, default=0.1, help="per path and round")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 4, 16, 32, 64, 128, 256, 1024, 16384]
    )
    args = parser.parse_args(argv)
    memory.tune_malloc()  # as the server's command line does at its first large request
    dispatcher = Dispatcher(kit_registry())
    print("bench_request_path: body -> reply bytes in process, median us per call")
    print(f"{'method':>8} {'KiB':>6} {'protobuf':>10} {'views':>10} {'protobuf/views':>15}")
    for method in ("echo", "add_cast"):
        for kib in args.sizes:
            paths = _paths(dispatcher, _request(method, kib))
            replies = {name: pb.PredictReply.FromString(call()) for name, call in paths.items()}
            assert replies["protobuf"] == replies["views"], (method, kib)
            times: dict[str, list[float]] = {name: [] for name in paths}
            for index in range(args.rounds):
                order = list(paths) if index % 2 == 0 else list(reversed(paths))
                for name in order:
                    times[name].append(_per_call(paths[name], args.round_seconds))
            medians = {name: statistics.median(values) for name, values in times.items()}
            ratio = medians["protobuf"] / medians["views"]
            print(
                f"{method:>8} {kib:>6} {medians['protobuf'] * 1e6:>10.1f} "
                f"{medians['views'] * 1e6:>10.1f} {ratio:>15.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
