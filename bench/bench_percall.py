#!/usr/bin/env python3
"""The reference server's own Python per small call, in CPU instructions (load-independent).

    python bench/bench_percall.py [--calls 5000]

Runs one ``add.add_common`` call (one float32 [2,2] instance, as bench_overhead.py sends) through
the Predict handler in-process, without gRPC: the body parsed, the Dispatcher's answer, the
reply serialized, the handler's bookkeeping (call count, receive watchdog, compute limit). Under
``valgrind --tool=callgrind`` it counts the instructions of two runs that differ only in the
number of calls and prints the difference per call, for the whole handler and for
``Dispatcher.predict`` alone. Instruction counts do not move with the machine's load, unlike
wall-clock rates; they do not show cache misses or GIL hand-offs. Needs valgrind on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

RUNS = (500, 500)  # calls of the short run; the long run adds --calls


def _calls(what: str, count: int) -> None:
    """Make ``count`` calls of ``what`` in this process (the child of a valgrind run)."""
    from bench_overhead import add_common_request  # a sibling: bench/ is sys.path[0]

    from protos import ms_service_pb2 as pb
    from reference_server.dispatch import Dispatcher
    from reference_server.servables import kit_registry
    from reference_server.servicer import add_to_server

    class Server:
        def add_generic_rpc_handlers(self, handlers: Any) -> None:
            pass

    class Context:
        def abort(self, *args: Any) -> None:
            raise RuntimeError(args)

    dispatcher = Dispatcher(kit_registry())
    handler = add_to_server(Server(), dispatcher)  # type: ignore[arg-type]
    request = add_common_request()
    body = request.SerializeToString()
    serialize = handler._handler.response_serializer
    context = Context()
    for _ in range(count):
        if what == "handler":
            serialize(handler._predict(iter((body,)), context))  # type: ignore[arg-type]
        else:
            dispatcher.predict(pb.PredictRequest.FromString(body))


def _instructions(what: str, count: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--child", what, str(count)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts in both runs
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    found = re.search(r"Collected : ([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"bench_percall: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="extra calls of the long run")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _calls(args.child[0], int(args.child[1]))
        return 0
    for what in ("handler", "dispatch"):
        short = _instructions(what, RUNS[0])
        long = _instructions(what, RUNS[0] + args.calls)
        label = "handler (parse, predict, serialize)" if what == "handler" else "parse + predict"
        print(f"{label:38s} {(long - short) / args.calls / 1000:7.1f} k instructions per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
