"""Reply assembly (protocol.md §2): the three reply shapes, output values -> tensors, truncation.

Pure: outcomes in, a PredictReply out. Every error text that leaves the server passes through
``truncate`` (errors.truncate unless the caller passes another: the Behaviour seam). Values are
written with protos' codec.

The three shapes:
1. every instance OK -> N instances, no error entry;
2. a request-level error, or every instance failed with the same (code, text) -> no instance,
   one error entry;
3. otherwise -> N instances and N error entries in request order; an OK instance has its
   outputs and (0, ""), a failed one is an empty Instance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_client import arrays
from reference_server import errors, wire
from reference_server.errors import SUCCESS, SYSTEM_ERROR, truncate
from reference_server.registry import InstanceError, Outcome
from reference_server.views import WireTensor
from reference_server.wire import Payload, Payloads

Truncate = Callable[[str], bytes]  # an error text -> the bytes sent (errors.truncate)


def error_reply(
    spec: pb.ServableSpec, code: int, text: str, truncate: Truncate = truncate
) -> pb.PredictReply:
    """Shape 2: one error entry, no instance; the request's spec echoed verbatim."""
    reply = pb.PredictReply()
    reply.servable_spec.CopyFrom(spec)
    reply.error_msg.add(error_code=code, error_msg=truncate(text))
    return reply


class OutputError(ValueError):
    """A method returned an output that cannot go on the wire."""


def fill_tensor(tensor: pb.Tensor, value: Any, defer: bool = False) -> Payload | None:
    """Write one output value into ``tensor`` (a fresh map entry of the reply).

    ``defer``: a numeric payload of reference_server.wire.LARGE_TENSOR bytes or more is left out of
    ``tensor`` and returned (bytes-like, C order) for reference_server.wire.serialize_reply to
    write: no copy of it is made here. Otherwise None.
    """
    if type(value) is np.ndarray:  # the common case first
        return _fill_array(tensor, value, defer)
    if isinstance(value, pb.Tensor):
        tensor.CopyFrom(value)
        return None
    if isinstance(value, WireTensor):  # a request's tensor, echoed (reference_server.views)
        tensor.CopyFrom(value.rest)
        tensor.bytes_val.extend(bytes(item) for item in value.bytes_val)
        data = value.data_view
        if data is None:
            return None
        if defer and len(data) >= wire.LARGE_TENSOR:
            return data
        tensor.data = bytes(data)
        return None
    if isinstance(value, str):
        tensor.dtype = codec.STRING.code
        tensor.bytes_val.append(value.encode("utf-8"))
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        tensor.dtype = codec.BYTES.code
        tensor.bytes_val.append(bytes(value))
        return None
    try:
        scalar = codec.python_scalar_array(value)  # Python bool/int/float -> dims []
    except codec.CodecError as exc:
        raise OutputError(str(exc)) from exc
    if scalar is not None:
        value = scalar
    elif arrays.is_device_array(value):
        value = arrays.to_host(value)
    elif not isinstance(value, np.ndarray | np.generic):
        raise OutputError(f"unsupported output type {type(value).__name__}")
    return _fill_array(tensor, np.asarray(value), defer)


def _fill_array(tensor: pb.Tensor, array: np.ndarray, defer: bool) -> Payload | None:
    try:
        if defer and array.nbytes >= wire.LARGE_TENSOR:
            head = np.ascontiguousarray(codec.fill_array_head(tensor, array))
            return head.data.cast("B")
        codec.fill_array_tensor(tensor, array)
    except codec.CodecError as exc:
        raise OutputError(str(exc)) from exc
    return None


def _outputs_instance(
    instance: pb.Instance,
    outputs: Sequence[str],
    values: Any,
    payloads: Payloads | None,
    index: int,
) -> InstanceError | None:
    """Fill ``instance`` with the declared outputs; an InstanceError (code 3) if one is bad.

    ``payloads``: where large payloads go (see fill_tensor), keyed by (``index``, output name).
    """
    items = instance.items
    defer = payloads is not None
    for name in outputs:
        try:
            value = values[name]
        except (KeyError, TypeError):
            instance.Clear()
            return InstanceError(SYSTEM_ERROR, errors.no_output(name))
        try:
            payload = fill_tensor(items[name], value, defer)  # positional: a little cheaper
        except OutputError as exc:
            instance.Clear()  # its payloads already deferred are never looked up
            return InstanceError(SYSTEM_ERROR, errors.bad_output(name, str(exc)))
        if payload is not None:
            assert payloads is not None
            payloads[index, name] = payload
    return None


def outcomes_reply(
    spec: pb.ServableSpec,
    outputs: Sequence[str],
    outcomes: Sequence[Outcome],
    truncate: Truncate = truncate,
    payloads: Payloads | None = None,
) -> pb.PredictReply:
    """The reply for one outcome per request instance, in request order (shapes 1-3).

    ``payloads``: a dict that takes the large numeric payloads instead of the reply (see
    fill_tensor); the reply is then complete only as reference_server.wire.serialize_reply(reply,
    payloads) writes it.
    """
    reply = pb.PredictReply()
    reply.servable_spec.CopyFrom(spec)
    failures: list[InstanceError | None] = []
    for index, outcome in enumerate(outcomes):
        instance = reply.instances.add()
        if isinstance(outcome, InstanceError):
            failures.append(outcome)
        else:
            failures.append(_outputs_instance(instance, outputs, outcome, payloads, index))
    if failures.count(None) == len(failures):
        return reply  # shape 1
    failed = [f for f in failures if f is not None]
    first = failed[0]
    if len(failed) == len(failures) and all(
        f.code == first.code and f.message == first.message for f in failed
    ):
        return error_reply(spec, first.code, first.message, truncate)  # shape 2
    for failure in failures:  # shape 3
        if failure is None:
            reply.error_msg.add(error_code=SUCCESS)
        else:
            reply.error_msg.add(error_code=failure.code, error_msg=truncate(failure.message))
    return reply


__all__ = ["OutputError", "Truncate", "error_reply", "fill_tensor", "outcomes_reply"]
