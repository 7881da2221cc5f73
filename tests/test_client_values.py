"""Golden vectors for reference_client.values, in both directions, against literal wire bytes.

Every expected byte string below is written by hand (little-endian), not computed by the code
under test, so a wrong dtype, byte order, shape or field fails here.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest

from protos import ms_service_pb2 as pb
from reference_client import (
    InvalidInputError,
    InvalidKeyError,
    InvalidTextError,
    MalformedReplyError,
)
from reference_client.values import (
    build_request,
    parse_reply,
    rpc_failure_result,
    tensor_to_value,
    value_to_tensor,
)

# value -> (dtype, dims, data, bytes_val): one row per wire dtype, plus scalars and empties.
ENCODE_CASES: list[tuple[str, Any, int, list[int], bytes | None, list[bytes]]] = [
    ("bool", np.array([True, False]), pb.MS_BOOL, [2], b"\x01\x00", []),
    ("int8", np.array([1, -2], np.int8), pb.MS_INT8, [2], b"\x01\xfe", []),
    ("uint8", np.array([1, 255], np.uint8), pb.MS_UINT8, [2], b"\x01\xff", []),
    ("int16", np.array([1, -2], np.int16), pb.MS_INT16, [2], b"\x01\x00\xfe\xff", []),
    ("uint16", np.array([1, 65535], np.uint16), pb.MS_UINT16, [2], b"\x01\x00\xff\xff", []),
    (
        "int32",
        np.array([[1], [-2]], np.int32),
        pb.MS_INT32,
        [2, 1],
        b"\x01\x00\x00\x00\xfe\xff\xff\xff",
        [],
    ),
    (
        "uint32",
        np.array([1, 2**32 - 1], np.uint32),
        pb.MS_UINT32,
        [2],
        b"\x01\x00\x00\x00\xff\xff\xff\xff",
        [],
    ),
    (
        "int64",
        np.array([1, -2], np.int64),
        pb.MS_INT64,
        [2],
        b"\x01" + b"\x00" * 7 + b"\xfe" + b"\xff" * 7,
        [],
    ),
    (
        "uint64",
        np.array([1, 2**64 - 1], np.uint64),
        pb.MS_UINT64,
        [2],
        b"\x01" + b"\x00" * 7 + b"\xff" * 8,
        [],
    ),
    ("float16", np.array([1.0, -2.0], np.float16), pb.MS_FLOAT16, [2], b"\x00\x3c\x00\xc0", []),
    (
        "float32",
        np.array([1.0, -2.0], np.float32),
        pb.MS_FLOAT32,
        [2],
        b"\x00\x00\x80\x3f\x00\x00\x00\xc0",
        [],
    ),
    (
        "float64",
        np.array([1.0, -2.0], np.float64),
        pb.MS_FLOAT64,
        [2],
        b"\x00" * 6 + b"\xf0\x3f" + b"\x00" * 7 + b"\xc0",
        [],
    ),
    (
        "str non-ASCII",
        "héllo, 世界",
        pb.MS_STRING,
        [1],
        None,
        [b"h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c"],
    ),
    ("bytes with NUL", b"a\x00b\x00", pb.MS_BYTES, [1], None, [b"a\x00b\x00"]),
    # Numpy scalars keep their dtype and go out with dims [].
    ("np.float32 scalar", np.float32(1.0), pb.MS_FLOAT32, [], b"\x00\x00\x80\x3f", []),
    ("np.float64 scalar", np.float64(-2.0), pb.MS_FLOAT64, [], b"\x00" * 7 + b"\xc0", []),
    ("np.int16 scalar", np.int16(-2), pb.MS_INT16, [], b"\xfe\xff", []),
    ("np.bool_ scalar", np.bool_(True), pb.MS_BOOL, [], b"\x01", []),
    ("0-d array", np.array(7, np.uint8), pb.MS_UINT8, [], b"\x07", []),
    # Python scalars go out with dims [1]; bool before int.
    ("Python True", True, pb.MS_BOOL, [1], b"\x01", []),
    ("Python False", False, pb.MS_BOOL, [1], b"\x00", []),
    ("Python int", -2, pb.MS_INT64, [1], b"\xfe" + b"\xff" * 7, []),
    ("Python int max", 2**63 - 1, pb.MS_INT64, [1], b"\xff" * 7 + b"\x7f", []),
    ("Python int min", -(2**63), pb.MS_INT64, [1], b"\x00" * 7 + b"\x80", []),
    # Beyond int64, numpy's inference as upstream's client uses it: uint64, still dims [1].
    ("Python int 2**63", 2**63, pb.MS_UINT64, [1], b"\x00" * 7 + b"\x80", []),
    ("Python int 2**64-1", 2**64 - 1, pb.MS_UINT64, [1], b"\xff" * 8, []),
    ("Python float", 1.5, pb.MS_FLOAT64, [1], b"\x00" * 6 + b"\xf8\x3f", []),
    ("empty str", "", pb.MS_STRING, [1], None, [b""]),
    # Empty tensors: the 0 in the last dim, no data.
    ("empty [0]", np.zeros((0,), np.int8), pb.MS_INT8, [0], b"", []),
    ("empty [3,0]", np.zeros((3, 0), np.float32), pb.MS_FLOAT32, [3, 0], b"", []),
    # Byte order and strides never reach the wire.
    (
        "big-endian float32",
        np.array([1.0, -2.0], ">f4"),
        pb.MS_FLOAT32,
        [2],
        b"\x00\x00\x80\x3f\x00\x00\x00\xc0",
        [],
    ),
    ("big-endian int16", np.array([1, -2], ">i2"), pb.MS_INT16, [2], b"\x01\x00\xfe\xff", []),
    ("big-endian scalar", np.dtype(">u2").type(1), pb.MS_UINT16, [], b"\x01\x00", []),
    (
        "Fortran order",
        np.asfortranarray(np.array([[1, 2], [3, 4]], np.uint8)),
        pb.MS_UINT8,
        [2, 2],
        b"\x01\x02\x03\x04",
        [],
    ),
    (
        "strided view",
        np.array([[1, 2, 3], [4, 5, 6]], np.int8)[:, ::2],
        pb.MS_INT8,
        [2, 2],
        b"\x01\x03\x04\x06",
        [],
    ),
]


@pytest.mark.parametrize(
    ("value", "dtype", "dims", "data", "bytes_val"),
    [case[1:] for case in ENCODE_CASES],
    ids=[case[0] for case in ENCODE_CASES],
)
def test_value_to_tensor_golden(
    value: Any, dtype: int, dims: list[int], data: bytes | None, bytes_val: list[bytes]
) -> None:
    tensor = value_to_tensor(value)
    assert tensor.dtype == dtype
    assert list(tensor.shape.dims) == dims
    assert list(tensor.bytes_val) == bytes_val
    if data is None:
        assert tensor.WhichOneof("tensor_data") is None
    else:
        assert tensor.WhichOneof("tensor_data") == "data"  # set even when empty, as upstream
        assert tensor.data == data


def test_every_wire_dtype_has_an_encode_golden() -> None:
    covered = {case[2] for case in ENCODE_CASES}
    assert covered == set(range(1, 15))


def test_tensor_wire_bytes_golden() -> None:
    # Tensor{shape{dims:[2]}, dtype:MS_FLOAT32, data:<1.0, -2.0>}, assembled by hand:
    # 0a 03 (shape) 0a 01 02 (packed dims [2]); 10 0b (dtype 11); 1a 08 (data, 8 bytes).
    expected = b"\x0a\x03\x0a\x01\x02\x10\x0b\x1a\x08\x00\x00\x80\x3f\x00\x00\x00\xc0"
    assert value_to_tensor(np.array([1.0, -2.0], np.float32)).SerializeToString() == expected
    # Tensor{shape{dims:[1]}, dtype:MS_BYTES, bytes_val:[b"a\0"]}: 22 = field 4, length-delimited.
    expected_bytes = b"\x0a\x03\x0a\x01\x01\x10\x0e\x22\x02a\x00"
    assert value_to_tensor(b"a\x00").SerializeToString() == expected_bytes
    # An empty int8 [3,0] tensor still carries its (empty) data field: 1a 00.
    expected_empty = b"\x0a\x04\x0a\x02\x03\x00\x10\x02\x1a\x00"
    assert value_to_tensor(np.zeros((3, 0), np.int8)).SerializeToString() == expected_empty


def test_request_wire_bytes_golden() -> None:
    request = build_request("add", "m", 3, {"x": True})
    expected = bytes.fromhex(
        "0a0a"  # servable_spec, 10 bytes
        "0a03616464"  # name "add"
        "12016d"  # method_name "m"
        "1803"  # version_number 3
        "1211"  # instances[0], 17 bytes
        "0a0f"  # items map entry, 15 bytes
        "0a0178"  # key "x"
        "120a"  # value Tensor, 10 bytes
        "0a030a0101"  # shape dims [1]
        "1001"  # dtype MS_BOOL
        "1a0101"  # data 0x01
    )
    assert request.SerializeToString() == expected


def test_build_request_accepts_one_dict_a_list_or_a_tuple() -> None:
    one = build_request("s", "m", 0, {"a": 1})
    listed = build_request("s", "m", 0, [{"a": 1}, {"b": 2.0}])
    tupled = build_request("s", "m", 0, ({"a": 1},))
    assert len(one.instances) == 1 and len(listed.instances) == 2 and len(tupled.instances) == 1
    assert one.instances[0] == tupled.instances[0] == listed.instances[0]
    assert list(listed.instances[1].items) == ["b"]
    assert len(build_request("s", "m", 0, []).instances) == 0


@pytest.mark.parametrize(
    ("instances", "text"),
    [
        (5, "instance should be a map"),
        ([{"a": 1}, "x"], "instance should be a map"),
        ([[{"a": 1}]], "instance should be a map"),
        ({"a": np.array([1 + 2j])}, "Unknown data type complex128"),
        ({"a": np.array(["ab"])}, "Unknown data type <U2"),
        ({"a": np.array([1], dtype=object)}, "Unknown data type object"),
        ({"a": np.complex64(1)}, "Unknown data type complex64"),
        ({"a": np.datetime64("2026-01-01")}, "Not support value type <class 'numpy.datetime64'>"),
        ({"a": np.void(b"x")}, "Not support value type <class 'numpy.void'>"),
        ({"a": None}, "Not support value type <class 'NoneType'>"),
        ({"a": [1, 2]}, "Not support value type <class 'list'>"),
        ({"a": bytearray(b"x")}, "Not support value type <class 'bytearray'>"),
        ({"a": 2**64}, "Unknown data type object"),
        ({"a": -(2**63) - 1}, "Unknown data type object"),
    ],
)
def test_unmappable_values_raise_runtime_error(instances: Any, text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        build_request("s", "m", 0, instances)
    assert str(info.value) == text
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("key", [1, b"a", None])
def test_non_str_key_is_a_type_error_as_upstream(key: Any) -> None:
    # Upstream unpacks an instance as **kwargs: TypeError; ours is a RuntimeError as well. Keys
    # are checked before any value, so the bad value listed first does not win.
    with pytest.raises(TypeError) as info:
        build_request("s", "m", 0, {"a": None, key: 1})
    assert isinstance(info.value, InvalidKeyError) and isinstance(info.value, RuntimeError)
    assert str(info.value) == f"instance input name should be str, but actually {type(key)}"


def test_lone_surrogate_is_the_unicode_encode_error_as_upstream() -> None:
    with pytest.raises(UnicodeEncodeError) as info:
        build_request("s", "m", 0, {"a": "ok\ud800"})
    assert isinstance(info.value, InvalidTextError) and isinstance(info.value, RuntimeError)
    assert (info.value.encoding, info.value.start, info.value.reason) == (
        "utf-8",
        2,
        "surrogates not allowed",
    )
    assert str(info.value) == (
        "'utf-8' codec can't encode character '\\ud800' in position 2: surrogates not allowed"
    )


# --- Replies -----------------------------------------------------------------------------------


def _tensor(dtype: int, dims: list[int], data: bytes = b"", bytes_val: tuple[bytes, ...] = ()):
    tensor = pb.Tensor(dtype=cast(pb.DataType, dtype), bytes_val=list(bytes_val))
    tensor.shape.dims.extend(dims)
    if data:
        tensor.data = data
    return tensor


# Hand-made wire tensor -> expected numpy array (dtype, shape, values).
DECODE_CASES: list[tuple[str, pb.Tensor, np.ndarray]] = [
    ("bool", _tensor(pb.MS_BOOL, [2], b"\x01\x00"), np.array([True, False])),
    ("int8", _tensor(pb.MS_INT8, [2], b"\x01\xfe"), np.array([1, -2], np.int8)),
    ("uint8", _tensor(pb.MS_UINT8, [2], b"\x01\xff"), np.array([1, 255], np.uint8)),
    ("int16", _tensor(pb.MS_INT16, [2], b"\x01\x00\xfe\xff"), np.array([1, -2], np.int16)),
    ("uint16", _tensor(pb.MS_UINT16, [2], b"\x01\x00\xff\xff"), np.array([1, 65535], np.uint16)),
    (
        "int32",
        _tensor(pb.MS_INT32, [1, 2], b"\x01\x00\x00\x00\xfe\xff\xff\xff"),
        np.array([[1, -2]], np.int32),
    ),
    (
        "uint32",
        _tensor(pb.MS_UINT32, [2], b"\x01\x00\x00\x00\xff\xff\xff\xff"),
        np.array([1, 2**32 - 1], np.uint32),
    ),
    (
        "int64",
        _tensor(pb.MS_INT64, [2], b"\x01" + b"\x00" * 7 + b"\xfe" + b"\xff" * 7),
        np.array([1, -2], np.int64),
    ),
    (
        "uint64",
        _tensor(pb.MS_UINT64, [2], b"\x01" + b"\x00" * 7 + b"\xff" * 8),
        np.array([1, 2**64 - 1], np.uint64),
    ),
    (
        "float16",
        _tensor(pb.MS_FLOAT16, [2], b"\x00\x3c\x00\xc0"),
        np.array([1.0, -2.0], np.float16),
    ),
    (
        "float32",
        _tensor(pb.MS_FLOAT32, [2], b"\x00\x00\x80\x3f\x00\x00\x00\xc0"),
        np.array([1.0, -2.0], np.float32),
    ),
    (
        "float64",
        _tensor(pb.MS_FLOAT64, [2], b"\x00" * 6 + b"\xf0\x3f" + b"\x00" * 7 + b"\xc0"),
        np.array([1.0, -2.0], np.float64),
    ),
    ("scalar []", _tensor(pb.MS_INT64, [], b"\x02" + b"\x00" * 7), np.array(2, np.int64)),
    ("scalar [1]", _tensor(pb.MS_FLOAT16, [1], b"\x00\x3c"), np.array([1.0], np.float16)),
    ("empty [0]", _tensor(pb.MS_FLOAT32, [0]), np.zeros((0,), np.float32)),
    ("empty [2,0]", _tensor(pb.MS_UINT8, [2, 0]), np.zeros((2, 0), np.uint8)),
]


@pytest.mark.parametrize(
    ("tensor", "expected"), [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES]
)
def test_tensor_to_value_numeric_golden(tensor: pb.Tensor, expected: np.ndarray) -> None:
    value = tensor_to_value(tensor)
    assert isinstance(value, np.ndarray)
    assert value.dtype == expected.dtype
    assert value.shape == expected.shape
    assert np.array_equal(value, expected)
    assert not value.flags.writeable


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        (_tensor(pb.MS_STRING, [1], bytes_val=("héllo, 世界".encode(),)), "héllo, 世界"),
        (_tensor(pb.MS_STRING, [], bytes_val=(b"",)), ""),
        (_tensor(pb.MS_BYTES, [], bytes_val=(b"a\x00b",)), b"a\x00b"),
        (_tensor(pb.MS_STRING, [2], bytes_val=(b"a", b"\xc3\xa9")), ["a", "é"]),
        (_tensor(pb.MS_BYTES, [2], bytes_val=(b"\x00", b"\xff")), [b"\x00", b"\xff"]),
        (_tensor(pb.MS_BYTES, [0]), []),
    ],
    ids=["str", "empty str", "bytes", "two str", "two bytes", "no bytes_val"],
)
def test_tensor_to_value_text_golden(tensor: pb.Tensor, expected: Any) -> None:
    value = tensor_to_value(tensor)
    assert type(value) is type(expected)
    assert value == expected


@pytest.mark.parametrize(
    ("tensor", "fragment"),
    [
        (_tensor(pb.MS_FLOAT32, [2], b"\x00\x00\x80\x3f"), "data size 4 does not match 8"),
        (_tensor(pb.MS_UNKNOWN, [1], b"\x00"), "unknown wire data type 0"),
        (_tensor(99, [1], b"\x00"), "unknown wire data type 99"),
        (_tensor(pb.MS_STRING, [1], bytes_val=(b"\xff",)), "MS_STRING output is not UTF-8"),
    ],
    ids=["short data", "MS_UNKNOWN", "code 99", "bad UTF-8"],
)
def test_malformed_output_tensors_raise(tensor: pb.Tensor, fragment: str) -> None:
    reply = pb.PredictReply(instances=[pb.Instance(items={"y": tensor})])
    with pytest.raises(MalformedReplyError, match=f"instance 0 output 'y': .*{fragment}"):
        parse_reply(reply)


def _f32(*values: float) -> pb.Tensor:
    return value_to_tensor(np.array(values, np.float32))


def test_parse_reply_all_ok() -> None:
    reply = pb.PredictReply(
        instances=[
            pb.Instance(items={"y": _f32(1.0), "label": value_to_tensor("cat")}),
            pb.Instance(items={"y": _f32(2.0, 3.0)}),
        ]
    )
    result = parse_reply(reply)
    assert isinstance(result, list) and len(result) == 2
    assert set(result[0]) == {"y", "label"} and result[0]["label"] == "cat"
    assert result[0]["y"].tolist() == [1.0] and result[1]["y"].tolist() == [2.0, 3.0]


def test_parse_reply_request_level_error() -> None:
    reply = pb.PredictReply(error_msg=[pb.ErrorMsg(error_code=2, error_msg="bad ✗".encode())])
    assert parse_reply(reply) == {"error": "bad ✗"}


def test_parse_reply_request_level_error_wins_over_instances() -> None:
    # A single non-zero error is the request's, even beside (malformed) instances.
    reply = pb.PredictReply(
        instances=[pb.Instance(), pb.Instance()],
        error_msg=[pb.ErrorMsg(error_code=1, error_msg=b"queue full")],
    )
    assert parse_reply(reply) == {"error": "queue full"}


def test_parse_reply_mixed() -> None:
    reply = pb.PredictReply(
        instances=[pb.Instance(items={"y": _f32(1.0)}), pb.Instance(), pb.Instance()],
        error_msg=[
            pb.ErrorMsg(error_code=0),
            pb.ErrorMsg(error_code=3, error_msg=b"stage failed"),
            pb.ErrorMsg(error_code=2, error_msg=b"bad \xff size"),
        ],
    )
    result = parse_reply(reply)
    assert isinstance(result, list)
    assert result[0]["y"].tolist() == [1.0]
    assert result[1] == {"error": "stage failed"}
    assert result[2] == {"error": "bad \ufffd size"}


def test_parse_reply_single_ok_error_entry() -> None:
    reply = pb.PredictReply(
        instances=[pb.Instance(items={"y": _f32(4.0)})], error_msg=[pb.ErrorMsg(error_code=0)]
    )
    result = parse_reply(reply)
    assert isinstance(result, list) and result[0]["y"].tolist() == [4.0]


def test_parse_reply_empty_is_an_empty_list() -> None:
    assert parse_reply(pb.PredictReply()) == []


@pytest.mark.parametrize(
    ("instances", "errors"), [(3, 2), (1, 2), (0, 2), (2, 3)], ids=["3/2", "1/2", "0/2", "2/3"]
)
def test_parse_reply_bad_cardinality_raises(instances: int, errors: int) -> None:
    reply = pb.PredictReply(
        instances=[pb.Instance() for _ in range(instances)],
        error_msg=[pb.ErrorMsg(error_code=2, error_msg=b"x") for _ in range(errors)],
    )
    with pytest.raises(RuntimeError, match=f"{errors} error entries for {instances} instances"):
        parse_reply(reply)


def test_parse_reply_single_ok_error_with_two_instances_raises() -> None:
    reply = pb.PredictReply(
        instances=[pb.Instance(), pb.Instance()], error_msg=[pb.ErrorMsg(error_code=0)]
    )
    with pytest.raises(MalformedReplyError):
        parse_reply(reply)


def test_parse_reply_converts_numeric_outputs_only() -> None:
    reply = pb.PredictReply(
        instances=[pb.Instance(items={"y": _f32(1.0), "s": value_to_tensor("t")})]
    )
    result = parse_reply(reply, convert_array=lambda array: ("converted", array.tolist()))
    assert isinstance(result, list)
    assert result[0] == {"y": ("converted", [1.0]), "s": "t"}


def test_rpc_failure_result_text() -> None:
    assert rpc_failure_result((14, "unavailable"), "no route") == {
        "error": "Grpc Error, (14, 'unavailable'), no route"
    }


def test_int_and_float_subclasses_map_like_their_base() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 7

    request = build_request("s", "m", 0, {"a": Level.HIGH, "b": True})
    a, b = request.instances[0].items["a"], request.instances[0].items["b"]
    assert (a.dtype, list(a.shape.dims), a.data) == (pb.MS_INT64, [1], b"\x07" + b"\0" * 7)
    assert (b.dtype, list(b.shape.dims), b.data) == (pb.MS_BOOL, [1], b"\x01")
