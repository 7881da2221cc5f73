"""Mutants only the wide input space and the full-reply comparison catch (issue 8): faults in
large tensors and texts, many instances, uint64 versions, near-miss names and concurrent calls
of mixed versions, none of which the small, polite requests of the other checks meet."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from mutants.catalogue import mutant
from mutants.seams import Wrapper, is_call, on_echo_outputs, on_replies, on_requests, step
from protos import ms_service_pb2 as pb
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher

Args = argparse.Namespace
MIB = 1024 * 1024


@mutant(
    "large-tensor-corrupted",
    "echo flips one byte at the 1 MiB mark of a tensor larger than 1 MiB (a chunked copy bug)",
    trips=("CORE-WIDE-TENSORS",),
)
def large_tensor_corrupted(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if len(y.data) > MIB:
            data = bytearray(y.data)
            data[MIB] ^= 0x01
            y.data = bytes(data)

    on_echo_outputs(behaviour, edit)


@mutant(
    "long-text-cut",
    "an MS_STRING or MS_BYTES value longer than 65535 bytes comes back cut to 65535 bytes "
    "(a 16-bit length field)",
    trips=("CORE-WIDE-TEXTS",),
)
def long_text_cut(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.bytes_val and len(y.bytes_val[0]) > 65535:
            y.bytes_val[0] = y.bytes_val[0][:65535]

    on_echo_outputs(behaviour, edit)


@mutant(
    "instances-beyond-100-dropped",
    "a reply holds at most 100 instances and 100 error entries (the rest are dropped)",
    trips=("CORE-WIDE-INSTANCES",),
)
def instances_beyond_100_dropped(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        del reply.instances[100:]
        del reply.error_msg[100:]

    on_replies(behaviour, edit)


@mutant(
    "version-signed-wrap",
    "a version of 2**63 or more is read as a negative int64 and served as version 0 (latest)",
    trips=("CORE-WIDE-LOOKUP",),
)
def version_signed_wrap(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest) -> None:
        if request.servable_spec.version_number >= 2**63:
            request.servable_spec.version_number = 0

    on_requests(behaviour, edit)


@mutant(
    "names-trimmed",
    "servable and method names are looked up with surrounding whitespace stripped",
    trips=("CORE-WIDE-LOOKUP",),
)
def names_trimmed(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest) -> None:
        spec = request.servable_spec
        spec.name, spec.method_name = spec.name.strip(), spec.method_name.strip()

    on_requests(behaviour, edit)


@mutant(
    "concurrent-version-shared",
    "concurrent echo calls are served at the version of the one already in flight (a batcher "
    "keyed by servable and method, not version)",
    trips=("CORE-CONCURRENT-MIXED",),
)
def concurrent_version_shared(args: Args, behaviour: Behaviour) -> None:
    lock = threading.Lock()
    in_flight: list[int] = []  # versions of the echo calls being served
    window = threading.Event()  # never set: a bounded wait that makes calls overlap

    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        if not is_call(request, "conformance", "echo"):
            return original(dispatcher, request)
        asked = request.servable_spec.version_number
        with lock:
            served = in_flight[0] if in_flight and asked in (0, 1, 2) else asked
            in_flight.append(served)
        try:
            window.wait(0.02)
            changed = pb.PredictRequest()
            changed.CopyFrom(request)
            changed.servable_spec.version_number = served
            reply = original(dispatcher, changed)
            reply.servable_spec.CopyFrom(request.servable_spec)
            return reply
        finally:
            with lock:
                in_flight.remove(served)


@mutant(
    "method-name-trimmed",
    "the method name (only it) is looked up with surrounding whitespace stripped",
    trips=("CORE-WIDE-LOOKUP",),
)
def method_name_trimmed(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest) -> None:
        request.servable_spec.method_name = request.servable_spec.method_name.strip()

    on_requests(behaviour, edit)


LARGE_BYTES = 32 * 1024  # "tens of KiB": where the mutant below starts sharing its buffer


def _largest(request: pb.PredictRequest) -> int:
    sizes = [len(t.data) for i in request.instances for t in i.items.values()]
    return max(sizes, default=0)


@mutant(
    "large-concurrent-corrupted",
    "echo stages numeric tensors of 32 KiB or more in one buffer shared by all calls: while "
    "two such calls are in flight, a byte in the middle of each reply's tensor is the other's",
    trips=("CORE-CONCURRENT-MIXED",),
)
def large_concurrent_corrupted(args: Args, behaviour: Behaviour) -> None:
    lock = threading.Lock()
    in_flight = [0]  # echo calls carrying a large tensor, being served
    window = threading.Event()  # never set: the staging copy's time, so that calls overlap

    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        if not is_call(request, "conformance", "echo") or _largest(request) < LARGE_BYTES:
            return original(dispatcher, request)
        with lock:
            in_flight[0] += 1
        try:
            reply = original(dispatcher, request)
            window.wait(0.02)
            with lock:
                shared = in_flight[0] > 1
            if shared:
                for instance in reply.instances:
                    y = instance.items.get("y")
                    if y is not None and len(y.data) >= LARGE_BYTES:
                        data = bytearray(y.data)
                        data[len(data) // 2] ^= 0x80
                        y.data = bytes(data)
            return reply
        finally:
            with lock:
                in_flight[0] -= 1
