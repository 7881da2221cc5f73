"""Hostile traffic for the robustness profile (docs/protocol.md#hostile-traffic): well-formed
PredictRequests built to hurt, bodies that are not protobuf at all, calls that stall after their
headers, and the raw calls that send them and time the answers.

Every call here goes through a generic channel method with raw bytes both ways, so that a reply
that is not a PredictReply is seen as such (a stub would raise on it), and so that bodies the
generated stub could never build can be sent.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
from hypothesis import strategies as st

from conformance.catalogue import Level
from conformance.catalogue import robustness as bound
from conformance.drive import Endpoint
from conformance.verify import assertions, kit, oracle
from conformance.verify import strategies as gen
from conformance.verify.oracle import MUST, SHOULD
from protos import ms_service_pb2 as pb

PREDICT_METHOD = "/" + pb.DESCRIPTOR.services_by_name["MSService"].full_name + "/Predict"
UINT64_MAX = 2**64 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
THOUSANDS = (1_000, 5_000)  # "thousands" of instances or bytes_val entries

_KNOWN_CALLS = [
    (kit.CONFORMANCE, kit.ECHO),
    (kit.CONFORMANCE, kit.FAIL),
    (kit.ADD, kit.ADD_COMMON),
    (kit.ADD, kit.ADD_CAST),
    ("resnet50", "classify_top1"),
]
_INPUT_NAMES = ["x", "x1", "x2", "error", "image"]
_ODD_TEXT = ["", "\x00", "x\x00y", "é" * 3, " x", "x" * 10_000, "../../etc/passwd", "\ud7ff"]


# -- hostile well-formed requests -----------------------------------------------------------


@functools.cache  # built once: hypothesis validates each new strategy
def _odd_texts() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_ODD_TEXT), gen.texts(max_size=40))


def _meets_no_defect(dims: list[int]) -> bool:
    return oracle.dims_defect(dims) is None


@functools.cache  # built once: hypothesis validates each new strategy
def _dims(level: Level) -> st.SearchStrategy[list[int]]:
    """Dims a check of ``level`` sends: at MUST none that meets an upstream defect (more than
    32 dims, a dim past int32, 2**32 elements: oracle.dims_defect)."""
    small = st.lists(st.integers(0, 4), max_size=4)
    negative = st.lists(st.integers(INT64_MIN, -1), min_size=1, max_size=3)
    mixed = st.lists(st.integers(INT64_MIN, INT64_MAX), max_size=8)
    if level == MUST:
        zero_size = st.builds(lambda d: [d, 0], st.integers(1, INT32_MAX))
        return st.one_of(small, negative, zero_size, mixed.filter(_meets_no_defect))
    huge = st.lists(st.integers(2**31, INT64_MAX), min_size=1, max_size=4)
    # Many dims, each drawn once and repeated (drawing 100,000 values is too slow).
    many = st.builds(
        lambda count, fill: [fill] * count,
        st.integers(65, bound.MANY_DIMS),
        st.sampled_from([0, 1, 2, -1, INT64_MAX]),
    )
    zero_size = st.builds(lambda d: [d, 0], st.integers(1, INT64_MAX))
    return st.one_of(small, huge, negative, many, zero_size, mixed)


@functools.cache  # built once: hypothesis validates each new strategy
def _dtype_codes() -> st.SearchStrategy[int]:
    """Every code of the enum, and codes outside it on both sides (proto3 enums are open)."""
    return st.one_of(st.integers(0, 14), st.integers(15, INT32_MAX), st.integers(INT32_MIN, -1))


@functools.cache  # built once: hypothesis validates each new strategy
def _shm() -> st.SearchStrategy[pb.ShmTensorData]:
    uint64 = st.integers(0, UINT64_MAX)
    return st.builds(
        pb.ShmTensorData,
        memory_key=_odd_texts(),
        bytes_size=uint64,
        data_offset=uint64,
        data_size=uint64,
    )


@st.composite
def hostile_tensors(draw: st.DrawFn, level: Level = MUST) -> pb.Tensor:
    tensor = pb.Tensor(dtype=draw(_dtype_codes()))  # type: ignore[arg-type]  # open enum
    tensor.shape.dims.extend(draw(_dims(level)))
    payload = draw(st.sampled_from(["data", "lying data", "bytes_val", "shm_data", "none"]))
    if payload == "data":
        tensor.data = draw(st.binary(max_size=64))
    elif payload == "lying data":  # a length unrelated to the dims
        tensor.data = bytes(draw(st.integers(0, 1 << 16)))
    elif payload == "bytes_val":
        count = draw(st.one_of(st.sampled_from([0, 1, 2]), st.integers(*THOUSANDS)))
        value = draw(st.binary(max_size=16))
        if tensor.dtype == pb.MS_STRING and level == MUST:  # non-UTF-8 text: an upstream defect
            value = value.decode("utf-8", "replace").encode()
        tensor.bytes_val.extend([value] * count)
    elif payload == "shm_data":
        tensor.shm_data.CopyFrom(draw(_shm()))
    return tensor


@functools.cache  # built once: hypothesis validates each new strategy
def _small_tensors(level: Level) -> st.SearchStrategy[pb.Tensor]:
    """Hostile in dtype and dims but a few bytes long: for instances repeated thousands of
    times."""
    dims = st.lists(st.integers(INT64_MIN, INT64_MAX), max_size=4)
    return st.builds(
        lambda code, dims, data: _tensor(code, dims, data),
        _dtype_codes(),
        dims.filter(_meets_no_defect) if level == MUST else dims,
        st.binary(max_size=16),
    )


@functools.cache
def _names() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_INPUT_NAMES), _odd_texts())


@functools.cache
def _small_names() -> st.SearchStrategy[str]:
    """Names for instances repeated thousands of times: none of the very long ones."""
    return st.sampled_from(_INPUT_NAMES + [t for t in _ODD_TEXT if len(t) < 100])


@st.composite
def hostile_instances(draw: st.DrawFn, level: Level, small: bool = False) -> pb.Instance:
    instance = pb.Instance()
    names = _small_names() if small else _names()
    tensors = _small_tensors(level) if small else hostile_tensors(level)
    for name in draw(st.lists(names, max_size=2 if small else 4, unique=True)):
        instance.items[name].CopyFrom(draw(tensors))
    if draw(st.booleans()):
        for name in draw(st.lists(names, min_size=1, max_size=2, unique=True)):
            instance.output_buffers[name].CopyFrom(draw(_shm()))
    return instance


_INSTANCES = {level: hostile_instances(level) for level in (MUST, SHOULD)}
_SMALL_INSTANCES = {level: hostile_instances(level, small=True) for level in (MUST, SHOULD)}


@st.composite
def hostile_requests(draw: st.DrawFn, level: Level = MUST) -> pb.PredictRequest:
    """A well-formed PredictRequest that breaks as many rules as it likes, mostly aimed at the
    kit's methods so that it reaches their checks. At MUST level it meets none of upstream's
    documented defects (oracle.upstream_defect: no zero instances, no dims past what numpy or
    upstream can count, no non-UTF-8 MS_STRING); at SHOULD anything goes."""
    if draw(st.integers(0, 3)):
        servable, method = draw(st.sampled_from(_KNOWN_CALLS))
    else:
        servable, method = draw(_odd_texts()), draw(_odd_texts())
    version = draw(st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, UINT64_MAX)))
    request = kit.make_request(servable, method, [], version)
    few = [1, 2, 3] if level == MUST else [0, 1, 2, 3]
    count = draw(st.one_of(st.sampled_from(few), st.integers(*THOUSANDS)))
    if count > 3:  # thousands: one instance repeated (the size stays a few MB at most)
        request.instances.extend([draw(_SMALL_INSTANCES[level])] * count)
    else:
        request.instances.extend([draw(_INSTANCES[level]) for _ in range(count)])
    return request


def _tensor(dtype: int, dims: list[int], data: bytes = b"", values: int = -1) -> pb.Tensor:
    tensor = pb.Tensor(dtype=dtype, data=data)  # type: ignore[arg-type]  # open enum
    tensor.shape.dims.extend(dims)
    if values >= 0:
        tensor.bytes_val.extend([b"v"] * values)
    return tensor


def _echo(dtype: int, dims: list[int], data: bytes = b"", values: int = -1) -> pb.PredictRequest:
    return kit.echo_request([_tensor(dtype, dims, data, values)])


def _add(method: str, tensor: pb.Tensor) -> pb.PredictRequest:
    return kit.add_request(method, [(tensor, tensor)])


def _named(name: str, method: str = kit.ECHO, version: int = 0) -> pb.PredictRequest:
    return kit.make_request(name, method, [{"x": _tensor(pb.MS_UINT8, [1], b"\x01")}], version)


def _with_shm() -> pb.PredictRequest:
    tensor = pb.Tensor(dtype=pb.MS_FLOAT32)
    tensor.shape.dims.extend([2, 2])
    tensor.shm_data.CopyFrom(pb.ShmTensorData(memory_key="k", bytes_size=UINT64_MAX))
    return kit.echo_request([tensor])


def _with_output_buffers() -> pb.PredictRequest:
    request = kit.echo_request([_tensor(pb.MS_UINT8, [2], b"ab")])
    request.instances[0].output_buffers["y"].CopyFrom(
        pb.ShmTensorData(memory_key="y", bytes_size=UINT64_MAX, data_size=UINT64_MAX)
    )
    return request


def _non_utf8() -> pb.PredictRequest:
    return kit.echo_request([pb.Tensor(dtype=pb.MS_STRING, bytes_val=[b"\xff\xfe"])])


_MANY_ONES = [1] * bound.MANY_DIMS
U8, F32, COMMON, CAST = pb.MS_UINT8, pb.MS_FLOAT32, kit.ADD_COMMON, kit.ADD_CAST
_BIG_DIMS = [2**62] * 50_000  # 450 KB of varints
# (name, level, request): the cases a derandomized run must always include, each aimed at a
# known way servers fall over (costs that grow with the dims count, sizes that overflow, huge
# repeats). Level: of the requirements that ask for its answer. SHOULD: it meets one of
# upstream's documented defects (oracle.upstream_defect), so only ROBUSTNESS-UPSTREAM-DEFECTS
# sends it, never a MUST check.
HANDMADE: tuple[tuple[str, Level, Callable[[], pb.PredictRequest]], ...] = (
    ("echo-32-dims", MUST, lambda: _echo(F32, [1] * 32, bytes(4))),
    ("echo-negative-dims", MUST, lambda: _echo(pb.MS_INT32, [-1, -(2**62)], bytes(4))),
    ("echo-dtype-int32-max", MUST, lambda: _echo(INT32_MAX, [1], bytes(8))),
    ("echo-dtype-negative", MUST, lambda: _echo(-1, [1], bytes(8))),
    ("echo-data-lies", MUST, lambda: _echo(pb.MS_INT64, [1 << 30], bytes(8))),
    ("echo-5000-bytes-val", MUST, lambda: _echo(pb.MS_STRING, [1], values=5_000)),
    ("echo-no-bytes-val", MUST, lambda: _echo(pb.MS_BYTES, [], values=0)),
    ("echo-5000-instances", MUST, lambda: kit.echo_request([_tensor(U8, [1], b"\x01")] * 5_000)),
    ("echo-shm-data", MUST, _with_shm),
    ("echo-output-buffers", MUST, _with_output_buffers),
    ("long-name", MUST, lambda: _named("s" * 100_000)),
    ("nul-name", MUST, lambda: _named("conformance\x00", "echo\x00")),
    ("version-uint64-max", MUST, lambda: _named(kit.CONFORMANCE, version=UINT64_MAX)),
    ("echo-100k-dims", SHOULD, lambda: _echo(F32, _MANY_ONES, bytes(4))),
    ("add-common-100k-dims", SHOULD, lambda: _add(COMMON, _tensor(F32, _MANY_ONES))),
    ("add-cast-65-dims", SHOULD, lambda: _add(CAST, _tensor(F32, [1] * 65, bytes(4)))),
    ("add-common-zero-size", SHOULD, lambda: _add(COMMON, _tensor(F32, [2**62, 0]))),
    ("add-cast-zero-size", SHOULD, lambda: _add(CAST, _tensor(pb.MS_INT8, [2**62, 0]))),
    ("echo-dims-overflow", SHOULD, lambda: _echo(pb.MS_FLOAT64, [INT64_MAX, INT64_MAX], bytes(8))),
    ("echo-dims-past-2**32", SHOULD, lambda: _echo(pb.MS_FLOAT64, [2**61, 2])),
    ("echo-zero-instances", SHOULD, lambda: kit.echo_request([])),
    ("echo-non-utf8-string", SHOULD, _non_utf8),
    # Last: a server whose cost grows with the square of the dims count (a product of big
    # integers, say) is busy with this one for long.
    ("add-common-50k-big-dims", SHOULD, lambda: _add(COMMON, _tensor(11, _BIG_DIMS, bytes(16)))),
)  # fmt: skip


def handmade(level: Level) -> dict[str, Callable[[], pb.PredictRequest]]:
    """The hand-made cases tagged ``level``, by name."""
    return {name: build for name, tag, build in HANDMADE if tag == level}


# -- bodies that are not protobuf -----------------------------------------------------------

_VALID = kit.echo_request([_tensor(pb.MS_UINT8, [3], b"abc")]).SerializeToString()

HANDMADE_BODIES: tuple[tuple[str, bytes], ...] = (
    ("two-ff", b"\xff\xff"),
    ("truncated-length", b"\x0a\x05"),
    ("length-4gb", b"\x0a\xff\xff\xff\xff\x0f"),
    ("varint-too-long", b"\x18" + b"\xff" * 11),
    ("wire-type-7", b"\x0f"),
    ("field-zero", b"\x00\x01"),
    ("end-group-alone", b"\x0c"),
    ("spec-not-a-message", b"\x0a\x03\xff\xff\xff"),
    ("valid-then-garbage", _VALID + b"\xff\xff"),
    ("valid-truncated", _VALID[:-3]),
    ("nested-deep", b"\x12" * 2_000),
    ("text-not-protobuf", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("megabyte-of-ff", b"\xff" * (1 << 20)),
)


def garbage_bodies() -> st.SearchStrategy[bytes]:
    """Random bytes, and a valid request cut or spliced at a random place."""
    cut = st.integers(1, len(_VALID) - 1).map(lambda at: _VALID[:at])
    spliced = st.tuples(st.integers(0, len(_VALID)), st.binary(min_size=1, max_size=8)).map(
        lambda t: _VALID[: t[0]] + t[1] + _VALID[t[0] :]
    )
    return st.one_of(st.binary(min_size=1, max_size=256), cut, spliced)


# -- raw calls ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawAnswer:
    """How a raw call ended: status OK with a reply (parsed, or None if the bytes are not a
    PredictReply), or another gRPC status."""

    code: grpc.StatusCode
    details: str
    seconds: float
    reply: pb.PredictReply | None = None
    reply_bytes: int = 0

    @property
    def answered(self) -> bool:
        """Within the bound, with a well-formed reply or a status the server chose (not a
        deadline the client gave up at, nor a connection that is gone)."""
        if self.code == grpc.StatusCode.OK:
            return self.reply is not None
        return self.code not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)

    def __str__(self) -> str:
        if self.code == grpc.StatusCode.OK:
            shape = "a PredictReply" if self.reply is not None else "bytes that are no PredictReply"
            size = f"{self.reply_bytes} bytes"
            if self.reply is not None and self.reply.error_msg:  # what it says, not just its size
                size += f": {assertions.describe(self.reply)}"
            return f"status OK with {shape} ({size}) after {self.seconds:.2f} s"
        return f"gRPC {self.code.name} ({self.details[:200]!r}) after {self.seconds:.2f} s"


def raw_call(channel: grpc.Channel, body: bytes, timeout_s: float) -> RawAnswer:
    """Send ``body`` as a Predict request; the answer, timed."""
    method = channel.unary_unary(
        PREDICT_METHOD, request_serializer=None, response_deserializer=None
    )
    start = time.monotonic()
    try:
        data: bytes = method(body, timeout=timeout_s)
    except grpc.RpcError as error:
        seconds = time.monotonic() - start
        return RawAnswer(error.code(), error.details() or "", seconds)
    seconds = time.monotonic() - start
    try:
        reply = pb.PredictReply.FromString(data)
    except Exception:  # DecodeError: not a PredictReply
        reply = None
    return RawAnswer(grpc.StatusCode.OK, "", seconds, reply, len(data))


def no_message_call(channel: grpc.Channel, timeout_s: float) -> RawAnswer:
    """A Predict call that half-closes without sending any message."""
    method = channel.stream_unary(
        PREDICT_METHOD, request_serializer=None, response_deserializer=None
    )
    start = time.monotonic()
    try:
        data: bytes = method(iter(()), timeout=timeout_s)
    except grpc.RpcError as error:
        return RawAnswer(error.code(), error.details() or "", time.monotonic() - start)
    try:
        reply: pb.PredictReply | None = pb.PredictReply.FromString(data)
    except Exception:
        reply = None
    return RawAnswer(grpc.StatusCode.OK, "", time.monotonic() - start, reply, len(data))


WELL_FORMED = kit.echo_request([_tensor(pb.MS_INT16, [3], b"\x00\x00\x01\x00\x02\x00")])


def well_formed_call(channel: grpc.Channel, timeout_s: float) -> tuple[RawAnswer, bool]:
    """An echo of three int16s: (the answer, True if it is the right reply)."""
    answer = raw_call(channel, WELL_FORMED.SerializeToString(), timeout_s)
    reply = answer.reply
    right = (
        reply is not None
        and not reply.error_msg
        and len(reply.instances) == 1
        and reply.instances[0].items["y"].data == WELL_FORMED.instances[0].items["x"].data
    )
    return answer, right


def stall(channel: grpc.Channel, release: threading.Event, timeout_s: float) -> grpc.Future:
    """A Predict call that sends its headers and then nothing until ``release`` (or the
    timeout): the future of its outcome."""

    def nothing() -> Iterator[bytes]:
        release.wait(timeout_s)
        return
        yield  # a generator that yields nothing

    method = channel.stream_unary(
        PREDICT_METHOD, request_serializer=None, response_deserializer=None
    )
    return method.future(nothing(), timeout=timeout_s)


def withheld(
    channel: grpc.Channel, body: bytes, go: threading.Event, timeout_s: float
) -> grpc.Future:
    """A Predict call whose headers go out now and whose message (``body``) goes out at
    ``go``: the future of its reply bytes."""

    def message() -> Iterator[bytes]:
        if go.wait(timeout_s):
            yield body

    method = channel.stream_unary(
        PREDICT_METHOD, request_serializer=None, response_deserializer=None
    )
    return method.future(message(), timeout=timeout_s)


def open_channels(endpoint: Endpoint, count: int) -> list[grpc.Channel]:
    """``count`` channels, each on its own connection."""
    return [endpoint.open_channel(isolated=True) for _ in range(count)]


__all__ = [
    "CAST",
    "COMMON",
    "F32",
    "HANDMADE",
    "HANDMADE_BODIES",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "PREDICT_METHOD",
    "THOUSANDS",
    "U8",
    "UINT64_MAX",
    "WELL_FORMED",
    "RawAnswer",
    "garbage_bodies",
    "handmade",
    "hostile_instances",
    "hostile_requests",
    "hostile_tensors",
    "no_message_call",
    "open_channels",
    "raw_call",
    "stall",
    "well_formed_call",
    "withheld",
]
