"""The request checks of protocol.md §3, pure: a PredictRequest in, decoded instances or one
request-level error out. No gRPC, no sockets; the texts are upstream's, character for character
(double spaces included), except where this project answers an upstream defect.

Order (the first failure wins):

1. servable name and version (0 = the highest deployed);
2. method name;
3. at least one instance (upstream never answers an empty request; we do);
4. for every instance in order, every declared input in declared order: present, then a
   well-formed tensor (string/bytes: one value, dims [] or [1], valid UTF-8 for strings;
   numeric: no negative dim and nothing after a 0 dim, a known dtype, a matching data size).

Undeclared extra inputs are ignored. Model-style per-instance checks (size, dtype) belong to the
servables (reference_server.servables.model_inputs), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server.registry import INVALID_INPUTS, Method, Registry


@dataclass(frozen=True, slots=True)
class RequestError:
    """The whole request is refused with one error entry."""

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A request that passed every check, ready for its method's batch function."""

    servable: str
    method: Method
    # One mapping per instance, input name -> decoded value (ndarray / str / bytes), or the
    # wire Tensor itself when the method takes wire inputs.
    instances: list[dict[str, Any]]


def spec_repr(servable: str, method: str, version: int) -> str:
    """Upstream's rendering of a requested servable spec (note the spaces)."""
    text = f"servable({servable}) method({method}) "
    if version > 0:
        text += f" version({version}) "
    return text


def servable_unavailable(servable: str, method: str, version: int) -> str:
    return f"Request {spec_repr(servable, method, version)}, servable is not available"


def method_unavailable(servable: str, method: str, version: int) -> str:
    return f"Request {spec_repr(servable, method, version)}, method is not available"


def no_instances(servable: str, method: str) -> str:
    return f"Instances count of request cannot be 0, servable: {servable}, method: {method}"


def missing_input(name: str, servable: str, method: str) -> str:
    return f"Cannot find input {name} in instance input , servable {servable}, method {method}"


def input_check_failed(name: str, detail: str) -> str:
    return f"Instances input {name} check failed, detail: {detail}"


def format_shape(dims: Sequence[int]) -> str:
    """A shape as upstream prints it: ``[2, 3]``, ``[]``."""
    return "[" + ", ".join(str(d) for d in dims) + "]"


# Details of a malformed tensor (the part after "detail: ").
TEXT_VALUE_COUNT = (
    "Instance tensor check failed: bytes or string type shape batch size can only be 1"
)
UNKNOWN_DTYPE = "Tensor check failed: input data type proto::MS_UNKNOWN invalid"
NOT_UTF8 = "Instance tensor check failed: string type input is not valid UTF-8 text"
SHARED_MEMORY = "Tensor check failed: input shared memory data is not supported by this server"


def text_shape_invalid(dims: Sequence[int]) -> str:
    return (
        "Instance tensor check failed: bytes or string type input  shape can only be (1,) or "
        f"empty, but given shape is {format_shape(dims)}"
    )


def shape_invalid(dims: Sequence[int]) -> str:
    return f"Tensor check failed: input  shape {format_shape(dims)} invalid"


def data_size_invalid(size: int) -> str:
    return f"Tensor check failed: input data size {size} invalid"


class TensorProblem(ValueError):
    """A malformed tensor; the message is the detail text."""


_TEXT_CODES = (codec.STRING.code, codec.BYTES.code)


def decode_tensor(tensor: pb.Tensor, *, keep_wire: bool = False) -> Any:
    """Check one input tensor and return its value; TensorProblem with upstream's detail.

    Numeric -> a read-only numpy array over the received bytes, shape as sent; MS_STRING -> str;
    MS_BYTES -> bytes. ``keep_wire``: check the same way but return ``tensor`` itself.
    """
    code = tensor.dtype
    dims = tuple(tensor.shape.dims)
    if code in _TEXT_CODES:
        if len(tensor.bytes_val) != 1:
            raise TensorProblem(TEXT_VALUE_COUNT)
        if len(dims) > 1 or (len(dims) == 1 and dims[0] != 1):
            raise TensorProblem(text_shape_invalid(dims))
        value: bytes = tensor.bytes_val[0]
        if code == codec.BYTES.code:
            return tensor if keep_wire else value
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            # Upstream's worker crashes here; we refuse the request instead.
            raise TensorProblem(NOT_UTF8) from None
        return tensor if keep_wire else text

    # Numeric: the shape first, then the dtype, then the size (upstream's order).
    count = 1
    seen_zero = False
    for dim in dims:
        if dim < 0 or seen_zero:
            raise TensorProblem(shape_invalid(dims))
        seen_zero = dim == 0
        count *= dim
    dtype = codec.BY_CODE.get(code)
    if dtype is None:  # MS_UNKNOWN or a number outside the enum
        raise TensorProblem(UNKNOWN_DTYPE)
    data = tensor.data  # one copy out of the message: read it once
    if len(data) != count * dtype.itemsize:
        # Shared-memory data (in the oneof instead of ``data``) is not ours to attach.
        shared = tensor.WhichOneof("tensor_data") == "shm_data"
        raise TensorProblem(SHARED_MEMORY if shared else data_size_invalid(len(data)))
    if keep_wire:
        return tensor
    # Read-only (the buffer is bytes), no copy; one call instead of frombuffer + reshape.
    return np.ndarray(dims, dtype.numpy, data)


def check_request(request: pb.PredictRequest, registry: Registry) -> CheckedRequest | RequestError:
    """Run §3's checks in order; the decoded instances, or the first failure."""
    spec = request.servable_spec
    servable, method_name, version = spec.name, spec.method_name, spec.version_number
    methods = registry.methods(servable, version)
    if methods is None:
        return RequestError(INVALID_INPUTS, servable_unavailable(servable, method_name, version))
    method = methods.get(method_name)
    if method is None:
        return RequestError(INVALID_INPUTS, method_unavailable(servable, method_name, version))
    if not request.instances:
        return RequestError(INVALID_INPUTS, no_instances(servable, method_name))

    keep_wire = method.wire_inputs
    decoded: list[dict[str, Any]] = []
    for instance in request.instances:
        items = instance.items
        values: dict[str, Any] = {}
        for name in method.inputs:
            tensor = items.get(name)
            if tensor is None:
                return RequestError(INVALID_INPUTS, missing_input(name, servable, method_name))
            try:
                values[name] = decode_tensor(tensor, keep_wire=keep_wire)
            except TensorProblem as problem:
                return RequestError(INVALID_INPUTS, input_check_failed(name, str(problem)))
        decoded.append(values)
    return CheckedRequest(servable, method, decoded)
