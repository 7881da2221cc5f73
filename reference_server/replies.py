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

from protos import arrays, codec
from protos import ms_service_pb2 as pb
from reference_server import errors
from reference_server.errors import SUCCESS, SYSTEM_ERROR, truncate
from reference_server.registry import InstanceError, Outcome

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


def fill_tensor(tensor: pb.Tensor, value: Any) -> None:
    """Write one output value into ``tensor`` (a fresh map entry of the reply)."""
    if type(value) is np.ndarray:  # the common case first
        _fill_array(tensor, value)
        return
    if isinstance(value, pb.Tensor):
        tensor.CopyFrom(value)
        return
    if isinstance(value, str):
        tensor.dtype = codec.STRING.code
        tensor.bytes_val.append(value.encode("utf-8"))
        return
    if isinstance(value, bytes | bytearray | memoryview):
        tensor.dtype = codec.BYTES.code
        tensor.bytes_val.append(bytes(value))
        return
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
    _fill_array(tensor, np.asarray(value))


def _fill_array(tensor: pb.Tensor, array: np.ndarray) -> None:
    try:
        codec.fill_array_tensor(tensor, array)
    except codec.CodecError as exc:
        raise OutputError(str(exc)) from exc


def _outputs_instance(
    instance: pb.Instance, outputs: Sequence[str], values: Any
) -> InstanceError | None:
    """Fill ``instance`` with the declared outputs; an InstanceError (code 3) if one is bad."""
    items = instance.items
    for name in outputs:
        try:
            value = values[name]
        except (KeyError, TypeError):
            instance.Clear()
            return InstanceError(SYSTEM_ERROR, errors.no_output(name))
        try:
            fill_tensor(items[name], value)
        except OutputError as exc:
            instance.Clear()
            return InstanceError(SYSTEM_ERROR, errors.bad_output(name, str(exc)))
    return None


def outcomes_reply(
    spec: pb.ServableSpec,
    outputs: Sequence[str],
    outcomes: Sequence[Outcome],
    truncate: Truncate = truncate,
) -> pb.PredictReply:
    """The reply for one outcome per request instance, in request order (shapes 1-3)."""
    reply = pb.PredictReply()
    reply.servable_spec.CopyFrom(spec)
    failures: list[InstanceError | None] = []
    for outcome in outcomes:
        instance = reply.instances.add()
        if isinstance(outcome, InstanceError):
            failures.append(outcome)
        else:
            failures.append(_outputs_instance(instance, outputs, outcome))
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
