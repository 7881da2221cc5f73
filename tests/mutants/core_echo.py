"""Mutants of the core profile: echo bit-exactness, versions and the echoed spec."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    is_call,
    on_echo_outputs,
    on_replies,
    on_requests,
    reorder,
    step,
)
from protos import codec
from protos import ms_service_pb2 as pb
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import Registry

Args = argparse.Namespace
SIGNED_OF = {
    pb.MS_UINT8: pb.MS_INT8,
    pb.MS_UINT16: pb.MS_INT16,
    pb.MS_UINT32: pb.MS_INT32,
    pb.MS_UINT64: pb.MS_INT64,
}


def _numeric(tensor: pb.Tensor) -> codec.DType | None:
    dtype = codec.BY_CODE.get(tensor.dtype)
    return dtype if dtype is not None and dtype.numpy is not None else None


def _edit_array(tensor: pb.Tensor, kinds: str, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    """Replace a numeric tensor's data by ``edit`` of its values (for numpy kinds ``kinds``)."""
    dtype = _numeric(tensor)
    if dtype is not None and dtype.numpy is not None and dtype.numpy.kind in kinds:
        values = np.frombuffer(tensor.data, dtype.numpy).copy()
        tensor.data = edit(values).astype(dtype.numpy).tobytes()


# -- echo -----------------------------------------------------------------------------------


@mutant(
    "echo-unsigned-as-signed",
    "echo answers unsigned integer tensors with the signed dtype code of the same width",
    trips=("CORE-ECHO-NUMERIC-ROUNDTRIP", "CORE-ECHO-SPECIAL-VALUES", "CLIENT-NUMERIC-MAPPING"),
)
def echo_unsigned_as_signed(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        y.dtype = SIGNED_OF.get(y.dtype, y.dtype)

    on_echo_outputs(behaviour, edit)


def byte_swap(y: pb.Tensor) -> None:
    _edit_array(y, "iuf", lambda values: values.byteswap())


@mutant(
    "echo-byte-order",
    "echo answers numeric tensors in big-endian byte order",
    trips=("CORE-ECHO-NUMERIC-ROUNDTRIP", "CORE-ECHO-SPECIAL-VALUES"),
)
def echo_byte_order(args: Args, behaviour: Behaviour) -> None:
    on_echo_outputs(behaviour, byte_swap)


@mutant(
    "echo-scalar-dims",
    "echo turns a numeric scalar's dims [] into [1]",
    trips=("CORE-ECHO-SCALAR-DIMS", "CLIENT-NUMERIC-MAPPING"),
)
def echo_scalar_dims(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if _numeric(y) is not None and not y.shape.dims:
            y.shape.dims.append(1)

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-empty-flattened",
    "echo flattens a zero-size tensor of rank > 1 to dims [0]",
    trips=("CORE-ECHO-EMPTY-TENSOR",),
)
def echo_empty_flattened(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if _numeric(y) is not None and len(y.shape.dims) > 1 and 0 in y.shape.dims:
            del y.shape.dims[:]
            y.shape.dims.append(0)

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-nan-canonical",
    "echo replaces every float NaN by the canonical quiet NaN (payload and sign lost)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_nan_canonical(args: Args, behaviour: Behaviour) -> None:
    on_echo_outputs(
        behaviour, lambda y: _edit_array(y, "f", lambda v: np.where(np.isnan(v), np.nan, v))
    )


@mutant(
    "echo-negative-zero",
    "echo turns float -0.0 into +0.0 (every other bit pattern kept)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_negative_zero(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        dtype = _numeric(y)
        if dtype is not None and dtype.numpy is not None and dtype.numpy.kind == "f":
            bits = np.frombuffer(y.data, f"<u{dtype.itemsize}").copy()
            bits[bits == 1 << (8 * dtype.itemsize - 1)] = 0  # exactly the -0.0 pattern
            y.data = bits.tobytes()

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-uint64-saturated",
    "echo saturates uint64 values above 2^63 - 1 (as if they went through an int64)",
    trips=("CORE-ECHO-SPECIAL-VALUES",),
)
def echo_uint64_saturated(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_UINT64:
            _edit_array(y, "u", lambda v: np.minimum(v, np.uint64(2**63 - 1)))

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-string-ascii",
    "echo re-encodes MS_STRING as ASCII: non-ASCII characters become '?'",
    trips=("CORE-ECHO-STRING", "CLIENT-PYTHON-VALUES"),
)
def echo_string_ascii(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_STRING:
            text = bytes(y.bytes_val[0]).decode("utf-8")
            y.bytes_val[0] = text.encode("ascii", "replace")

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-string-as-bytes",
    "echo answers an MS_STRING with dtype MS_BYTES (same bytes)",
    trips=("CORE-ECHO-STRING", "CLIENT-PYTHON-VALUES", "CLIENT-INFER-ASYNC"),
)
def echo_string_as_bytes(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_STRING:
            y.dtype = pb.MS_BYTES

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-bytes-cut-at-nul",
    "echo cuts an MS_BYTES value at its first NUL byte (C-string handling)",
    trips=("CORE-ECHO-BYTES",),
)
def echo_bytes_cut_at_nul(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_BYTES:
            y.bytes_val[0] = bytes(y.bytes_val[0]).split(b"\0")[0]

    on_echo_outputs(behaviour, edit)


@mutant(
    "echo-version-dims",
    "echo's version output has dims [1] instead of []",
    trips=("CORE-ECHO-VERSION-OUTPUT", "CORE-VERSION-SELECT", "CLIENT-NUMERIC-MAPPING"),
)
def echo_version_dims(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo"):
            for instance in reply.instances:
                instance.items["version"].shape.dims.append(1)

    on_replies(behaviour, edit)


@mutant(
    "echo-reversed",
    "echo answers a request of several instances in reverse order",
    trips=("CORE-ECHO-MULTI-INSTANCE", "CLIENT-INFER-ASYNC"),
)
def echo_reversed(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo") and not reply.error_msg:
            reorder(reply.instances, lambda instances: instances[::-1])

    on_replies(behaviour, edit)


# -- versions, spec, status -----------------------------------------------------------------


@mutant(
    "version-ignored",
    "the requested version is ignored: the latest version serves every call",
    trips=("CORE-VERSION-SELECT", "CORE-UNKNOWN-VERSION"),
)
def version_ignored(args: Args, behaviour: Behaviour) -> None:
    def edit(_: Dispatcher, request: pb.PredictRequest) -> None:
        request.servable_spec.version_number = 0

    on_requests(behaviour, edit)


@mutant(
    "version-unknown-latest",
    "a version that is not deployed is served by the latest version",
    trips=("CORE-UNKNOWN-VERSION",),
)
def version_unknown_latest(args: Args, behaviour: Behaviour) -> None:
    class LatestForUnknown(Registry):
        def methods(self, name: str, version: int) -> Any:
            return super().methods(name, version) or super().methods(name, 0)

    @step(behaviour, "deployed")
    def deployed(original: Wrapper, registry: Registry) -> Registry:
        kept: Registry = original(registry)
        servables = [kept.servable(name) for name in kept.names()]
        return LatestForUnknown([s for s in servables if s is not None], kept.backend)


@mutant(
    "spec-version-filled",
    "reply.servable_spec says the version that served (2) where the request said 0",
    trips=("CORE-SPEC-ECHO",),
)
def spec_version_filled(args: Args, behaviour: Behaviour) -> None:
    def edit(self: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        servable = self.registry.servable(request.servable_spec.name)
        if servable is not None and reply.servable_spec.version_number == 0:
            reply.servable_spec.version_number = servable.latest_version

    on_replies(behaviour, edit)
