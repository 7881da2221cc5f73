"""Python values <-> Tensors, instances -> PredictRequest, PredictReply -> results. No I/O.

Built on protos.codec (the one dtype table). The mapping is upstream's client's:

========================================  =======================  ===============
instance value                            wire dtype               dims
========================================  =======================  ===============
numpy array (or a CuPy array)             its own dtype            its own shape
numpy scalar (``np.float32(1)``)          its own dtype            ``[]``
``str``                                   MS_STRING (UTF-8)        ``[1]``
``bool`` (checked before ``int``)         MS_BOOL                  ``[1]``
``int`` within int64                      MS_INT64                 ``[1]``
``int`` from 2**63 to 2**64-1             MS_UINT64                ``[1]``
``float``                                 MS_FLOAT64               ``[1]``
``bytes``                                 MS_BYTES                 ``[1]``
========================================  =======================  ===============

Python ints take the dtype numpy infers for them, as upstream's client lets numpy choose; an
int beyond uint64 (or below int64) is ``Unknown data type object``. Numeric data always goes
out little-endian and C-ordered, whatever the input's byte order or strides. A reply becomes a
list with one dict per instance (numeric outputs as read-only numpy arrays with the wire shape,
``[]`` giving a 0-d array; MS_STRING as str; MS_BYTES as bytes; a tensor with several
``bytes_val`` as a list), or ``{"error": TEXT}`` for a request-level error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_client.arrays import is_device_array, to_host
from reference_client.errors import (
    InvalidInputError,
    InvalidKeyError,
    InvalidTextError,
    MalformedReplyError,
    VersionRangeError,
)

Instance: TypeAlias = Mapping[str, Any]
Instances: TypeAlias = Instance | Sequence[Instance]
InstanceResult: TypeAlias = dict[str, Any]
Result: TypeAlias = list[InstanceResult] | dict[str, str]
ArrayConverter: TypeAlias = Callable[[np.ndarray], Any]

_UINT64_MAX = 2**64 - 1  # ServableSpec.version_number is a uint64; so is numpy's widest int


def _unchanged(array: np.ndarray) -> Any:
    return array


# ---------------------------------------------------------------------------------------------
# Requests


def value_to_tensor(value: Any) -> pb.Tensor:
    """One instance value as a Tensor; InvalidInputError (a RuntimeError) if it has no mapping."""
    tensor = pb.Tensor()
    fill_tensor(tensor, value)
    return tensor


def fill_tensor(tensor: pb.Tensor, value: Any) -> None:
    """Write one instance value into an empty Tensor in place (no copy of the finished tensor).

    InvalidInputError (a RuntimeError) for a value with no wire mapping.
    """
    if isinstance(value, np.ndarray) or is_device_array(value):
        _fill_array(tensor, to_host(value))  # one device-to-host copy for a CuPy array
    elif isinstance(value, str):  # np.str_ too
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise InvalidTextError(*exc.args) from None
        _fill_single(tensor, codec.STRING, encoded)
    elif isinstance(value, bytes):  # np.bytes_ too
        _fill_single(tensor, codec.BYTES, value)
    # A numpy scalar keeps its own dtype and goes out with dims [] (np.float64 is also a float,
    # so this test comes before the Python ones). Upstream takes np.number only; np.bool_ is
    # accepted here too (a departure no working upstream program meets), other numpy scalars
    # (np.datetime64, np.void) get upstream's "Not support value type".
    elif isinstance(value, np.number | np.bool_):
        _fill_array(tensor, np.asarray(value))
    elif isinstance(value, np.generic):
        raise InvalidInputError(f"Not support value type {type(value)}")
    else:
        scalar = _python_scalar(value)
        if scalar is None:
            raise InvalidInputError(f"Not support value type {type(value)}")
        _fill_array(tensor, scalar.reshape(1))  # upstream's client sends Python scalars as [1]


def _python_scalar(value: Any) -> np.ndarray | None:
    """A Python bool/int/float as a 0-d array of the dtype upstream's client sends; else None."""
    try:
        return codec.python_scalar_array(value)  # bool (before int), int64 int, float
    except codec.CodecError:  # an int outside int64
        pass
    # Upstream hands [value] to numpy, which infers uint64 up to 2**64-1 and object beyond.
    if 0 <= value <= _UINT64_MAX:
        return np.asarray(value, dtype=np.dtype("<u8"))
    raise InvalidInputError("Unknown data type object")


def _fill_array(tensor: pb.Tensor, array: np.ndarray) -> None:
    try:
        codec.fill_array_tensor(tensor, array)
    except codec.CodecError:
        raise InvalidInputError(f"Unknown data type {array.dtype}") from None


def _fill_single(tensor: pb.Tensor, dtype: codec.DType, value: bytes) -> None:
    # str and bytes go out as one bytes_val element with dims [1], as upstream's client sends them.
    tensor.dtype = dtype.code
    tensor.shape.dims.append(1)
    tensor.bytes_val.append(value)


def fill_instance(message: pb.Instance, instance: Any) -> None:
    """Write one instance (a mapping input name -> value) into an empty Instance in place."""
    if not isinstance(instance, Mapping):
        raise InvalidInputError("instance should be a map")
    # Every key before any value, as upstream's ``**instance`` checks them (a TypeError there).
    for name in instance:
        if not isinstance(name, str):
            raise InvalidKeyError(f"instance input name should be str, but actually {type(name)}")
    for name, value in instance.items():
        fill_tensor(message.items[name], value)


def build_request(
    servable_name: str, method_name: str, version_number: int, instances: Any
) -> pb.PredictRequest:
    """The PredictRequest for a dict or a list/tuple of dicts; every check runs before it exists.

    The caller has checked the names and that version_number is an int >= 0; its upper bound is
    checked here, when a request is built, where upstream's protobuf assignment fails.
    """
    if version_number > _UINT64_MAX:
        raise VersionRangeError(f"Parameter 'version_number' should be <= {_UINT64_MAX}")
    if not isinstance(instances, list | tuple):
        instances = (instances,)
    request = pb.PredictRequest(
        servable_spec=pb.ServableSpec(
            # int(): a bool version (True is 1 upstream) without protobuf's bool deprecation
            name=servable_name,
            method_name=method_name,
            version_number=int(version_number),
        ),
    )
    for instance in instances:
        fill_instance(request.instances.add(), instance)
    return request


# ---------------------------------------------------------------------------------------------
# Replies


def tensor_to_value(tensor: pb.Tensor, convert_array: ArrayConverter = _unchanged) -> Any:
    """One output Tensor as a Python value; MalformedReplyError if it breaks the wire rules.

    ``convert_array`` receives each numeric output as a read-only numpy array (the client passes
    reference_client.arrays.to_device_output for CuPy outputs).
    """
    if tensor.dtype == codec.STRING.code:
        try:
            texts = [bytes(item).decode("utf-8") for item in tensor.bytes_val]
        except UnicodeDecodeError as exc:
            raise MalformedReplyError(f"MS_STRING output is not UTF-8: {exc.reason}") from None
        return texts[0] if len(texts) == 1 else texts
    if tensor.dtype == codec.BYTES.code:
        blobs = [bytes(item) for item in tensor.bytes_val]
        return blobs[0] if len(blobs) == 1 else blobs
    try:
        array = codec.tensor_to_array(tensor)
    except codec.CodecError as exc:
        raise MalformedReplyError(f"malformed output tensor: {exc}") from None
    return convert_array(array)


def _error_text(raw: bytes) -> str:
    # Error texts are for people: a stray invalid byte must not hide the rest of the message.
    return bytes(raw).decode("utf-8", errors="replace")


def parse_reply(reply: pb.PredictReply, convert_array: ArrayConverter = _unchanged) -> Result:
    """A PredictReply as upstream's client returns it.

    The three reply shapes: N instances and no error; one error with a non-zero code (the
    request failed: ``{"error": TEXT}``); N instances and N errors, where a failed instance's
    slot becomes ``{"error": TEXT}``. Any other error count raises MalformedReplyError.
    """
    errors = reply.error_msg
    if len(errors) == 1 and errors[0].error_code != 0:
        return {"error": _error_text(errors[0].error_msg)}
    count = len(reply.instances)
    if len(errors) not in (0, count):
        raise MalformedReplyError(
            f"reply has {len(errors)} error entries for {count} instances: expected 0, 1 or {count}"
        )
    results: list[InstanceResult] = []
    for index, instance in enumerate(reply.instances):
        if errors and errors[index].error_code != 0:
            results.append({"error": _error_text(errors[index].error_msg)})
            continue
        outputs: InstanceResult = {}
        for name, tensor in instance.items.items():
            try:
                outputs[name] = tensor_to_value(tensor, convert_array)
            except MalformedReplyError as exc:
                raise MalformedReplyError(f"instance {index} output '{name}': {exc}") from None
        results.append(outputs)
    return results


def rpc_failure_result(code: tuple[int, str], details: str | None) -> dict[str, str]:
    """Upstream's dict for a failed RPC.

    ``code`` is grpc.StatusCode's value, e.g. ``(14, 'unavailable')``, printed as a tuple.
    """
    return {"error": f"Grpc Error, {code}, {details}"}


__all__ = [
    "ArrayConverter",
    "Instance",
    "InstanceResult",
    "Instances",
    "Result",
    "build_request",
    "fill_instance",
    "fill_tensor",
    "parse_reply",
    "rpc_failure_result",
    "tensor_to_value",
    "value_to_tensor",
]
