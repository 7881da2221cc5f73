"""The shared dtype table and numeric codec (protos/codec.py), checked against literal bytes."""

import numpy as np
import pytest

from protos import codec
from protos import ms_service_pb2 as pb

# The enum of protocol.md §1, written out independently of the generated code and the table.
WIRE_TABLE = [
    ("MS_BOOL", 1, "bool"),
    ("MS_INT8", 2, "int8"),
    ("MS_UINT8", 3, "uint8"),
    ("MS_INT16", 4, "int16"),
    ("MS_UINT16", 5, "uint16"),
    ("MS_INT32", 6, "int32"),
    ("MS_UINT32", 7, "uint32"),
    ("MS_INT64", 8, "int64"),
    ("MS_UINT64", 9, "uint64"),
    ("MS_FLOAT16", 10, "float16"),
    ("MS_FLOAT32", 11, "float32"),
    ("MS_FLOAT64", 12, "float64"),
    ("MS_STRING", 13, None),
    ("MS_BYTES", 14, None),
]


def test_generated_enum_matches_protocol():
    assert pb.DataType.Name(0) == "MS_UNKNOWN"
    for name, code, _ in WIRE_TABLE:
        assert pb.DataType.Value(name) == code
    assert len(pb.DataType.keys()) == 15


@pytest.mark.parametrize(("name", "code", "numpy_name"), WIRE_TABLE)
def test_table_maps_both_ways(name, code, numpy_name):
    row = codec.dtype_of_code(code)
    assert row.name == name
    if numpy_name is None:
        assert row.numpy is None and not row.is_numeric
        return
    assert row.numpy == np.dtype(numpy_name).newbyteorder("<") or row.numpy == np.dtype(numpy_name)
    assert codec.dtype_of_numpy(np.dtype(numpy_name)).code == code
    # Byte order is a property of the wire, not of the dtype: big-endian input maps the same.
    assert codec.dtype_of_numpy(np.dtype(numpy_name).newbyteorder(">")).code == code


@pytest.mark.parametrize("bad", [0, 15, -1, 99])
def test_unknown_codes_are_rejected(bad):
    with pytest.raises(codec.CodecError):
        codec.dtype_of_code(bad)


@pytest.mark.parametrize("dtype", ["complex64", "datetime64[s]", "object", "U3", "S3", "V4"])
def test_unmapped_numpy_dtypes_are_rejected(dtype):
    with pytest.raises(codec.CodecError, match="Unknown data type"):
        codec.dtype_of_numpy(np.dtype(dtype))


GOLDEN = [
    (np.array([True, False]), pb.MS_BOOL, [2], b"\x01\x00"),
    (np.array([[-2]], dtype=np.int8), pb.MS_INT8, [1, 1], b"\xfe"),
    (np.array([258, 1], dtype=">u2"), pb.MS_UINT16, [2], b"\x02\x01\x01\x00"),
    (np.array(1, dtype=np.int32), pb.MS_INT32, [], b"\x01\x00\x00\x00"),
    (np.array([2**63], dtype=np.uint64), pb.MS_UINT64, [1], b"\x00" * 7 + b"\x80"),
    (np.array([1.0], dtype=np.float16), pb.MS_FLOAT16, [1], b"\x00\x3c"),
    (np.array([-0.0], dtype=np.float32), pb.MS_FLOAT32, [1], b"\x00\x00\x00\x80"),
    (np.zeros((3, 0), dtype=np.float64), pb.MS_FLOAT64, [3, 0], b""),
    # Non-contiguous input goes out in C order.
    (np.arange(4, dtype=np.int16).reshape(2, 2).T, pb.MS_INT16, [2, 2], b"\0\0\2\0\1\0\3\0"),
]


@pytest.mark.parametrize(("array", "code", "dims", "data"), GOLDEN)
def test_array_to_tensor_golden(array, code, dims, data):
    tensor = codec.array_to_tensor(array)
    assert tensor.dtype == code
    assert list(tensor.shape.dims) == dims
    assert tensor.data == data
    assert not tensor.bytes_val


@pytest.mark.parametrize(("array", "code", "dims", "data"), GOLDEN)
def test_tensor_to_array_golden(array, code, dims, data):
    tensor = pb.Tensor(dtype=code, data=data)
    tensor.shape.dims.extend(dims)
    decoded = codec.tensor_to_array(tensor)
    assert decoded.shape == tuple(dims)
    assert decoded.dtype.byteorder in ("<", "|", "=")
    assert np.array_equal(decoded, array.astype(decoded.dtype))
    assert not decoded.flags.writeable


def test_nan_payload_survives_bit_exact():
    bits = np.array([0x7FC00001, 0xFF800000], dtype=np.uint32)
    tensor = codec.array_to_tensor(bits.view(np.float32))
    assert codec.tensor_to_array(tensor).view(np.uint32).tolist() == bits.tolist()


def test_size_mismatch_is_a_codec_error():
    tensor = pb.Tensor(dtype=pb.MS_INT32, data=b"\0\0\0")
    tensor.shape.dims.append(1)
    with pytest.raises(codec.CodecError):
        codec.tensor_to_array(tensor)


def test_text_and_bytes_tensors():
    text = codec.text_tensor("héllo")
    assert text.dtype == pb.MS_STRING and list(text.bytes_val) == ["héllo".encode()]
    assert list(text.shape.dims) == [1] and not text.data
    assert codec.tensor_to_text(text) == "héllo"
    raw = codec.bytes_tensor(b"a\0b", dims=())
    assert raw.dtype == pb.MS_BYTES and list(raw.shape.dims) == []
    assert codec.tensor_to_bytes(raw) == b"a\0b"


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(True, "|b1"), (False, "|b1"), (7, "<i8"), (-(2**63), "<i8"), (1.5, "<f8")],
)
def test_python_scalars_map_to_fixed_wire_dtypes(value, dtype):
    array = codec.python_scalar_array(value)
    assert array is not None and array.shape == () and array.dtype == np.dtype(dtype)
    assert array.item() == value


@pytest.mark.parametrize("value", ["1", b"1", None, np.int32(1), np.float32(1.0)])
def test_other_values_are_not_python_scalars(value):
    assert codec.python_scalar_array(value) is None


def test_int_outside_int64_has_no_wire_dtype():
    with pytest.raises(codec.CodecError, match="out of the int64 range"):
        codec.python_scalar_array(2**63)


def test_array_view_is_a_read_only_view_of_the_bytes():
    # The server decodes every numeric input this way: no copy of the request's data.
    data = np.arange(6, dtype="<i4").tobytes()
    view = codec.array_view(codec.BY_CODE[pb.MS_INT32], (2, 3), data)
    assert view.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert not view.flags.writeable and not view.flags.owndata
    assert np.shares_memory(view, np.frombuffer(data, np.uint8))
