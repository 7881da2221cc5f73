"""Mutants of the core profile: per-instance errors and reply shapes, the add servable,
concurrency."""

from __future__ import annotations

import argparse
import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    is_mixed,
    is_request_error,
    on_method,
    on_replies,
    reorder,
    step,
    whole_request_fails,
)
from protos import ms_service_pb2 as pb
from reference_server import errors, replies
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    FAILED,
    BatchFunction,
    Inputs,
    InstanceError,
    Outcome,
    Registry,
)

Args = argparse.Namespace


# -- per-instance errors and reply shapes ---------------------------------------------------


@mutant(
    "fail-error-shifted",
    "in a mixed reply the error entries are shifted one instance down",
    trips=("CORE-FAIL-PATTERN", "CORE-REPLY-MIXED"),
)
def fail_error_shifted(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_mixed(reply):
            reorder(reply.error_msg, lambda entries: entries[-1:] + entries[:-1])

    on_replies(behaviour, edit)


@mutant(
    "fail-leaks",
    "fail's instance error fails every instance of the request",
    trips=("CORE-FAIL-PATTERN", "CORE-REPLY-MIXED", "CLIENT-RESULT-SHAPES"),
)
def fail_leaks(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "conformance", "fail", whole_request_fails)


@mutant(
    "mixed-failed-entries-only",
    "a mixed reply has error entries for the failed instances only",
    trips=("CORE-REPLY-MIXED", "CORE-FAIL-PATTERN", "CLIENT-RESULT-SHAPES"),
)
def mixed_failed_entries_only(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_mixed(reply):
            reorder(reply.error_msg, lambda entries: [e for e in entries if e.error_code])

    on_replies(behaviour, edit)


@mutant(
    "mixed-ok-text",
    "the OK entries of a mixed reply carry the text 'OK'",
    trips=("CORE-REPLY-MIXED", "CORE-FAIL-PATTERN"),
)
def mixed_ok_text(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_mixed(reply):
            for entry in reply.error_msg:
                if not entry.error_code:
                    entry.error_msg = b"OK"

    on_replies(behaviour, edit)


@mutant(
    "all-ok-with-entries",
    "a reply whose instances all succeeded also carries one code-0 entry per instance",
    trips=("CORE-REPLY-ALL-OK",),
)
def all_ok_with_entries(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if reply.instances and not reply.error_msg:
            reply.error_msg.extend(pb.ErrorMsg() for _ in reply.instances)

    on_replies(behaviour, edit)


@mutant(
    "all-failed-no-entries",
    "when every instance fails with different errors the reply has empty instances, no error",
    trips=("CORE-REPLY-ALL-FAILED",),
)
def all_failed_no_entries(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if reply.instances and reply.error_msg and all(e.error_code for e in reply.error_msg):
            del reply.error_msg[:]

    on_replies(behaviour, edit)


# -- add ------------------------------------------------------------------------------------


def _each_input(edit: Callable[[Any], Any]) -> Callable[[BatchFunction], BatchFunction]:
    """A batch-function wrapper that passes every x1 and x2 through ``edit`` first."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            edited = [{name: edit(value) for name, value in i.items()} for i in inputs]
            return run(edited, backend)

        return batch

    return wrap


def _float32_resized(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float32 and value.size != 4:
        flat = value.ravel()[:4]
        return np.concatenate([flat, np.zeros(4 - flat.size, np.float32)])
    return value


@mutant(
    "add-common-float32-resized",
    "add_common pads or cuts a float32 input of the wrong byte size to 16 bytes",
    trips=("CORE-ADD-COMMON-SIZE",),
)
def add_common_float32_resized(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "add", "add_common", _each_input(_float32_resized))


def _16_bytes_as_float32(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.nbytes == 16 and value.dtype != np.float32:
        return np.frombuffer(value.tobytes(), np.float32)
    return value


@mutant(
    "add-common-dtype-unchecked",
    "add_common reads any 16-byte input as float32 (the dtype check is skipped)",
    trips=("CORE-ADD-COMMON-DTYPE",),
)
def add_common_dtype_unchecked(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "add", "add_common", _each_input(_16_bytes_as_float32))


def _batch_raises_on(bad: Callable[[Any], bool]) -> Callable[[BatchFunction], BatchFunction]:
    """A batch-function wrapper whose batch raises when an input is ``bad``: the input passed
    the size check it should have failed, and the model's batch cannot take it (every instance
    fails with code 3, docs/mutation.md M1 and M2)."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            if any(bad(value) for i in inputs for value in i.values()):
                raise ValueError("cannot reshape the batch")
            return run(inputs, backend)

        return batch

    return wrap


@mutant(
    "add-common-text-input-crashes",
    "add_common takes an MS_STRING or MS_BYTES input for a model input (no size 0 check): "
    "its batch fails every instance with code 3",
    trips=("CORE-ADD-COMMON-SIZE", "STRICT-TEXT-ADD-COMMON-SIZE"),
    profiles=("core", "strict"),
)
def add_common_text_input_crashes(args: Args, behaviour: Behaviour) -> None:
    wrap = _batch_raises_on(lambda value: isinstance(value, (str, bytes)))
    on_method(behaviour, "add", "add_common", wrap)


@mutant(
    "add-common-oversize-accepted",
    "add_common's size check is 'at most 16 bytes': a larger float32 input passes it and the "
    "batch fails every instance with code 3",
    trips=("CORE-ADD-COMMON-SIZE", "STRICT-TEXT-ADD-COMMON-SIZE"),
    profiles=("core", "strict"),
)
def add_common_oversize_accepted(args: Args, behaviour: Behaviour) -> None:
    def bad(value: Any) -> bool:
        return isinstance(value, np.ndarray) and value.dtype == np.float32 and value.nbytes > 16

    on_method(behaviour, "add", "add_common", _batch_raises_on(bad))


@mutant(
    "add-deployed-as-version-2",
    "the kit's add servable is deployed as version 2 instead of 1 (version 0 still serves it)",
    trips=("CORE-VERSION-SELECT",),
)
def add_deployed_as_version_2(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "deployed")
    def deployed(original: Wrapper, registry: Registry) -> Registry:
        registry = original(registry)
        servables = [registry.servable(name) for name in registry.names()]
        moved = [
            dataclasses.replace(s, versions={2: s.versions[1]}) if s.name == "add" else s
            for s in servables
            if s is not None
        ]
        return Registry(moved, registry.backend)


def _outputs(edit: Callable[[Inputs, Any], Any]) -> Callable[[BatchFunction], BatchFunction]:
    """A batch-function wrapper that replaces each OK outcome's y by ``edit(inputs, y)``."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            outcomes = run(inputs, backend)
            return [
                o if isinstance(o, InstanceError) else {**o, "y": edit(i, o["y"])}
                for i, o in zip(inputs, outcomes, strict=True)
            ]

        return batch

    return wrap


@mutant(
    "add-common-input-dims",
    "add_common's y takes x1's dims instead of the model's [2,2]",
    trips=("CORE-ADD-COMMON-RESULT",),
)
def add_common_input_dims(args: Args, behaviour: Behaviour) -> None:
    on_method(
        behaviour, "add", "add_common", _outputs(lambda i, y: np.asarray(y).reshape(i["x1"].shape))
    )


@mutant(
    "add-cast-float64",
    "add_cast answers y as float64 (same values) instead of float32",
    trips=("CORE-ADD-CAST-RESULT",),
)
def add_cast_float64(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "add", "add_cast", _outputs(lambda i, y: np.asarray(y, np.float64)))


# -- concurrency ----------------------------------------------------------------------------


@mutant(
    "shared-reply-slot",
    "replies pass through one shared slot: concurrent calls may get each other's reply",
    trips=("CORE-CONCURRENT-NO-MIXUP", "UDS-CONCURRENT-NO-MIXUP"),
    profiles=("core", "uds"),
)
def shared_reply_slot(args: Args, behaviour: Behaviour) -> None:
    slot: list[pb.PredictReply] = []
    # The race a real shared buffer has, made wide enough to lose every time: a bounded wait
    # between storing the reply and reading it back.
    window = threading.Event()

    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        slot[:] = [original(self, request)]
        window.wait(0.005)
        return slot[0]


@mutant(
    "collapse-to-generic-error",
    "an all-failed reply collapses to (1, 'Serving Error: something failed'), not to the "
    "instances' own error",
    trips=(
        "CORE-FAIL-PATTERN",
        "CORE-REPLY-ALL-FAILED",
        "CORE-ADD-COMMON-SIZE",
        "STRICT-FAIL-TEXT",
        "STRICT-TEXT-ADD-COMMON-SIZE",
        "STRICT-COLLAPSE-IDENTICAL-FAILURES",
    ),
    profiles=("core", "strict"),
    says=(
        "its text must contain the error it was given",
        "the expected code is 2 (INVALID_INPUTS)",
    ),
)
def collapse_to_generic_error(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "outcomes_reply")
    def outcomes_reply(original: Wrapper, *args: Any) -> pb.PredictReply:
        reply: pb.PredictReply = original(*args)
        if is_request_error(reply):
            return replies.error_reply(reply.servable_spec, 1, "Serving Error: something failed")
        return reply


@mutant(
    "capacity-leak-on-failure",
    "a request with a failed instance keeps its place in the queue after it is answered, so "
    "that after 10,000 of them every request is refused as over capacity",
    trips=("CORE-CAPACITY-RELEASED",),
)
def capacity_leak_on_failure(args: Args, behaviour: Behaviour) -> None:
    leaked = [0]
    lock = threading.Lock()

    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        with lock:
            full = leaked[0] >= self.queue_limit
        if full:
            return behaviour.error_reply(
                request.servable_spec, FAILED, errors.queue_full(self.queue_limit)
            )
        reply = original(self, request)
        if any(entry.error_code for entry in reply.error_msg):
            with lock:
                leaked[0] += 1
        return reply
