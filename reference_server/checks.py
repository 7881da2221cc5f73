"""The request checks of protocol.md §3, pure: a PredictRequest in, decoded instances or one
request-level error out. No gRPC, no sockets; the codes and texts come from
reference_server.errors.

Order (the first failure wins):

1. servable name and version (0 = the highest deployed);
2. method name;
3. at least one instance (upstream never answers an empty request; we do);
4. for every instance in order, every declared input in declared order: present, then a
   well-formed tensor (string/bytes: one value, dims [] or [1], valid UTF-8 for strings;
   numeric: at most 64 dims, no negative dim and nothing after a 0 dim, a known dtype, a
   matching data size, and for a zero-size shape an element count, zero dims left out, that an
   array can hold).

Cost: linear in the request's size. A shape's dims count is read before anything is built per
dim, and texts show a bounded part of a shape (docs/protocol.md, departures).

Undeclared extra inputs are ignored. Model-style per-instance checks (size, dtype) belong to the
servables (reference_server.servables.model_inputs), not here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import errors
from reference_server.errors import INVALID_INPUTS
from reference_server.registry import Method, Registry
from reference_server.views import WireInstance, WireRequest, WireTensor


@dataclass(frozen=True, slots=True)
class RequestError:
    """The whole request is refused with one error entry."""

    code: int
    message: str


# Not frozen: a frozen dataclass's __init__ costs 3x as much, once per request (issue 12).
@dataclass(slots=True)
class CheckedRequest:
    """A request that passed every check, ready for its method's batch function."""

    servable: str
    method: Method
    # One mapping per instance, input name -> decoded value (ndarray / str / bytes), or the
    # wire Tensor itself when the method takes wire inputs.
    instances: list[dict[str, Any]]


Tensor = pb.Tensor | WireTensor
Request = pb.PredictRequest | WireRequest


class TensorProblem(ValueError):
    """A malformed tensor; the message is the detail text."""


_TEXT_CODES = (codec.STRING.code, codec.BYTES.code)
# Wire code -> numpy dtype of the numeric dtypes: codec's table, read without a property per call.
_NUMERIC: dict[int, np.dtype] = {
    d.code: d.numpy for d in codec.NUMERIC_DTYPES if d.numpy is not None
}


_LISTED_INSTANCES = 16

# The most elements, zero dims left out, a decoded array may address: numpy refuses a shape whose
# element count times its item size (up to 8 bytes) passes the int64 range, even with a 0 dim.
MAX_ELEMENTS = (2**63 - 1) // 8


def decode_tensor(tensor: Tensor, *, keep_wire: bool = False) -> Any:
    """Check one input tensor and return its value; TensorProblem with the detail text.

    Numeric -> a read-only numpy array over the received bytes, shape as sent; MS_STRING -> str;
    MS_BYTES -> bytes. ``keep_wire``: check the same way but return ``tensor`` itself.
    ``tensor`` is a protobuf Tensor or a reference_server.views.WireTensor (the same reads: its
    payloads are memoryviews of the request's body, and the array is a view of them).
    """
    code = tensor.dtype
    field = tensor.shape.dims  # len() costs nothing; nothing is built per dim before the limit
    if code in _TEXT_CODES:
        if len(tensor.bytes_val) != 1:
            raise TensorProblem(errors.TEXT_VALUE_COUNT)
        if len(field) > 1 or (len(field) == 1 and field[0] != 1):
            raise TensorProblem(errors.text_shape_invalid(field))
        value = tensor.bytes_val[0]  # bytes, or a memoryview of a WireTensor's
        if code == codec.BYTES.code:
            return tensor if keep_wire else bytes(value)  # bytes as it is: no copy
        try:
            text = str(value, "utf-8")
        except UnicodeDecodeError:
            # Upstream's worker crashes here; we refuse the request instead.
            raise TensorProblem(errors.NOT_UTF8) from None
        return tensor if keep_wire else text

    # Numeric: the shape first, then the dtype, then the size (upstream's order).
    if len(field) > errors.MAX_DIMS:
        raise TensorProblem(errors.too_many_dims(len(field)))
    dims = field[:]  # a list; tuple(field) costs 3x as much on upb's container (issue 12)
    # Counted over the non-zero dims: at most 64 factors, so the product stays small enough to
    # cost nothing (an unbounded dims count made this loop quadratic).
    count = 1
    seen_zero = False
    for dim in dims:
        if dim < 0 or seen_zero:
            raise TensorProblem(errors.shape_invalid(dims))
        if dim == 0:
            seen_zero = True
        else:
            count *= dim
    numeric = _NUMERIC.get(code)
    if numeric is None:  # MS_UNKNOWN or a number outside the enum
        raise TensorProblem(errors.UNKNOWN_DTYPE)
    data = tensor.data  # one copy out of the message: read it once
    if len(data) != (0 if seen_zero else count * numeric.itemsize):
        # Shared-memory data (in the oneof instead of ``data``) is not ours to attach.
        shared = tensor.WhichOneof("tensor_data") == "shm_data"
        raise TensorProblem(errors.SHARED_MEMORY if shared else errors.data_size_invalid(len(data)))
    if seen_zero and count > MAX_ELEMENTS:  # e.g. [2**62, 0]: no data, but no array holds it
        raise TensorProblem(errors.too_many_elements(dims))
    if keep_wire:
        return tensor
    # codec.array_view's one call, inlined: this runs for every input of every request.
    return np.ndarray(dims, numeric, data)


Decode = Callable[..., Any]  # decode_tensor's signature: (tensor, *, keep_wire) -> value


def check_request(
    request: Request, registry: Registry, decode: Decode = decode_tensor
) -> CheckedRequest | RequestError:
    """Run §3's checks in order; the decoded instances, or the first failure.

    ``decode`` checks and decodes each input tensor (the Behaviour seam passes its own).
    ``request``: a protobuf PredictRequest, or a reference_server.views.WireRequest.
    """
    spec = request.servable_spec
    servable, method_name, version = spec.name, spec.method_name, spec.version_number
    methods = registry.methods(servable, version)
    if methods is None:
        return RequestError(
            INVALID_INPUTS, errors.servable_unavailable(servable, method_name, version)
        )
    method = methods.get(method_name)
    if method is None:
        return RequestError(
            INVALID_INPUTS, errors.method_unavailable(servable, method_name, version)
        )
    if not len(request.instances):
        return RequestError(INVALID_INPUTS, errors.no_instances(servable, method_name))

    keep_wire = method.wire_inputs
    inputs = method.inputs
    # A small request's instances as one list: upb's iterator costs more per instance. A large
    # one is walked, so that a bad instance early on stops the walk before anything is built
    # for the rest.
    instances: Sequence[pb.Instance | WireInstance] = request.instances
    if len(instances) <= _LISTED_INSTANCES:
        instances = instances[:]
    decoded: list[dict[str, Any]] = []
    for instance in instances:
        items = instance.items
        values: dict[str, Any] = {}
        for name in inputs:
            tensor = items.get(name)
            if tensor is None:
                text = errors.missing_input(name, servable, method_name)
                return RequestError(INVALID_INPUTS, text)
            try:
                values[name] = decode(tensor, keep_wire=keep_wire)
            except TensorProblem as problem:
                return RequestError(INVALID_INPUTS, errors.input_check_failed(name, str(problem)))
        decoded.append(values)
    return CheckedRequest(servable, method, decoded)


__all__ = [
    "MAX_ELEMENTS",
    "CheckedRequest",
    "Decode",
    "Request",
    "RequestError",
    "Tensor",
    "TensorProblem",
    "check_request",
    "decode_tensor",
]
