"""Mutants of the core profile: echo bit-exactness, versions and specs, request checks,
per-instance errors and reply shapes, the add servable, concurrency."""

from __future__ import annotations

import argparse
import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import numpy as np

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    around,
    is_call,
    is_request_error,
    on_decode,
    on_echo_outputs,
    on_method,
    on_replies,
    on_requests,
)
from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import checks, replies
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    INVALID_INPUTS,
    BatchFunction,
    Inputs,
    InstanceError,
    Outcome,
    Registry,
)
from reference_server.servicer import PredictServicer

Args = argparse.Namespace
SIGNED_OF = {pb.MS_UINT8: pb.MS_INT8, pb.MS_UINT16: pb.MS_INT16, pb.MS_UINT32: pb.MS_INT32}
SIGNED_OF[pb.MS_UINT64] = pb.MS_INT64


def _numeric(tensor: pb.Tensor) -> codec.DType | None:
    dtype = codec.BY_CODE.get(tensor.dtype)
    return dtype if dtype is not None and dtype.numpy is not None else None


def _edit_array(tensor: pb.Tensor, kinds: str, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    """Replace a numeric tensor's data by ``edit`` of its values (for numpy kinds ``kinds``)."""
    dtype = _numeric(tensor)
    if dtype is not None and dtype.numpy is not None and dtype.numpy.kind in kinds:
        values = np.frombuffer(tensor.data, dtype.numpy).copy()
        tensor.data = edit(values).astype(dtype.numpy).tobytes()


def _mixed(reply: pb.PredictReply) -> bool:
    """Reply shape 3 with at least one failure."""
    return bool(reply.instances) and any(e.error_code for e in reply.error_msg)


def _reorder(field: Any, order: Callable[[list[Any]], list[Any]]) -> None:
    """Replace a repeated message field's items by ``order`` of (copies of) them."""
    items = order([copy.deepcopy(item) for item in field])
    del field[:]
    field.extend(items)


# -- echo -----------------------------------------------------------------------------------


@mutant(
    "echo-unsigned-as-signed",
    "echo answers unsigned integer tensors with the signed dtype code of the same width",
    trips=("CORE-ECHO-NUMERIC-ROUNDTRIP", "CORE-ECHO-SPECIAL-VALUES", "CLIENT-NUMERIC-MAPPING"),
)
def echo_unsigned_as_signed(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        y.dtype = SIGNED_OF.get(y.dtype, y.dtype)

    on_echo_outputs(edit)


def byte_swap(y: pb.Tensor) -> None:
    _edit_array(y, "iuf", lambda values: values.byteswap())


@mutant(
    "echo-byte-order",
    "echo answers numeric tensors in big-endian byte order",
    trips=("CORE-ECHO-NUMERIC-ROUNDTRIP", "CORE-ECHO-SPECIAL-VALUES"),
)
def echo_byte_order(args: Args) -> None:
    on_echo_outputs(byte_swap)


@mutant(
    "echo-scalar-dims",
    "echo turns a numeric scalar's dims [] into [1]",
    trips=("CORE-ECHO-SCALAR-DIMS", "CLIENT-NUMERIC-MAPPING"),
)
def echo_scalar_dims(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if _numeric(y) is not None and not y.shape.dims:
            y.shape.dims.append(1)

    on_echo_outputs(edit)


@mutant(
    "echo-empty-flattened",
    "echo flattens a zero-size tensor of rank > 1 to dims [0]",
    trips=("CORE-ECHO-EMPTY-TENSOR",),
)
def echo_empty_flattened(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if _numeric(y) is not None and len(y.shape.dims) > 1 and 0 in y.shape.dims:
            del y.shape.dims[:]
            y.shape.dims.append(0)

    on_echo_outputs(edit)


@mutant(
    "echo-nan-canonical",
    "echo replaces every float NaN by the canonical quiet NaN (payload and sign lost)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_nan_canonical(args: Args) -> None:
    on_echo_outputs(lambda y: _edit_array(y, "f", lambda v: np.where(np.isnan(v), np.nan, v)))


@mutant(
    "echo-negative-zero",
    "echo turns float -0.0 into +0.0 (every other bit pattern kept)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_negative_zero(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        dtype = _numeric(y)
        if dtype is not None and dtype.numpy is not None and dtype.numpy.kind == "f":
            bits = np.frombuffer(y.data, f"<u{dtype.itemsize}").copy()
            bits[bits == 1 << (8 * dtype.itemsize - 1)] = 0  # exactly the -0.0 pattern
            y.data = bits.tobytes()

    on_echo_outputs(edit)


@mutant(
    "echo-uint64-saturated",
    "echo saturates uint64 values above 2^63 - 1 (as if they went through an int64)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_uint64_saturated(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_UINT64:
            _edit_array(y, "u", lambda v: np.minimum(v, np.uint64(2**63 - 1)))

    on_echo_outputs(edit)


@mutant(
    "echo-string-ascii",
    "echo re-encodes MS_STRING as ASCII: non-ASCII characters become '?'",
    trips=("CORE-ECHO-STRING", "CLIENT-PYTHON-VALUES"),
)
def echo_string_ascii(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_STRING:
            text = bytes(y.bytes_val[0]).decode("utf-8")
            y.bytes_val[0] = text.encode("ascii", "replace")

    on_echo_outputs(edit)


@mutant(
    "echo-string-as-bytes",
    "echo answers an MS_STRING with dtype MS_BYTES (same bytes)",
    trips=("CORE-ECHO-STRING", "CLIENT-PYTHON-VALUES", "CLIENT-INFER-ASYNC"),
)
def echo_string_as_bytes(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_STRING:
            y.dtype = pb.MS_BYTES

    on_echo_outputs(edit)


@mutant(
    "echo-bytes-cut-at-nul",
    "echo cuts an MS_BYTES value at its first NUL byte (C-string handling)",
    trips=("CORE-ECHO-BYTES",),
)
def echo_bytes_cut_at_nul(args: Args) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_BYTES:
            y.bytes_val[0] = bytes(y.bytes_val[0]).split(b"\0")[0]

    on_echo_outputs(edit)


@mutant(
    "echo-version-dims",
    "echo's version output has dims [1] instead of []",
    trips=("CORE-ECHO-VERSION-OUTPUT", "CORE-VERSION-SELECT", "CLIENT-NUMERIC-MAPPING"),
)
def echo_version_dims(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo"):
            for instance in reply.instances:
                instance.items["version"].shape.dims.append(1)

    on_replies(edit)


@mutant(
    "echo-reversed",
    "echo answers a request of several instances in reverse order",
    trips=("CORE-ECHO-MULTI-INSTANCE", "CLIENT-INFER-ASYNC"),
)
def echo_reversed(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo") and not reply.error_msg:
            _reorder(reply.instances, lambda instances: instances[::-1])

    on_replies(edit)


# -- versions, spec, status -----------------------------------------------------------------


@mutant(
    "version-ignored",
    "the requested version is ignored: the latest version serves every call",
    trips=("CORE-VERSION-SELECT", "CORE-UNKNOWN-VERSION"),
)
def version_ignored(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest) -> None:
        request.servable_spec.version_number = 0

    on_requests(edit)


@mutant(
    "version-unknown-latest",
    "a version that is not deployed is served by the latest version",
    trips=("CORE-UNKNOWN-VERSION",),
)
def version_unknown_latest(args: Args) -> None:
    @around(Registry, "methods")
    def methods(original: Wrapper, self: Registry, name: str, version: int) -> Any:
        return original(self, name, version) or original(self, name, 0)


@mutant(
    "spec-version-filled",
    "reply.servable_spec says the version that served (2) where the request said 0",
    trips=("CORE-SPEC-ECHO",),
)
def spec_version_filled(args: Args) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        servable = self.registry.servable(request.servable_spec.name)
        if servable is not None and reply.servable_spec.version_number == 0:
            reply.servable_spec.version_number = servable.latest_version

    on_replies(edit)


def abort_errors(code: grpc.StatusCode, *, request_level: bool) -> None:
    """One layer of errors ends the RPC with gRPC status ``code`` instead of a reply:
    request-level errors (``request_level``) or per-instance ones (a mixed reply)."""

    @around(PredictServicer, "Predict")
    def predict(
        original: Wrapper,
        self: PredictServicer,
        request: pb.PredictRequest,
        context: grpc.ServicerContext,
    ) -> Any:
        reply = original(self, request, context)
        if is_request_error(reply) if request_level else _mixed(reply):
            error = next(e for e in reply.error_msg if e.error_code)
            context.abort(code, bytes(error.error_msg).decode())
        return reply


@mutant(
    "status-not-ok-instances",
    "a reply with per-instance errors is replaced by gRPC status INTERNAL",
    trips=("CORE-STATUS-OK", "CORE-FAIL-PATTERN"),
)
def status_not_ok_instances(args: Args) -> None:
    abort_errors(grpc.StatusCode.INTERNAL, request_level=False)


@mutant(
    "status-not-ok-requests",
    "request-level errors come back as gRPC INVALID_ARGUMENT instead of status OK",
    trips=("CORE-STATUS-OK", "CORE-UNKNOWN-SERVABLE"),
    missed="the harness's readiness probe (a Predict to an unknown servable) takes only a reply "
    "with status OK as 'ready', so this server is reported as never ready (exit 2, 'the "
    "harness could not run') instead of failing CORE-STATUS-OK (exit 1)",
    harness_args=("--ready-timeout", "5"),
)
def status_not_ok_requests(args: Args) -> None:
    abort_errors(grpc.StatusCode.INVALID_ARGUMENT, request_level=True)


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
def error_code_zero(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_request_error(reply):
            reply.error_msg[0].error_code = 0

    on_replies(edit)


# -- request checks -------------------------------------------------------------------------


@mutant(
    "unknown-servable-empty",
    "an unknown servable gets an empty reply (no instance, no error)",
    trips=("CORE-UNKNOWN-SERVABLE",),
)
def unknown_servable_empty(args: Args) -> None:
    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if self.registry.servable(request.servable_spec.name) is None:
            return pb.PredictReply(servable_spec=request.servable_spec)
        return original(self, request)


@mutant(
    "unknown-method-fallback",
    "an unknown method of a known servable is served by the servable's first method",
    trips=("CORE-UNKNOWN-METHOD", "CLIENT-RESULT-SHAPES"),
)
def unknown_method_fallback(args: Args) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest) -> None:
        spec = request.servable_spec
        methods = self.registry.methods(spec.name, spec.version_number)
        if methods and spec.method_name not in methods:
            spec.method_name = next(iter(methods))

    on_requests(edit)


def _declared_inputs(registry: Registry, spec: pb.ServableSpec) -> Sequence[str]:
    methods = registry.methods(spec.name, spec.version_number) or {}
    method = methods.get(spec.method_name)
    return method.inputs if method is not None else ()


@mutant(
    "missing-input-defaulted",
    "a missing declared input is taken as an empty MS_STRING",
    trips=("CORE-MISSING-INPUT",),
)
def missing_input_defaulted(args: Args) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest) -> None:
        for name in _declared_inputs(self.registry, request.servable_spec):
            for instance in request.instances:
                if name not in instance.items:
                    instance.items[name].CopyFrom(codec.text_tensor(""))

    on_requests(edit)


Problem = Callable[[Sequence[str], pb.Instance], "str | None"]


def fail_bad_instances_alone(problem: Problem) -> None:
    """Instances for which ``problem(declared inputs, instance)`` names a problem fail alone
    (code 2) instead of rejecting the request; the others are answered."""

    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        inputs = _declared_inputs(self.registry, request.servable_spec)
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
def missing_input_per_instance(args: Args) -> None:
    def problem(inputs: Sequence[str], instance: pb.Instance) -> str | None:
        missing = [name for name in inputs if name not in instance.items]
        return f"Cannot find input {missing[0]}" if missing else None

    fail_bad_instances_alone(problem)


@mutant(
    "malformed-per-instance",
    "an instance with a malformed input tensor fails alone instead of rejecting the request",
    trips=("CORE-MALFORMED-DATA-SIZE", "CORE-MALFORMED-SHAPE"),
)
def malformed_per_instance(args: Args) -> None:
    def problem(inputs: Sequence[str], instance: pb.Instance) -> str | None:
        for name in inputs:
            if name in instance.items:
                try:
                    checks.decode_tensor(instance.items[name], keep_wire=True)
                except checks.TensorProblem as exc:
                    return str(exc)
        return None

    fail_bad_instances_alone(problem)


def _accept_malformed(name: str, detail_start: str, requirement: str) -> None:
    def install(args: Args) -> None:
        on_decode(lambda tensor, detail: detail.startswith(detail_start))

    mutant(
        name,
        f"a tensor with the problem '{detail_start}...' is accepted and echoed",
        trips=(requirement,),
    )(install)


_accept_malformed(
    "malformed-string-count-accepted",
    checks.TEXT_VALUE_COUNT,
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
_accept_malformed("malformed-dtype-accepted", checks.UNKNOWN_DTYPE, "CORE-MALFORMED-DTYPE")
_accept_malformed(
    "malformed-data-size-accepted",
    "Tensor check failed: input data size",
    "CORE-MALFORMED-DATA-SIZE",
)


@mutant(
    "checks-first-instance-only",
    "input tensors are checked in the first instance only; later ones pass unchecked",
    trips=("CORE-MALFORMED-DTYPE", "CORE-MALFORMED-STRING-DIMS"),
)
def checks_first_instance_only(args: Args) -> None:
    @around(checks, "check_request")
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
def extra_input_rejected(args: Args) -> None:
    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        declared = set(_declared_inputs(self.registry, request.servable_spec))
        for instance in request.instances:
            extra = sorted(set(instance.items) - declared)
            if declared and extra:
                text = f"unexpected input {extra[0]}"
                return replies.error_reply(request.servable_spec, INVALID_INPUTS, text)
        return original(self, request)


# -- per-instance errors and reply shapes ---------------------------------------------------


@mutant(
    "fail-error-shifted",
    "in a mixed reply the error entries are shifted one instance down",
    trips=("CORE-FAIL-PATTERN", "CORE-REPLY-MIXED"),
)
def fail_error_shifted(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if _mixed(reply):
            _reorder(reply.error_msg, lambda entries: entries[-1:] + entries[:-1])

    on_replies(edit)


def whole_request_fails(run: BatchFunction) -> BatchFunction:
    """One failing instance fails every instance of its request (a batch-level failure)."""

    def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
        outcomes = run(inputs, backend)
        failed = [o for o in outcomes if isinstance(o, InstanceError)]
        return [failed[0]] * len(outcomes) if failed else outcomes

    return batch


@mutant(
    "fail-leaks",
    "fail's instance error fails every instance of the request",
    trips=("CORE-FAIL-PATTERN", "CORE-REPLY-MIXED", "CLIENT-RESULT-SHAPES"),
)
def fail_leaks(args: Args) -> None:
    on_method("conformance", "fail", whole_request_fails)


@mutant(
    "mixed-failed-entries-only",
    "a mixed reply has error entries for the failed instances only",
    trips=("CORE-REPLY-MIXED", "CORE-FAIL-PATTERN", "CLIENT-RESULT-SHAPES"),
)
def mixed_failed_entries_only(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if _mixed(reply):
            _reorder(reply.error_msg, lambda entries: [e for e in entries if e.error_code])

    on_replies(edit)


@mutant(
    "mixed-ok-text",
    "the OK entries of a mixed reply carry the text 'OK'",
    trips=("CORE-REPLY-MIXED", "CORE-FAIL-PATTERN"),
)
def mixed_ok_text(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if _mixed(reply):
            for entry in reply.error_msg:
                if not entry.error_code:
                    entry.error_msg = b"OK"

    on_replies(edit)


@mutant(
    "all-ok-with-entries",
    "a reply whose instances all succeeded also carries one code-0 entry per instance",
    trips=("CORE-REPLY-ALL-OK",),
)
def all_ok_with_entries(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if reply.instances and not reply.error_msg:
            reply.error_msg.extend(pb.ErrorMsg() for _ in reply.instances)

    on_replies(edit)


@mutant(
    "all-failed-no-entries",
    "when every instance fails with different errors the reply has empty instances, no error",
    trips=("CORE-REPLY-ALL-FAILED",),
)
def all_failed_no_entries(args: Args) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if reply.instances and reply.error_msg and all(e.error_code for e in reply.error_msg):
            del reply.error_msg[:]

    on_replies(edit)


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
def add_common_float32_resized(args: Args) -> None:
    on_method("add", "add_common", _each_input(_float32_resized))


def _16_bytes_as_float32(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.nbytes == 16 and value.dtype != np.float32:
        return np.frombuffer(value.tobytes(), np.float32)
    return value


@mutant(
    "add-common-dtype-unchecked",
    "add_common reads any 16-byte input as float32 (the dtype check is skipped)",
    trips=("CORE-ADD-COMMON-DTYPE",),
)
def add_common_dtype_unchecked(args: Args) -> None:
    on_method("add", "add_common", _each_input(_16_bytes_as_float32))


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
def add_common_input_dims(args: Args) -> None:
    on_method("add", "add_common", _outputs(lambda i, y: np.asarray(y).reshape(i["x1"].shape)))


@mutant(
    "add-cast-float64",
    "add_cast answers y as float64 (same values) instead of float32",
    trips=("CORE-ADD-CAST-RESULT",),
)
def add_cast_float64(args: Args) -> None:
    on_method("add", "add_cast", _outputs(lambda i, y: np.asarray(y, np.float64)))


# -- concurrency ----------------------------------------------------------------------------


@mutant(
    "shared-reply-slot",
    "replies pass through one shared slot: concurrent calls may get each other's reply",
    trips=("CORE-CONCURRENT-NO-MIXUP", "UDS-CONCURRENT-NO-MIXUP"),
    profiles=("core", "uds"),
)
def shared_reply_slot(args: Args) -> None:
    slot: list[pb.PredictReply] = []
    # The race a real shared buffer has, made wide enough to lose every time: a bounded wait
    # between storing the reply and reading it back.
    window = threading.Event()

    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        slot[:] = [original(self, request)]
        window.wait(0.005)
        return slot[0]
