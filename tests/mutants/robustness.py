"""Mutants of the robustness profile: servers that crash, hang, die on garbage, leak, stall,
starve under a flood, or drop calls in flight at SIGTERM.

Crashing and hanging go through the Behaviour's ``predict`` step; SIGTERM through
``ReferenceServer.stop`` (public API). Garbage, leaks, stalls and floods happen before a request
exists, so those mutants replace the Behaviour's ``call`` step, which gets the gRPC call's
bodies and context before the server reads them.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc

from mutants.catalogue import mutant
from mutants.seams import Wrapper, around, step
from protos import ms_service_pb2 as pb
from reference_server import errors, replies
from reference_server.behaviour import Behaviour, Serve
from reference_server.dispatch import Dispatcher
from reference_server.registry import INVALID_INPUTS
from reference_server.server import ReferenceServer

ROBUSTNESS = ("robustness",)
_ENUM_CODES = range(0, 15)


def _tensors(request: pb.PredictRequest) -> Iterator[pb.Tensor]:
    for instance in request.instances:
        yield from instance.items.values()


def _first_body(bodies: Iterator[bytes]) -> bytes | None:
    try:
        return next(bodies, None)
    except grpc.RpcError:  # cancelled while waiting
        return None


def _resend(body: bytes | None) -> Iterator[bytes]:
    return iter(() if body is None else (body,))


@mutant(
    "robust-crash-on-hostile",
    "the process exits on a tensor whose dtype code is outside the enum",
    trips=("ROBUSTNESS-HOSTILE-REQUESTS",),
    profiles=ROBUSTNESS,
    says=("is gone",),
)
def crash_on_hostile(args: argparse.Namespace, behaviour: Behaviour) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        if any(tensor.dtype not in _ENUM_CODES for tensor in _tensors(request)):
            os._exit(70)
        return original(dispatcher, request)


@mutant(
    "robust-hang-on-many-dims",
    "a tensor of more than 64 dims is never answered",
    trips=("ROBUSTNESS-UPSTREAM-DEFECTS",),
    profiles=ROBUSTNESS,
    waits=True,
)
def hang_on_many_dims(args: argparse.Namespace, behaviour: Behaviour) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        if any(len(tensor.shape.dims) > 64 for tensor in _tensors(request)):
            time.sleep(60)
        return original(dispatcher, request)


@mutant(
    "robust-dies-on-garbage",
    "the process exits on a body that is not a PredictRequest",
    trips=("ROBUSTNESS-NOT-PROTOBUF",),
    profiles=ROBUSTNESS,
)
def dies_on_garbage(args: argparse.Namespace, behaviour: Behaviour) -> None:
    @step(behaviour, "call")
    def call(original: Wrapper, serve: Serve, bodies: Iterator[bytes], context: Any) -> Any:
        body = _first_body(bodies)
        if body is not None:
            try:
                pb.PredictRequest.FromString(body)
            except Exception:
                os._exit(70)
        return original(serve, _resend(body), context)


_KEPT: list[bytes] = []


@mutant(
    "robust-leaks",
    "every call keeps 64 KB for good",
    trips=("ROBUSTNESS-MEMORY-BOUNDED",),
    profiles=ROBUSTNESS,
    says=("RSS grew",),
)
def leaks(args: argparse.Namespace, behaviour: Behaviour) -> None:
    @step(behaviour, "call")
    def call(original: Wrapper, serve: Serve, bodies: Iterator[bytes], context: Any) -> Any:
        _KEPT.append(b"\x01" * 65536)  # written, so resident
        return original(serve, bodies, context)


@mutant(
    "robust-stalls",
    "a call waiting for its request holds one of 4 slots, with no bound on the wait",
    trips=("ROBUSTNESS-STALLED-CLIENTS",),
    profiles=ROBUSTNESS,
    waits=True,
)
def stalls(args: argparse.Namespace, behaviour: Behaviour) -> None:
    slots = threading.BoundedSemaphore(4)

    @step(behaviour, "call")
    def call(original: Wrapper, serve: Serve, bodies: Iterator[bytes], context: Any) -> Any:
        with slots:
            body = _first_body(bodies)
        return original(serve, _resend(body), context)


@mutant(
    "robust-flood-starves",
    "past 50 calls in a second every call waits 6 s (a flood starves everyone)",
    trips=("ROBUSTNESS-FLOOD",),
    profiles=ROBUSTNESS,
    waits=True,
)
def flood_starves(args: argparse.Namespace, behaviour: Behaviour) -> None:
    recent: collections.deque[float] = collections.deque()
    lock = threading.Lock()

    @step(behaviour, "call")
    def call(original: Wrapper, serve: Serve, bodies: Iterator[bytes], context: Any) -> Any:
        now = time.monotonic()
        with lock:
            recent.append(now)
            while recent and recent[0] < now - 1.0:
                recent.popleft()
            flooded = len(recent) > 50
        if flooded:
            time.sleep(6.0)
        return original(serve, bodies, context)


@mutant(
    "robust-sigterm-drops",
    "SIGTERM cancels the calls in flight at once (no grace)",
    trips=("ROBUSTNESS-SIGTERM-IN-FLIGHT",),
    profiles=ROBUSTNESS,
)
def sigterm_drops(args: argparse.Namespace, behaviour: Behaviour) -> None:
    @around(ReferenceServer, "stop")
    def stop(original: Wrapper, self: ReferenceServer, grace: float | None = None) -> Any:
        return original(self, None)


WORKER_MIB = 64  # what the worker holds (a model, say): resident, so the tree's RSS shows it
WORKER_DIES_AFTER = 1_200  # calls: partway through the memory check's 2,000 measured ones
_WORKER = (
    "import sys\n"
    f"held = b'\\x01' * ({WORKER_MIB} << 20)\n"  # written, so resident
    "sys.stdin.read()\n"  # until the server closes the pipe (or dies)
)


class _Workers:
    """A worker process per generation; each connection is served by the generation that was
    current when it first called. A dead generation's connections get `servable is not
    available`; a new connection starts a new worker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.generation = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.bound: dict[str, int] = {}
        self.spawn()

    def spawn(self) -> None:
        self.generation += 1
        self.process = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE)

    def die(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def serves(self, peer: str) -> bool:
        """Whether the call from ``peer`` is served (its worker alive)."""
        with self.lock:
            self.calls += 1
            if peer not in self.bound:
                if self.process is None:
                    self.spawn()
                self.bound[peer] = self.generation
            if self.calls == WORKER_DIES_AFTER:
                self.die()
            return self.process is not None and self.bound[peer] == self.generation


@mutant(
    "robust-memory-worker-dies",
    f"the {WORKER_MIB} MiB worker process dies after {WORKER_DIES_AFTER} calls: the connections "
    "it served are answered `servable is not available` from then on, new ones get a new worker",
    trips=("ROBUSTNESS-MEMORY-BOUNDED",),
    profiles=ROBUSTNESS,
    says=("right after the last RSS reading",),
)
def memory_worker_dies(args: argparse.Namespace, behaviour: Behaviour) -> None:
    # The tree's RSS drops by the worker's size mid-measurement, so the growth looks fine; the
    # health echo after the check comes on a new connection and is served, so only an echo on
    # the measured connections right after the reading catches it.
    workers = _Workers()

    @step(behaviour, "call")
    def call(original: Wrapper, serve: Serve, bodies: Iterator[bytes], context: Any) -> Any:
        if workers.serves(context.peer()):
            return original(serve, bodies, context)
        try:
            spec = pb.PredictRequest.FromString(_first_body(bodies) or b"").servable_spec
        except Exception:  # not protobuf: answered all the same
            spec = pb.ServableSpec()
        text = errors.servable_unavailable(spec.name, spec.method_name, spec.version_number)
        return replies.error_reply(spec, INVALID_INPUTS, text)
