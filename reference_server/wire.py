"""Serializing PredictRequest and PredictReply with large tensors in fewer copies (issue 12).

protobuf's ``SerializeToString`` (upb) on a message holding a 16 MiB ``data`` field sizes the
message by encoding it, grows its output buffer as it goes and copies the result into a bytes
object: several passes over the payload. ``serialize_*`` write the protobuf wire format
themselves around each large ``data`` field: the payload is copied once out of the message and
once into the joined result. A message without a large tensor takes ``SerializeToString``, so
its bytes are unchanged.

The output parses to a message equal to the input (protobuf parsers accept fields in any order;
a large tensor's ``data`` is written after its other fields). A message, instance or tensor
carrying unknown fields (kept by protobuf from a parsed request) takes ``SerializeToString``.

``serialize_reply(reply, payloads)`` (issue 21): the reference server's view path leaves large
payloads out of the reply altogether (a memoryview of the request's body for an echo, an output
array's buffer) and hands them here, each copied once, into the result.
"""

from __future__ import annotations

from google.protobuf.unknown_fields import UnknownFieldSet

from protos import ms_service_pb2 as pb

LARGE_TENSOR = 1 << 16  # a tensor's data from this many bytes is written around, not encoded

# A tensor's data kept out of the message (a view of a request's body, of an output array in C
# order: one byte per item), keyed by (instance index, item name): written where the tensor's
# data belongs.
Payload = bytes | memoryview
Payloads = dict[tuple[int, str], Payload]

_LEN = 2  # wire type of length-delimited fields
_REQUEST_INSTANCES = 2  # PredictRequest.instances
_REPLY_INSTANCES = 3  # PredictReply.instances
_TENSOR_DATA = 3  # Tensor.data


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field_header(number: int, length: int) -> bytes:
    """Key and length of a length-delimited field."""
    return _varint(number << 3 | _LEN) + _varint(length)


def _large_data(tensor: pb.Tensor) -> bytes | None:
    """``tensor.data`` where it is large and the tensor is walked (no unknown fields)."""
    if tensor.WhichOneof("tensor_data") != "data":
        return None
    data = tensor.data  # upb copies on every read: read once, kept by the caller
    if len(data) < LARGE_TENSOR or len(UnknownFieldSet(tensor)):
        return None
    return data


def _tensor(tensor: pb.Tensor, data: Payload | None, kept_out: bool, out: list[Payload]) -> int:
    """Append ``tensor``'s encoding to ``out``, ``data`` as its data; its length.

    ``kept_out``: ``data`` is a payload that ``tensor`` does not hold (any other field it has,
    unknown ones included, is written as it is)."""
    if data is None:
        encoded = tensor.SerializeToString()
        out.append(encoded)
        return len(encoded)
    if kept_out:
        rest = tensor
    else:
        rest = pb.Tensor(dtype=tensor.dtype, bytes_val=tensor.bytes_val)
        if tensor.HasField("shape"):
            rest.shape.CopyFrom(tensor.shape)  # unknown fields of the shape included
    size = len(data)
    head = rest.SerializeToString() + field_header(_TENSOR_DATA, size)
    out.append(head)
    out.append(data)
    return len(head) + size


def _serialize(
    message: pb.PredictRequest | pb.PredictReply,
    instances_field: int,
    payloads: Payloads | None = None,
) -> bytes:
    if not payloads and len(UnknownFieldSet(message)):
        return message.SerializeToString()
    # First pass: the large tensors; none -> protobuf's own bytes, unchanged.
    plan: list[tuple[pb.Instance, list[tuple[str, pb.Tensor, Payload | None, bool]] | None]] = []
    large = bool(payloads)
    for index, instance in enumerate(message.instances):
        if not payloads and (instance.output_buffers or len(UnknownFieldSet(instance))):
            plan.append((instance, None))
            continue
        entries: list[tuple[str, pb.Tensor, Payload | None, bool]] = []
        for name, tensor in instance.items.items():
            payload = payloads.get((index, name)) if payloads else None
            if payload is not None:
                entries.append((name, tensor, payload, True))
            else:
                large_data = _large_data(tensor)
                large = large or large_data is not None
                entries.append((name, tensor, large_data, False))
        plan.append((instance, entries))
    if not large:
        return message.SerializeToString()

    out: list[Payload] = []
    if message.HasField("servable_spec"):
        spec = message.servable_spec.SerializeToString()
        out.append(field_header(1, len(spec)) + spec)
    for instance, walked in plan:
        if walked is None:
            encoded = instance.SerializeToString()
            out.append(field_header(instances_field, len(encoded)) + encoded)
            continue
        parts: list[Payload] = []
        size = 0
        for name, tensor, data, kept_out in walked:
            key = name.encode("utf-8")
            value: list[Payload] = []
            value_size = _tensor(tensor, data, kept_out, value)
            key_field = field_header(1, len(key)) + key
            value_field = field_header(2, value_size)
            entry_size = len(key_field) + len(value_field) + value_size
            head = field_header(1, entry_size) + key_field + value_field  # Instance.items entry
            parts.append(head)
            parts.extend(value)
            size += len(head) + value_size
        out.append(field_header(instances_field, size))
        out.extend(parts)
    if isinstance(message, pb.PredictReply):
        for error in message.error_msg:
            encoded = error.SerializeToString()
            out.append(field_header(4, len(encoded)) + encoded)
    return b"".join(out)


def serialize_reply(reply: pb.PredictReply, payloads: Payloads | None = None) -> bytes:
    """``reply.SerializeToString()``, in fewer copies when it carries large tensors.

    ``payloads``: the data of tensors that ``reply`` holds without it (reference_server's
    replies.outcomes_reply puts them there), written in place, each copied once (into the
    result). A reply built that way has no unknown fields or output buffers."""
    return _serialize(reply, _REPLY_INSTANCES, payloads)


def serialize_request(request: pb.PredictRequest) -> bytes:
    """``request.SerializeToString()``, in fewer copies when it carries large tensors."""
    return _serialize(request, _REQUEST_INSTANCES)


__all__ = [
    "LARGE_TENSOR",
    "Payload",
    "Payloads",
    "field_header",
    "serialize_reply",
    "serialize_request",
]
