"""Mutants of the core profile: gRPC status and error codes, request-level checks."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    abort_errors,
    declared_inputs,
    is_call,
    is_request_error,
    on_decode,
    on_replies,
    on_requests,
    step,
)
from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import checks, errors, replies
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import INVALID_INPUTS, Registry

Args = argparse.Namespace


@mutant(
    "status-not-ok-instances",
    "a reply with per-instance errors is replaced by gRPC status INTERNAL",
    trips=("CORE-STATUS-OK", "CORE-FAIL-PATTERN"),
)
def status_not_ok_instances(args: Args, behaviour: Behaviour) -> None:
    abort_errors(behaviour, grpc.StatusCode.INTERNAL, request_level=False)


@mutant(
    "status-not-ok-requests",
    "request-level errors come back as gRPC INVALID_ARGUMENT instead of status OK",
    trips=("CORE-STATUS-OK", "CORE-UNKNOWN-SERVABLE"),
)
def status_not_ok_requests(args: Args, behaviour: Behaviour) -> None:
    abort_errors(behaviour, grpc.StatusCode.INVALID_ARGUMENT, request_level=True)


@mutant(
    "error-code-zero",
    "request-level errors carry error code 0",
    trips=(
        "CORE-UNKNOWN-SERVABLE",
        "CORE-UNKNOWN-METHOD",
        "CORE-UNKNOWN-VERSION",
        "CORE-MISSING-INPUT",
    ),
)
def error_code_zero(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_request_error(reply):
            reply.error_msg[0].error_code = 0

    on_replies(behaviour, edit)


# -- request checks -------------------------------------------------------------------------


@mutant(
    "unknown-servable-empty",
    "an unknown servable gets an empty reply (no instance, no error)",
    trips=("CORE-UNKNOWN-SERVABLE",),
)
def unknown_servable_empty(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if self.registry.servable(request.servable_spec.name) is None:
            return pb.PredictReply(servable_spec=request.servable_spec)
        return original(self, request)


@mutant(
    "unknown-method-fallback",
    "an unknown method of a known servable is served by the servable's first method",
    trips=("CORE-UNKNOWN-METHOD", "CLIENT-RESULT-SHAPES"),
)
def unknown_method_fallback(args: Args, behaviour: Behaviour) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest) -> None:
        spec = request.servable_spec
        methods = self.registry.methods(spec.name, spec.version_number)
        if methods and spec.method_name not in methods:
            spec.method_name = next(iter(methods))

    on_requests(behaviour, edit)


@mutant(
    "missing-input-defaulted",
    "a missing declared input is taken as an empty MS_STRING",
    trips=("CORE-MISSING-INPUT",),
)
def missing_input_defaulted(args: Args, behaviour: Behaviour) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest) -> None:
        for name in declared_inputs(self.registry, request.servable_spec):
            for instance in request.instances:
                if name not in instance.items:
                    instance.items[name].CopyFrom(codec.text_tensor(""))

    on_requests(behaviour, edit)


Problem = Callable[[Sequence[str], pb.Instance], "str | None"]


def fail_bad_instances_alone(behaviour: Behaviour, problem: Problem) -> None:
    """Instances for which ``problem(declared inputs, instance)`` names a problem fail alone
    (code 2) instead of rejecting the request; the others are answered."""

    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        inputs = declared_inputs(self.registry, request.servable_spec)
        problems = [problem(inputs, instance) for instance in request.instances]
        bad = sum(p is not None for p in problems)
        if not inputs or bad in (0, len(problems)):
            return original(self, request)
        rest = pb.PredictRequest(servable_spec=request.servable_spec)
        pairs = zip(request.instances, problems, strict=True)
        rest.instances.extend(instance for instance, p in pairs if p is None)
        answered = original(self, rest)
        if is_request_error(answered):
            return answered
        entries = list(answered.error_msg) or [pb.ErrorMsg()] * len(answered.instances)
        good = iter(zip(answered.instances, entries, strict=True))
        reply = pb.PredictReply(servable_spec=request.servable_spec)
        for text in problems:
            if text is None:
                instance, entry = next(good)
            else:
                instance = pb.Instance()
                entry = pb.ErrorMsg(error_code=INVALID_INPUTS, error_msg=text.encode())
            reply.instances.append(instance)
            reply.error_msg.append(entry)
        return reply


@mutant(
    "missing-input-per-instance",
    "an instance missing a declared input fails alone instead of rejecting the request",
    trips=("CORE-MISSING-INPUT",),
)
def missing_input_per_instance(args: Args, behaviour: Behaviour) -> None:
    def problem(inputs: Sequence[str], instance: pb.Instance) -> str | None:
        missing = [name for name in inputs if name not in instance.items]
        return f"Cannot find input {missing[0]}" if missing else None

    fail_bad_instances_alone(behaviour, problem)


@mutant(
    "malformed-per-instance",
    "an instance with a malformed input tensor fails alone instead of rejecting the request",
    trips=("CORE-MALFORMED-DATA-SIZE", "CORE-MALFORMED-SHAPE"),
)
def malformed_per_instance(args: Args, behaviour: Behaviour) -> None:
    def problem(inputs: Sequence[str], instance: pb.Instance) -> str | None:
        for name in inputs:
            if name in instance.items:
                try:
                    checks.decode_tensor(instance.items[name], keep_wire=True)
                except checks.TensorProblem as exc:
                    return str(exc)
        return None

    fail_bad_instances_alone(behaviour, problem)


def _accept_malformed(name: str, detail_start: str, requirement: str) -> None:
    def install(args: Args, behaviour: Behaviour) -> None:
        on_decode(behaviour, lambda tensor, detail: detail.startswith(detail_start))

    mutant(
        name,
        f"a tensor with the problem '{detail_start}...' is accepted and echoed",
        trips=(requirement,),
    )(install)


_accept_malformed(
    "malformed-string-count-accepted",
    errors.TEXT_VALUE_COUNT,
    "CORE-MALFORMED-STRING-COUNT",
)
_accept_malformed(
    "malformed-string-dims-accepted",
    "Instance tensor check failed: bytes or string type input  shape",
    "CORE-MALFORMED-STRING-DIMS",
)
_accept_malformed(
    "malformed-shape-accepted", "Tensor check failed: input  shape", "CORE-MALFORMED-SHAPE"
)
_accept_malformed("malformed-dtype-accepted", errors.UNKNOWN_DTYPE, "CORE-MALFORMED-DTYPE")
_accept_malformed(
    "malformed-data-size-accepted",
    "Tensor check failed: input data size",
    "CORE-MALFORMED-DATA-SIZE",
)


def _wrapped_size_matches(tensor: pb.Tensor, detail: str) -> bool:
    """The data size check done in 64-bit integers: the byte count wraps modulo 2**64."""
    dtype = codec.BY_CODE.get(tensor.dtype)
    if not detail.startswith("Tensor check failed: input data size"):
        return False
    if dtype is None or not dtype.is_numeric:
        return False
    count = 1
    for dim in tensor.shape.dims:
        count *= dim
    return (count * dtype.itemsize) % 2**64 == len(tensor.data)


@mutant(
    "malformed-dims-product-wraps",
    "the data size check multiplies dims in 64-bit integers: dims whose byte count wraps to "
    "the data length sent (e.g. [2**32, 2**32] float32 with no data) are accepted",
    trips=("STRICT-HUGE-ELEMENT-COUNT",),
    profiles=("strict",),
)
def malformed_dims_product_wraps(args: Args, behaviour: Behaviour) -> None:
    on_decode(behaviour, _wrapped_size_matches)


@mutant(
    "absent-data-crashes",
    "a numeric tensor with no data field at all (not even an empty one) crashes the size check: "
    "code 3, not code 2",
    trips=("CORE-MALFORMED-DATA-SIZE",),
)
def absent_data_crashes(args: Args, behaviour: Behaviour) -> None:
    # What cosmic-ray's `WhichOneof(...) >= "shm_data"` did: None compared with a str.
    @step(behaviour, "decode_tensor")
    def decode_tensor(original: Wrapper, tensor: pb.Tensor, *, keep_wire: bool = False) -> Any:
        dtype = codec.BY_CODE.get(tensor.dtype)
        dims = list(tensor.shape.dims)
        if (
            dtype is not None
            and dtype.is_numeric
            and tensor.WhichOneof("tensor_data") is None
            and all(d > 0 for d in dims)  # data expected (the real one crashes only then)
        ):
            raise TypeError("'>=' not supported between instances of 'NoneType' and 'str'")
        return original(tensor, keep_wire=keep_wire)


@mutant(
    "checks-first-instance-only",
    "input tensors are checked in the first instance only; later ones pass unchecked",
    trips=("CORE-MALFORMED-DTYPE", "CORE-MALFORMED-STRING-DIMS"),
)
def checks_first_instance_only(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "check_request")
    def check_request(original: Wrapper, request: pb.PredictRequest, registry: Registry) -> Any:
        first = pb.PredictRequest(servable_spec=request.servable_spec)
        first.instances.extend(request.instances[:1])
        checked = original(first, registry)
        if isinstance(checked, checks.RequestError) or not checked.method.wire_inputs:
            return original(request, registry)
        for instance in request.instances[1:]:
            present = [name for name in checked.method.inputs if name in instance.items]
            checked.instances.append({name: instance.items[name] for name in present})
        return checked


@mutant(
    "extra-input-rejected",
    "an input the method does not declare rejects the request (code 2)",
    trips=("CORE-EXTRA-INPUT-IGNORED",),
)
def extra_input_rejected(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        declared = set(declared_inputs(self.registry, request.servable_spec))
        for instance in request.instances:
            extra = sorted(set(instance.items) - declared)
            if declared and extra:
                text = f"unexpected input {extra[0]}"
                return replies.error_reply(request.servable_spec, INVALID_INPUTS, text)
        return original(self, request)


@mutant(
    "request-errors-code-1",
    "request-level errors carry code 1 instead of 2 (INVALID_INPUTS)",
    trips=("CORE-MISSING-INPUT", "CORE-UNKNOWN-SERVABLE"),
    says=("a request-level error with code 2 (INVALID_INPUTS) is expected",),
)
def request_errors_code_1(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "check_request")
    def check_request(original: Wrapper, *args: Any) -> Any:
        checked = original(*args)
        if isinstance(checked, checks.RequestError) and checked.code == INVALID_INPUTS:
            return checks.RequestError(1, checked.message)
        return checked


@mutant(
    "hang-on-fail-3",
    "a fail request of 3 or more instances is never answered (until the server stops)",
    trips=("CORE-FAIL-PATTERN",),
    # The hang guard bounds the run: one 20 s deadline, then every call fails at once (about
    # 30 s in all, longer on a busy machine). Without it this run would pass --run-timeout
    # (exit 2, not caught): some twenty of its 40 examples hang 20 s each, and shrinking more.
    harness_args=("--run-timeout", "240"),
    says=("hung on an earlier request", "every later call to it fails at once"),
    waits=True,
)
def hang_on_fail_3(args: Args, behaviour: Behaviour) -> None:
    never = threading.Event()

    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if is_call(request, "conformance", "fail") and len(request.instances) >= 3:
            never.wait(300)  # bounded all the same; the harness kills the server long before
        return original(self, request)


DEAD_WORKER_CALLS = 3  # calls a dead worker spoils before a new one serves


@mutant(
    "refusal-from-a-dying-worker",
    "the first malformed tensor kills the worker: that request and the next "
    f"{DEAD_WORKER_CALLS} calls, whatever they ask, are answered code 2 `servable is not "
    "available` (a dying upstream's answer), then a new worker serves for good",
    trips=("CORE-MALFORMED-SHAPE",),
    says=("after the refusal",),
)
def refusal_from_a_dying_worker(args: Args, behaviour: Behaviour) -> None:
    # The dead window is a few calls of one check: a health echo after the check finds the
    # server serving again, so only a well-formed call right after the refusal catches it.
    left: list[int] = []  # calls the dead worker still answers; empty until it dies
    lock = threading.Lock()

    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        reply = original(self, request)
        with lock:
            if not left and is_request_error(reply):
                text = bytes(reply.error_msg[0].error_msg).decode("utf-8", "replace")
                if text.startswith(errors.input_check_failed("x", "")):  # echo's x malformed
                    left.append(DEAD_WORKER_CALLS + 1)
            dead = bool(left) and left[0] > 0
            if dead:
                left[0] -= 1
        if not dead:
            return reply
        spec = request.servable_spec
        text = errors.servable_unavailable(spec.name, spec.method_name, spec.version_number)
        return replies.error_reply(spec, INVALID_INPUTS, text)
