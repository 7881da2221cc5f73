"""A received PredictRequest read without copying its tensors' payloads (issue 21).

protobuf (upb) copies every ``bytes`` field into its own memory when it parses, and again each
time Python reads it: a 16 MiB tensor costs two copies before anything looks at it.
``read_request`` walks the wire format of the received bytes itself (the field numbers of
ms_service.proto) and returns a view: each tensor's ``data`` and ``bytes_val`` are
``memoryview`` slices of the body; everything small (servable spec, shapes, dtypes, unknown
fields, shared-memory descriptors, output buffers) is parsed by protobuf itself, so its rules
(packed or unpacked dims, merged repeats, UTF-8, depth) are protobuf's by construction.

The walker accepts exactly what protobuf accepts, with the same result (tests/test_views.py
checks it against protobuf on generated encodings). Where it cannot be sure, it declines
(``None``) and the caller parses with protobuf: a body that is not well-formed at the walked
levels, a group (wire types 3 and 4) there, or one that would cost the walk more than its
budget (many tiny fields or tensors for its size: protobuf's parse is far cheaper for those).
What protobuf does, modelled here:

* a message field that occurs more than once is merged: parsing the concatenation of its
  occurrences is the same as parsing each into the same message;
* a scalar field that occurs more than once keeps its last value; a repeated one appends;
* ``data`` and ``shm_data`` share a oneof: the later one clears the other, and ``shm_data``
  occurrences after ``data`` start a new message;
* a known field with another wire type than declared is an unknown field;
* a map entry holding any field other than ``key`` and ``value`` (with their wire types) is not
  added to the map: the whole entry is kept among the instance's unknown fields; a later entry
  with the same key replaces an earlier one; an entry without key or value has ``""`` or an
  empty Tensor;
* nesting counts towards protobuf's depth limit: the parts protobuf parses for a tensor or an
  instance are parsed inside the same outer messages as in the full request.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from protos import ms_service_pb2 as pb
from reference_server.wire import field_header

_LEN = 2  # wire type of length-delimited fields
# PredictRequest.instances; Instance.items; map entry key and value; Tensor fields.
_INSTANCES = 2
_ITEMS = 1
_KEY, _VALUE = 1, 2
_DATA, _BYTES_VAL, _SHM_DATA = 3, 4, 5

# The walk's budget, in units: a field costs one, a tensor TENSOR_COST more (its parts parsed
# by protobuf, its view built). A body may spend one unit per BYTES_PER_UNIT bytes, plus a base,
# before the walk gives up: that keeps a declined walk's cost under about a copy of the body,
# and leaves to protobuf the bodies of many small tensors, where the walk gains nothing.
BYTES_PER_UNIT = 4096
BASE_UNITS = 256
TENSOR_COST = 8


class _Declined(Exception):
    """The walker does not take this body; protobuf decides."""


def _varint(buf: bytes, pos: int, end: int, limit: int) -> tuple[int, int]:
    """The varint at ``pos`` (at most ``limit`` bytes) and the position after it."""
    result = 0
    shift = 0
    stop = min(end, pos + limit)
    while pos < stop:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise _Declined  # truncated, or longer than protobuf reads


class _Walk:
    """One body being walked: its bytes, a view of them, and the fields left to walk."""

    __slots__ = ("buf", "left", "view")

    def __init__(self, body: bytes, budget: int) -> None:
        self.buf = body
        self.view = memoryview(body)
        self.left = budget

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise _Declined

    def fields(self, pos: int, end: int) -> list[tuple[int, int, int, int, int]]:
        """The fields in ``buf[pos:end]``: (number, wire type, field start, value start, end)."""
        buf = self.buf
        found: list[tuple[int, int, int, int, int]] = []
        while pos < end:
            self.left -= 1
            if self.left < 0:
                raise _Declined
            start = pos
            if buf[pos] < 0x80:  # one-byte tag: fields 1 to 15
                tag = buf[pos]
                pos += 1
            else:
                tag, pos = _varint(buf, pos, end, 5)
                if tag > 0xFFFFFFFF:
                    raise _Declined
            number = tag >> 3
            kind = tag & 7
            if number == 0:
                raise _Declined
            if kind == _LEN:
                length, value = _varint(buf, pos, end, 5)
                pos = value + length
            elif kind == 0:
                _, pos = _varint(buf, pos, end, 10)
                value = start
            elif kind == 1:
                value = pos
                pos += 8
            elif kind == 5:
                value = pos
                pos += 4
            else:  # groups (3, 4) and the invalid wire types 6 and 7
                raise _Declined
            if pos > end:
                raise _Declined
            found.append((number, kind, start, value, pos))
        return found


def _nested(parts: list[memoryview], *numbers: int) -> bytes:
    """``parts`` (one message's fields) inside fields ``numbers``, outermost first."""
    body = b"".join(parts)
    for number in reversed(numbers):
        body = field_header(number, len(body)) + body
    return body


class WireTensor:
    """A Tensor as received: reads like ``pb.Tensor`` for the server's checks and servables.

    ``data`` is a memoryview of the body when the tensor carries ``data``; ``bytes_val`` is a
    list of memoryviews. ``rest`` is everything else, parsed by protobuf (shape, dtype,
    ``shm_data``, unknown fields).
    """

    __slots__ = ("_data", "bytes_val", "dtype", "rest", "shape")

    def __init__(self, rest: pb.Tensor, data: memoryview | None, bytes_val: list[memoryview]):
        self.rest = rest
        self._data = data
        self.bytes_val = bytes_val
        self.dtype: int = rest.dtype
        self.shape = rest.shape

    @property
    def data(self) -> memoryview | bytes:
        return b"" if self._data is None else self._data

    @property
    def data_view(self) -> memoryview | None:
        """``data`` if the oneof holds it (None otherwise)."""
        return self._data

    @property
    def shm_data(self) -> pb.ShmTensorData:
        return self.rest.shm_data

    def WhichOneof(self, name: str) -> str | None:  # protobuf's name
        if name == "tensor_data" and self._data is not None:
            return "data"
        return self.rest.WhichOneof(name)

    def HasField(self, name: str) -> bool:  # protobuf's name
        if name in ("data", "tensor_data") and self._data is not None:
            return True
        return self.rest.HasField(name)

    def to_message(self) -> pb.Tensor:
        """The same Tensor as a protobuf message (copies the payloads)."""
        tensor = pb.Tensor()
        tensor.CopyFrom(self.rest)
        if self._data is not None:
            tensor.data = bytes(self._data)
        tensor.bytes_val.extend(bytes(value) for value in self.bytes_val)
        return tensor


class WireInstance:
    """An Instance as received: ``items`` maps names to WireTensors; ``rest`` holds the output
    buffers and unknown fields (None when there are none)."""

    __slots__ = ("items", "rest")

    def __init__(self, items: dict[str, WireTensor], rest: pb.Instance | None) -> None:
        self.items = items
        self.rest = rest

    @property
    def output_buffers(self) -> dict[str, pb.ShmTensorData]:
        return {} if self.rest is None else dict(self.rest.output_buffers)

    def to_message(self) -> pb.Instance:
        instance = pb.Instance()
        if self.rest is not None:
            instance.CopyFrom(self.rest)
        for name, tensor in self.items.items():
            instance.items[name].CopyFrom(tensor.to_message())
        return instance


class WireRequest:
    """A PredictRequest as received (see the module docstring)."""

    __slots__ = ("instances", "rest", "servable_spec")

    def __init__(self, rest: pb.PredictRequest, instances: list[WireInstance]) -> None:
        self.rest = rest
        self.servable_spec = rest.servable_spec
        self.instances = instances

    def to_message(self) -> pb.PredictRequest:
        request = pb.PredictRequest()
        request.CopyFrom(self.rest)
        for instance in self.instances:
            request.instances.add().CopyFrom(instance.to_message())
        return request


def budget_for(size: int) -> int:
    """The units the walk may spend on a body of ``size`` bytes (see BYTES_PER_UNIT)."""
    return BASE_UNITS + size // BYTES_PER_UNIT


def read_request(body: bytes, budget: int | None = None) -> WireRequest | None:
    """The request in ``body`` as a view over it; None where protobuf must decide (see the
    module docstring). ``budget``: the units the walk may spend (``budget_for(len(body))``).
    """
    walk = _Walk(body, budget_for(len(body)) if budget is None else budget)
    try:
        rest: list[memoryview] = []
        spans: list[tuple[int, int]] = []
        view = walk.view
        for number, kind, start, value, end in walk.fields(0, len(body)):
            if number == _INSTANCES and kind == _LEN:
                # Reserved for its tensor (an instance holds one, as a rule): a body of many
                # small instances gives up here, before any is built.
                walk.spend(TENSOR_COST)
                spans.append((value, end))
            else:
                rest.append(view[start:end])
        walk.left += len(spans) * TENSOR_COST  # the reservation, now spent tensor by tensor
        instances = [_instance(walk, pos, end) for pos, end in spans]
        return WireRequest(pb.PredictRequest.FromString(b"".join(rest)), instances)
    except (_Declined, DecodeError, UnicodeDecodeError):
        return None


def _instance(walk: _Walk, pos: int, end: int) -> WireInstance:
    view = walk.view
    items: dict[str, WireTensor] = {}
    rest: list[memoryview] = []
    for number, kind, start, value, stop in walk.fields(pos, end):
        entry = _entry(walk, value, stop) if number == _ITEMS and kind == _LEN else None
        if entry is None:
            rest.append(view[start:stop])
        else:
            items[entry[0]] = entry[1]
    if not rest:
        return WireInstance(items, None)
    # Parsed inside a request, as in the full parse (protobuf's depth limit counts from there).
    message = pb.PredictRequest.FromString(_nested(rest, _INSTANCES))
    return WireInstance(items, message.instances[0])


def _entry(walk: _Walk, pos: int, end: int) -> tuple[str, WireTensor] | None:
    """An ``items`` map entry; None when protobuf keeps it as an unknown field instead."""
    buf = walk.buf
    key = ""
    values: list[tuple[int, int]] = []
    for number, kind, _, value, stop in walk.fields(pos, end):
        if kind != _LEN or number not in (_KEY, _VALUE):
            return None  # an unknown field in the entry: the whole entry is unknown
        if number == _KEY:
            key = str(buf[value:stop], "utf-8")  # UnicodeDecodeError: protobuf refuses it
        else:
            values.append((value, stop))
    return key, _tensor(walk, values)


def _tensor(walk: _Walk, spans: list[tuple[int, int]]) -> WireTensor:
    """A Tensor from its occurrences in one map entry (merged, as protobuf merges them)."""
    walk.spend(TENSOR_COST)
    view = walk.view
    rest: list[memoryview] = []
    data: memoryview | None = None
    bytes_val: list[memoryview] = []
    shm: list[memoryview] | None = None  # shm_data's occurrences since the oneof chose it
    for pos, end in spans:
        for number, kind, start, value, stop in walk.fields(pos, end):
            if kind != _LEN or number not in (_DATA, _BYTES_VAL, _SHM_DATA):
                rest.append(view[start:stop])
            elif number == _DATA:
                if shm is not None:
                    _check_tensor(shm)  # parsed (and checked) by protobuf before data cleared it
                    shm = None
                data = view[value:stop]
            elif number == _BYTES_VAL:
                bytes_val.append(view[value:stop])
            else:
                if shm is None:
                    shm = []
                    data = None
                shm.append(view[start:stop])
    if shm is not None:
        rest.extend(shm)
    return WireTensor(_check_tensor(rest), data, bytes_val)


def _check_tensor(fields: list[memoryview]) -> pb.Tensor:
    """A Tensor of ``fields``, parsed by protobuf at the depth of a request's tensor."""
    if not fields:
        return pb.Tensor()
    message = pb.PredictRequest.FromString(_nested(fields, _INSTANCES, _ITEMS, _VALUE))
    return message.instances[0].items[""]


__all__ = [
    "BASE_UNITS",
    "BYTES_PER_UNIT",
    "TENSOR_COST",
    "WireInstance",
    "WireRequest",
    "WireTensor",
    "budget_for",
    "read_request",
]
