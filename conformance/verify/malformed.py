"""Malformed tensors, one strategy per case of docs/protocol.md#step-inputs, plus upstream's
detail text for each (used by the strict profile). Each strategy breaks exactly one rule, so
that the check which must catch it is unambiguous."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.verify import strategies as gen
from protos import codec
from protos import ms_service_pb2 as pb

_TEXT_CODES = st.sampled_from([codec.STRING.code, codec.BYTES.code])


def _shape_text(dims: list[int]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


@st.composite
def bad_count_string_tensors(draw: st.DrawFn) -> pb.Tensor:
    """MS_STRING/MS_BYTES with a bytes_val count other than 1."""
    count = draw(st.sampled_from([0, 2, 3]))
    values = [draw(st.binary(max_size=6).map(lambda b: b.hex().encode())) for _ in range(count)]
    tensor = pb.Tensor(dtype=draw(_TEXT_CODES), bytes_val=values)
    tensor.shape.dims.extend(draw(gen.text_dims()))
    return tensor


@st.composite
def bad_dims_string_tensors(draw: st.DrawFn) -> pb.Tensor:
    """MS_STRING/MS_BYTES with one value but dims neither [] nor [1]."""
    dims = draw(
        st.one_of(
            st.lists(st.integers(0, 4), min_size=1, max_size=3).filter(lambda d: d != [1]),
            st.just([1, 1]),
        )
    )
    tensor = pb.Tensor(dtype=draw(_TEXT_CODES), bytes_val=[b"text"])
    tensor.shape.dims.extend(dims)
    return tensor


@st.composite
def bad_shape_tensors(draw: st.DrawFn) -> pb.Tensor:
    """A numeric tensor with a negative dim or a dim after a 0 (data matching the rest)."""
    dtype = draw(gen.numeric_dtypes())
    if draw(st.booleans()):
        dims = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        dims.insert(draw(st.integers(0, len(dims) - 1)), 0)  # a 0 before at least one dim
        data = b""
    else:
        dims = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
        dims.insert(draw(st.integers(0, len(dims))), draw(st.integers(-5, -1)))
        data = draw(st.binary(max_size=8))
    tensor = pb.Tensor(dtype=dtype.code, data=data)
    tensor.shape.dims.extend(dims)
    return tensor


@st.composite
def bad_dtype_tensors(draw: st.DrawFn) -> pb.Tensor:
    """dtype MS_UNKNOWN (0) or a code outside the enum."""
    code: Any = draw(st.one_of(st.just(0), st.integers(15, 1000)))  # not a DataType member
    tensor = pb.Tensor(dtype=code, data=draw(st.binary(max_size=8)))
    tensor.shape.dims.extend([len(tensor.data)])
    return tensor


@st.composite
def bad_size_tensors(draw: st.DrawFn) -> pb.Tensor:
    """A numeric tensor whose data length is not element count x item size."""
    dtype = draw(gen.numeric_dtypes())
    dims = draw(gen.shapes(max_rank=3))
    expected = codec.element_count(dims) * dtype.itemsize
    size = draw(st.integers(0, expected + 2 * dtype.itemsize + 1).filter(lambda n: n != expected))
    tensor = pb.Tensor(dtype=dtype.code)
    if size or draw(st.booleans()):  # with no data, the field may be sent empty or not at all
        tensor.data = bytes(size)
    tensor.shape.dims.extend(dims)
    return tensor


@dataclass(frozen=True)
class Case:
    requirement: str  # the MUST requirement
    strict_requirement: str  # the SHOULD requirement on its text
    tensors: Callable[[], st.SearchStrategy[pb.Tensor]]
    detail: Callable[[pb.Tensor], str]  # upstream's detail text


def _dims(tensor: pb.Tensor) -> list[int]:
    return list(tensor.shape.dims)


CASES = (
    Case("CORE-MALFORMED-STRING-COUNT", "STRICT-TEXT-MALFORMED-STRING-COUNT",
         bad_count_string_tensors,
         lambda t: "Instance tensor check failed: bytes or string type shape batch size can "
         "only be 1"),
    Case("CORE-MALFORMED-STRING-DIMS", "STRICT-TEXT-MALFORMED-STRING-DIMS", bad_dims_string_tensors,
         lambda t: "Instance tensor check failed: bytes or string type input  shape can only be "
         f"(1,) or empty, but given shape is {_shape_text(_dims(t))}"),
    Case("CORE-MALFORMED-SHAPE", "STRICT-TEXT-MALFORMED-SHAPE", bad_shape_tensors,
         lambda t: f"Tensor check failed: input  shape {_shape_text(_dims(t))} invalid"),
    Case("CORE-MALFORMED-DTYPE", "STRICT-TEXT-MALFORMED-DTYPE", bad_dtype_tensors,
         lambda t: "Tensor check failed: input data type proto::MS_UNKNOWN invalid"),
    Case("CORE-MALFORMED-DATA-SIZE", "STRICT-TEXT-MALFORMED-DATA-SIZE", bad_size_tensors,
         lambda t: f"Tensor check failed: input data size {len(t.data)} invalid"),
)  # fmt: skip


def input_check_failed(name: str, detail: str) -> str:
    return f"Instances input {name} check failed, detail: {detail}"


__all__ = [
    "CASES",
    "Case",
    "bad_count_string_tensors",
    "bad_dims_string_tensors",
    "bad_dtype_tensors",
    "bad_shape_tensors",
    "bad_size_tensors",
    "input_check_failed",
]
