"""reference_server.views against protobuf itself: generated encodings, valid and not, parsed both
ways.

The bytes are written here, field by field (no protobuf serializer), so that they can hold what
a serializer never writes: fields out of order, repeated non-repeated fields, packed and
unpacked dims mixed, unknown fields of every wire type, known fields with the wrong wire type,
non-canonical varints, groups, map entries with odd contents, and cuts and splices anywhere.
Wherever protobuf refuses a body the walker must decline it; wherever the walker returns a view
it must equal protobuf's message, unknown fields included.
"""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from protos import ms_service_pb2 as pb
from reference_server import views

Fields = list[bytes]
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the wire format, written by hand -------------------------------------------------------


def varint(value: int, padding: int = 0) -> bytes:
    """``value`` (taken modulo 2**64) as a varint, with ``padding`` redundant zero groups."""
    value &= (1 << 64) - 1
    groups = []
    while True:
        groups.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    groups += [0] * padding
    return bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])


def tag(number: int, kind: int, padding: int = 0) -> bytes:
    return varint(number << 3 | kind, padding)


def ld(number: int, payload: bytes, padding: int = 0) -> bytes:
    """A length-delimited field; ``padding`` pads the length's varint."""
    return tag(number, 2) + varint(len(payload), padding) + payload


def group(number: int, inner: bytes) -> bytes:
    return tag(number, 3) + inner + tag(number, 4)


# -- strategies: one message's fields, in any order, repeats allowed ------------------------

small_bytes = st.binary(max_size=12)
texts = st.text(max_size=4).map(lambda s: s.encode("utf-8"))
# Valid UTF-8 mostly; sometimes anything (invalid UTF-8: protobuf refuses it in a string).
string_bytes = st.one_of(texts, texts, small_bytes)
numbers = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 15, 16, 100, 2047, 19000, 536870911])
varints = st.one_of(
    st.integers(0, 20), st.integers(-(2**63), 2**64 - 1), st.just(2**63), st.just(-1)
)


@st.composite
def any_field(draw: st.DrawFn, allowed: tuple[int, ...] = (0, 1, 2, 5)) -> bytes:
    """A field of any number and wire type (known numbers included: a wrong type is unknown)."""
    number = draw(numbers)
    kind = draw(st.sampled_from(allowed))
    if kind == 0:
        return tag(number, 0) + varint(draw(varints), draw(st.integers(0, 1)))
    if kind == 1:
        return tag(number, 1) + draw(st.binary(min_size=8, max_size=8))
    if kind == 5:
        return tag(number, 5) + draw(st.binary(min_size=4, max_size=4))
    if kind == 3:
        return group(number, b"".join(draw(st.lists(any_field(), max_size=2))))
    return ld(number, draw(small_bytes))


unknown = any_field()
# Inside the parts protobuf parses on the walker's behalf, groups are fine too.
unknown_or_group = any_field((0, 1, 2, 3, 5))


def message(*fields: st.SearchStrategy[bytes], max_size: int = 5) -> st.SearchStrategy[bytes]:
    return st.lists(st.one_of(*fields), max_size=max_size).map(b"".join)


dims = st.lists(st.integers(-3, 2**40), max_size=4)
shape = message(
    dims.map(lambda ds: ld(1, b"".join(varint(d) for d in ds))),  # packed
    st.integers(-3, 2**40).map(lambda d: tag(1, 0) + varint(d)),  # unpacked
    unknown_or_group,
    max_size=4,
)
shm = message(
    string_bytes.map(lambda key: ld(1, key)),
    varints.map(lambda n: tag(2, 0) + varint(n)),
    unknown_or_group,
    max_size=3,
)
tensor = message(
    shape.map(lambda s: ld(1, s)),
    varints.map(lambda code: tag(2, 0) + varint(code)),  # dtype: an open enum, any int32
    st.binary(max_size=40).map(lambda data: ld(3, data)),
    string_bytes.map(lambda value: ld(4, value)),
    shm.map(lambda s: ld(5, s)),
    unknown,
    max_size=7,
)
# A map entry: usually key and value; sometimes repeated, missing, or with an unknown field.
entry = st.one_of(
    st.tuples(st.sampled_from(["x", "y", "x1", ""]), tensor).map(
        lambda kv: ld(1, kv[0].encode()) + ld(2, kv[1])
    ),
    message(string_bytes.map(lambda k: ld(1, k)), tensor.map(lambda t: ld(2, t)), max_size=3),
    message(string_bytes.map(lambda k: ld(1, k)), tensor.map(lambda t: ld(2, t)), unknown),
)
output_buffer = message(string_bytes.map(lambda k: ld(1, k)), shm.map(lambda s: ld(2, s)))
instance = message(
    entry.map(lambda e: ld(1, e)),
    entry.map(lambda e: ld(1, e)),
    output_buffer.map(lambda o: ld(2, o)),
    unknown,
    max_size=4,
)
spec = message(
    string_bytes.map(lambda name: ld(1, name)),
    string_bytes.map(lambda name: ld(2, name)),
    varints.map(lambda v: tag(3, 0) + varint(v)),
    unknown_or_group,
    max_size=4,
)
request = message(
    spec.map(lambda s: ld(1, s)),
    instance.map(lambda i: ld(2, i)),
    instance.map(lambda i: ld(2, i)),
    unknown,
    max_size=5,
)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A request cut short, spliced with bytes, or with a byte changed: mostly not valid."""
    body = draw(request)
    how = draw(st.sampled_from(["cut", "splice", "change", "group"]))
    at = draw(st.integers(0, len(body)))
    if how == "cut":
        return body[:at]
    if how == "splice":
        return body[:at] + draw(st.binary(min_size=1, max_size=4)) + body[at:]
    if how == "group":  # a group at the top level, where the walker declines
        return body[:at] + draw(any_field((3,))) + body[at:]
    if not body:
        return b"\x80"
    index = at % len(body)
    return body[:index] + bytes([draw(st.integers(0, 255))]) + body[index + 1 :]


# -- the comparison ---------------------------------------------------------------------------


def protobuf(body: bytes) -> pb.PredictRequest | None:
    try:
        return pb.PredictRequest.FromString(body)
    except DecodeError:
        return None


def assert_same(view: views.WireRequest, expected: pb.PredictRequest) -> None:
    walked = view.to_message()
    assert walked == expected
    # == may skip unknown fields: the bytes say everything (map entries sorted by key).
    assert walked.SerializeToString(deterministic=True) == expected.SerializeToString(
        deterministic=True
    )
    # What the server reads, read straight from the view.
    for got, want in zip(view.instances, expected.instances, strict=True):
        assert sorted(got.items) == sorted(want.items)
        for name, value in got.items.items():
            other = want.items[name]
            assert bytes(value.data) == other.data
            assert value.WhichOneof("tensor_data") == other.WhichOneof("tensor_data")
            assert [bytes(v) for v in value.bytes_val] == list(other.bytes_val)
            assert value.dtype == other.dtype
            assert value.shape.dims[:] == other.shape.dims[:]


@SETTINGS
@given(request)
# Each rule of the module docstring, spelled out once.
@example(ld(2, ld(1, ld(1, b"x") + ld(2, ld(3, b"ab")) + ld(2, ld(2, b"\x0b")))))  # value merged
@example(ld(2, ld(1, ld(1, b"x") + ld(2, ld(3, b"ab")) + tag(3, 0) + b"\x07")))  # entry unknown
@example(ld(2, ld(1, ld(1, b"x") + ld(2, ld(3, b"a"))) + ld(1, ld(1, b"x"))))  # same key: last
@example(ld(2, ld(1, ld(2, ld(5, ld(1, b"a")) + ld(3, b"z") + ld(5, tag(2, 0) + b"\x04")))))
@example(ld(1, ld(1, b"a")) + ld(1, tag(3, 0) + b"\x02"))  # the spec merged
@example(ld(2, ld(1, ld(2, ld(1, ld(1, b"\x02\x03") + tag(1, 0) + b"\x04")))))  # dims mixed
def test_valid_encodings_give_protobufs_message(body: bytes) -> None:
    expected = protobuf(body)
    view = views.read_request(body)
    if expected is None:
        assert view is None  # invalid UTF-8 or a bad nested part: refused both ways
        return
    assert view is not None, "the walker declined a body without a group at its levels"
    assert_same(view, expected)


@SETTINGS
@given(damaged())
@example(ld(2, b"\x0a\x05\x0a"))  # a length past the end of its message
@example(b"\x12\x80")  # a truncated length
@example(b"\x08" + b"\xff" * 10 + b"\x01")  # an 11-byte varint
@example(b"\x08" + b"\xff" * 9 + b"\x7f")  # 10 bytes, more than 64 bits: protobuf accepts
@example(b"\x00\x00")  # field number 0
@example(b"\x0f")  # wire type 7
@example(ld(2, ld(1, ld(1, b"\xed\xa0\x80"))))  # a surrogate in a map key
@example(ld(2, ld(1, ld(2, ld(5, ld(1, b"\xff")) + ld(3, b"z")))))  # bad shm, then data
@example(ld(2, ld(1, ld(1, b"\xff") + tag(9, 0) + b"\x00")))  # bad key, unknown entry
@example(tag(2, 2, padding=3) + varint(0, padding=4))  # non-canonical tag and length
def test_any_encoding_is_refused_or_read_as_protobuf_reads_it(body: bytes) -> None:
    expected = protobuf(body)
    view = views.read_request(body)
    if expected is None:
        assert view is None
    elif view is not None:
        assert_same(view, expected)


def _nested_groups(depth: int) -> bytes:
    return tag(15, 3) * depth + tag(15, 4) * depth


def test_depth_counts_as_in_the_full_request() -> None:
    """Groups nested in a tensor's shape and in an output buffer: protobuf's depth limit counts
    from the request, and the parts the walker hands to protobuf are parsed at that depth."""
    deeper_than_alone = []
    for depth in range(90, 102):
        in_shape = ld(2, ld(1, ld(1, b"x") + ld(2, ld(1, _nested_groups(depth)))))
        in_buffer = ld(2, ld(2, ld(1, b"o") + ld(2, _nested_groups(depth))))
        for body in (in_shape, in_buffer):
            expected = protobuf(body)
            view = views.read_request(body)
            assert (view is None) == (expected is None), depth
            if view is not None and expected is not None:
                assert_same(view, expected)
        try:
            pb.TensorShape.FromString(_nested_groups(depth))
        except DecodeError:
            continue
        if protobuf(in_shape) is None:
            deeper_than_alone.append(depth)
    assert deeper_than_alone  # a shape that parses alone but not inside a request: tested


def test_payloads_are_views_of_the_body() -> None:
    data = bytes(range(256)) * 300
    body = ld(1, ld(1, b"conformance")) + ld(2, ld(1, ld(1, b"x") + ld(2, ld(3, data))))
    view = views.read_request(body)
    assert view is not None
    payload = view.instances[0].items["x"].data
    assert isinstance(payload, memoryview) and payload.obj is body
    assert payload == data


def test_many_tiny_fields_are_left_to_protobuf() -> None:
    """Past its budget the walker declines (protobuf's parse is far cheaper per field)."""
    body = (tag(9, 0) + b"\x01") * 10_000
    assert protobuf(body) is not None
    assert views.read_request(body) is None
    assert views.read_request(body, budget=10_000) is not None


def test_many_instances_are_declined_before_any_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many instances for the body's size: declined from the top level's count alone."""
    one = ld(2, ld(1, ld(1, b"x") + ld(2, ld(2, b"\x03") + ld(3, b"\x07" * 8192))))
    body = one * 500
    assert 500 < views.budget_for(len(body)) < 500 * (1 + views.TENSOR_COST)
    built: list[int] = []
    monkeypatch.setattr(views, "_instance", lambda *args: built.append(1))
    assert views.read_request(body) is None
    assert built == []
    monkeypatch.undo()
    assert views.read_request(body, budget=500 * (views.TENSOR_COST + 8)) is not None


def test_many_tensors_are_declined() -> None:
    """Each tensor costs the walk more than its fields: a body of many mid-sized tensors goes
    to protobuf, though its fields alone are within the budget."""
    entries = b"".join(
        ld(1, ld(1, b"x%d" % i) + ld(2, ld(2, b"\x03") + ld(3, b"\x07" * 32768)))
        for i in range(100)
    )
    body = ld(2, entries)
    fields = 1 + 100 * 6
    assert fields < views.budget_for(len(body)) < fields + 100 * views.TENSOR_COST
    assert views.read_request(body) is None
    view = views.read_request(body, budget=fields + 100 * views.TENSOR_COST)
    assert view is not None and len(view.instances[0].items) == 100
