"""The one dtype table and the pure value <-> Tensor codec shared by client, server and harness.

No I/O and no gRPC here: everything is testable on plain bytes. Nothing else in the project
spells a dtype code; it asks this module.

Wire rules (MindSpore Serving r1.6):
* numeric tensors carry raw little-endian, C-order bytes in ``data``;
* MS_STRING carries UTF-8 text and MS_BYTES raw bytes, each as exactly one ``bytes_val`` element.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from protos import ms_service_pb2 as pb


@dataclass(frozen=True)
class DType:
    """One row of the dtype table."""

    code: pb.DataType  # DataType enum value on the wire (an int at run time)
    name: str  # DataType enum name, e.g. "MS_FLOAT32"
    numpy: np.dtype | None  # little-endian numpy dtype; None for MS_STRING / MS_BYTES
    msi_name: str  # upstream's model-side type name, used in error texts

    @property
    def is_numeric(self) -> bool:
        return self.numpy is not None

    @property
    def itemsize(self) -> int:
        return 0 if self.numpy is None else self.numpy.itemsize


def _row(code: pb.DataType, numpy_str: str | None, msi_name: str) -> DType:
    return DType(
        code=code,
        name=pb.DataType.Name(code),
        numpy=None if numpy_str is None else np.dtype(numpy_str),
        msi_name=msi_name,
    )


# The table, in enum order. MS_UNKNOWN (0) is deliberately absent: it is never valid data.
DTYPES: tuple[DType, ...] = (
    _row(pb.MS_BOOL, "|b1", "kMSI_Bool"),
    _row(pb.MS_INT8, "|i1", "kMSI_Int8"),
    _row(pb.MS_UINT8, "|u1", "kMSI_Uint8"),
    _row(pb.MS_INT16, "<i2", "kMSI_Int16"),
    _row(pb.MS_UINT16, "<u2", "kMSI_Uint16"),
    _row(pb.MS_INT32, "<i4", "kMSI_Int32"),
    _row(pb.MS_UINT32, "<u4", "kMSI_Uint32"),
    _row(pb.MS_INT64, "<i8", "kMSI_Int64"),
    _row(pb.MS_UINT64, "<u8", "kMSI_Uint64"),
    _row(pb.MS_FLOAT16, "<f2", "kMSI_Float16"),
    _row(pb.MS_FLOAT32, "<f4", "kMSI_Float32"),
    _row(pb.MS_FLOAT64, "<f8", "kMSI_Float64"),
    _row(pb.MS_STRING, None, "kMSI_String"),
    _row(pb.MS_BYTES, None, "kMSI_Bytes"),
)

BY_CODE: dict[int, DType] = {d.code: d for d in DTYPES}
_BY_NUMPY_KIND: dict[tuple[str, int], DType] = {
    (d.numpy.kind, d.numpy.itemsize): d for d in DTYPES if d.numpy is not None
}
# The same by numpy's type character (byte order aside, one per numpy type), for the types whose
# character maps to one row on this platform.
_BY_NUMPY_CHAR: dict[str, DType] = {
    np.dtype(char).char: row
    for char in np.typecodes["All"]
    if (row := _BY_NUMPY_KIND.get((np.dtype(char).kind, np.dtype(char).itemsize))) is not None
}
NUMERIC_DTYPES: tuple[DType, ...] = tuple(d for d in DTYPES if d.is_numeric)
STRING = BY_CODE[pb.MS_STRING]
BYTES = BY_CODE[pb.MS_BYTES]


class CodecError(ValueError):
    """A value or a tensor that this codec cannot map."""


def dtype_of_numpy(dtype: np.dtype) -> DType:
    """The wire dtype for a numpy dtype, whatever its byte order; CodecError if unmapped."""
    found = _BY_NUMPY_CHAR.get(dtype.char)  # one lookup for the usual dtypes (issue 12)
    if found is None:
        found = _BY_NUMPY_KIND.get((dtype.kind, dtype.itemsize))
    if found is None:
        raise CodecError(f"Unknown data type {dtype}")
    return found


# Python scalars map to fixed wire dtypes on both sides (protocol.md §2 and §5). Order matters:
# bool is an int subclass and must be tested first.
_PYTHON_SCALARS: tuple[tuple[type, np.dtype], ...] = (
    (bool, np.dtype("|b1")),
    (int, np.dtype("<i8")),
    (float, np.dtype("<f8")),
)


def python_scalar_array(value: object) -> np.ndarray | None:
    """A 0-d array of the wire dtype for a Python bool/int/float (or subclass); else None.

    Callers test numpy scalars first: np.float64 is a float subclass but keeps its own dtype.

    CodecError for an int outside the int64 range (it has no wire dtype).
    """
    dtype = next((d for kind, d in _PYTHON_SCALARS if isinstance(value, kind)), None)
    if dtype is None:
        return None
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError:
        raise CodecError(f"int value {value} is out of the int64 range") from None


def dtype_of_code(code: int) -> DType:
    """The table row for a wire code; CodecError for MS_UNKNOWN or a code outside the enum."""
    found = BY_CODE.get(code)
    if found is None:
        raise CodecError(f"unknown wire data type {code}")
    return found


def element_count(dims: Iterable[int]) -> int:
    count = 1
    for dim in dims:
        count *= int(dim)
    return count


def array_to_tensor(array: np.ndarray) -> pb.Tensor:
    """A host numpy array (any byte order, any strides) as a numeric Tensor with its own shape."""
    tensor = pb.Tensor()
    fill_array_tensor(tensor, array)
    return tensor


def fill_array_tensor(tensor: pb.Tensor, array: np.ndarray) -> None:
    """Write a host numpy array into an empty Tensor in place, as array_to_tensor would build it.

    Use it for tensors inside other messages (``instance.items[name]``, ``reply.instances.add()``):
    building a Tensor and copying it in (CopyFrom, ``Instance(items=...)``, ``extend``) copies the
    data again, about 5x the cost of this on a 64 MB array. CodecError for an unmapped dtype,
    raised before the tensor is touched.
    """
    # fill_array_head's steps, inline: this runs for every output of every reply (issue 12).
    dtype = dtype_of_numpy(array.dtype)
    if array.dtype.byteorder == ">":
        array = array.astype(dtype.numpy)
    tensor.dtype = dtype.code
    tensor.shape.dims.extend(array.shape)  # ints already: no per-dim conversion
    tensor.data = array.tobytes()  # little-endian now; C order whatever the strides


def fill_array_head(tensor: pb.Tensor, array: np.ndarray) -> np.ndarray:
    """fill_array_tensor without ``data``: dtype and dims written, and the array returned as
    the little-endian array whose bytes in C order are the data (for writers that put those
    bytes on the wire themselves, as the reference server's reply writer does). CodecError
    before touching the tensor."""
    dtype = dtype_of_numpy(array.dtype)
    if array.dtype.byteorder == ">":
        array = array.astype(dtype.numpy)
    tensor.dtype = dtype.code
    tensor.shape.dims.extend(array.shape)  # ints already: no per-dim conversion
    return array


def text_tensor(text: str, dims: Sequence[int] = (1,)) -> pb.Tensor:
    tensor = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[text.encode("utf-8")])
    tensor.shape.dims.extend(dims)
    return tensor


def bytes_tensor(value: bytes, dims: Sequence[int] = (1,)) -> pb.Tensor:
    tensor = pb.Tensor(dtype=pb.MS_BYTES, bytes_val=[bytes(value)])
    tensor.shape.dims.extend(dims)
    return tensor


def tensor_to_array(tensor: pb.Tensor) -> np.ndarray:
    """A numeric Tensor as a read-only numpy array over its bytes (no copy).

    Raises CodecError for a non-numeric dtype or a data size that does not match the shape;
    the server's request checks report those with upstream's texts before this is reached.
    """
    dtype = dtype_of_code(tensor.dtype)
    if dtype.numpy is None:
        raise CodecError(f"{dtype.name} is not a numeric data type")
    dims = tuple(int(d) for d in tensor.shape.dims)
    expected = element_count(dims) * dtype.itemsize
    data = tensor.data  # each read copies the bytes out of the message: read once
    if len(data) != expected:
        raise CodecError(f"data size {len(data)} does not match {expected} for {dims}")
    return array_view(dtype, dims, data)


def array_view(dtype: DType, dims: tuple[int, ...], data: bytes) -> np.ndarray:
    """A read-only numpy array of ``dtype`` and ``dims`` over ``data`` (no copy).

    The caller has checked that ``data`` holds exactly the shape's elements (tensor_to_array
    does; the server's request checks do, with upstream's texts).
    """
    assert dtype.numpy is not None
    # One call instead of frombuffer + reshape: this is on the server's per-request path.
    return np.ndarray(dims, dtype.numpy, data)


def tensor_to_text(tensor: pb.Tensor) -> str:
    """The single UTF-8 value of an MS_STRING tensor; UnicodeDecodeError if it is not UTF-8."""
    return bytes(tensor.bytes_val[0]).decode("utf-8")


def tensor_to_bytes(tensor: pb.Tensor) -> bytes:
    return bytes(tensor.bytes_val[0])


__all__ = [
    "BYTES",
    "BY_CODE",
    "DTYPES",
    "NUMERIC_DTYPES",
    "STRING",
    "CodecError",
    "DType",
    "array_to_tensor",
    "array_view",
    "bytes_tensor",
    "dtype_of_code",
    "dtype_of_numpy",
    "element_count",
    "fill_array_head",
    "fill_array_tensor",
    "python_scalar_array",
    "tensor_to_array",
    "tensor_to_bytes",
    "tensor_to_text",
    "text_tensor",
]
