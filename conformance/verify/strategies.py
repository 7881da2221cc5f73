"""Hypothesis strategies for wire values: dtypes, shapes, tensors, instances, failure patterns.

Numeric tensors are generated as raw element bytes, mixing arbitrary bit patterns with each
dtype's edge values (NaN payloads, signaling NaN, -0.0, infinities, subnormals, integer
extremes, uint64 above 2^63), because the contract is bit-exactness, not numeric equality.
Tensors are built with protos.codec so that the dtype table is spelled in one place.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

from hypothesis import strategies as st

from protos import codec
from protos import ms_service_pb2 as pb

BOOL = codec.BY_CODE[pb.MS_BOOL]
FLOAT32 = codec.BY_CODE[pb.MS_FLOAT32]
TEXT_DTYPES = (codec.STRING, codec.BYTES)
# Largest dim per rank, so that a tensor stays small (at most 64 elements) at every rank.
_MAX_DIM = {1: 64, 2: 8, 3: 4, 4: 2, 5: 2, 6: 2}
MAX_RANK = 6
# float kind: (exponent bits, mantissa bits)
_FLOAT_LAYOUT = {2: (5, 10), 4: (8, 23), 8: (11, 52)}

# Every character UTF-8 can carry: all code points but the surrogates. The very set (and the
# very draws) of hypothesis's st.text() and st.characters(codec="utf-8"), spelled as bounds:
# for a codec hypothesis tests all 1.1M code points, 2-3 s of CPU, and caches the table in its
# home folder, which every harness run keeps in a scratch folder of its own.
SURROGATES = "".join(map(chr, range(0xD800, 0xE000)))
UTF8_CHARACTERS = st.characters(
    min_codepoint=0, max_codepoint=sys.maxunicode, exclude_characters=SURROGATES
)


def texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Any text UTF-8 can carry: st.text() without its per-run cost (see UTF8_CHARACTERS)."""
    return st.text(UTF8_CHARACTERS, min_size=min_size, max_size=max_size)


def _float_specials(itemsize: int) -> list[int]:
    exponent_bits, mantissa_bits = _FLOAT_LAYOUT[itemsize]
    sign = 1 << (8 * itemsize - 1)
    exponent = ((1 << exponent_bits) - 1) << mantissa_bits
    quiet = 1 << (mantissa_bits - 1)
    largest = exponent - 1  # all-ones mantissa, exponent one below all-ones
    one = ((1 << (exponent_bits - 1)) - 1) << mantissa_bits
    return [
        0,  # +0.0
        sign,  # -0.0
        exponent,  # +inf
        sign | exponent,  # -inf
        exponent | quiet,  # the canonical quiet NaN
        exponent | quiet | 0x15,  # quiet NaN with a payload
        sign | exponent | quiet | 1,  # negative NaN with a payload
        exponent | 1,  # signaling NaN: quieted by any float conversion
        1,  # smallest subnormal
        (1 << mantissa_bits) - 1,  # largest subnormal
        1 << mantissa_bits,  # smallest normal
        largest,
        sign | largest,
        one,
    ]


def _int_specials(itemsize: int, signed: bool) -> list[int]:
    bits = 8 * itemsize
    if signed:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        values = [0, 1, -1, low, low + 1, high, high - 1]
        return [v & ((1 << bits) - 1) for v in values]
    top = 1 << (bits - 1)
    return [0, 1, top - 1, top, top + 12345 if bits > 16 else top + 1, (1 << bits) - 1]


@functools.cache
def special_elements(dtype: codec.DType) -> tuple[bytes, ...]:
    """Edge values of a numeric dtype, one little-endian element each."""
    assert dtype.numpy is not None
    size = dtype.itemsize
    if dtype is BOOL:
        return (b"\x00", b"\x01")
    if dtype.numpy.kind == "f":
        patterns = _float_specials(size)
    else:
        patterns = _int_specials(size, signed=dtype.numpy.kind == "i")
    return tuple(p.to_bytes(size, "little") for p in patterns)


def numeric_dtypes() -> st.SearchStrategy[codec.DType]:
    return st.sampled_from(codec.NUMERIC_DTYPES)


def elements(dtype: codec.DType) -> st.SearchStrategy[bytes]:
    """One element's bytes: an edge value or any bit pattern (bools are 0 or 1 only)."""
    if dtype is BOOL:
        return st.sampled_from(special_elements(dtype))
    size = dtype.itemsize
    return st.one_of(
        st.sampled_from(special_elements(dtype)), st.binary(min_size=size, max_size=size)
    )


@st.composite
def shapes(
    draw: st.DrawFn, min_rank: int = 0, max_rank: int = MAX_RANK, empty: bool | None = None
) -> list[int]:
    """Valid dims: ranks ``min_rank..max_rank``; ``empty`` True puts a 0 in the last dim (the
    only place the protocol allows one), False never, None either."""
    rank = draw(st.integers(min_rank, max_rank))
    if rank == 0:
        return []
    dims = [draw(st.integers(1, _MAX_DIM[rank])) for _ in range(rank)]
    if empty or (empty is None and draw(st.integers(0, 7)) == 0):
        dims[-1] = 0
    return dims


@st.composite
def numeric_tensors(
    draw: st.DrawFn,
    dtypes: st.SearchStrategy[codec.DType] | None = None,
    dims: st.SearchStrategy[list[int]] | None = None,
) -> pb.Tensor:
    dtype = draw(dtypes if dtypes is not None else numeric_dtypes())
    shape = draw(dims if dims is not None else shapes())
    count = codec.element_count(shape)
    data = b"".join(draw(st.lists(elements(dtype), min_size=count, max_size=count)))
    tensor = pb.Tensor(dtype=dtype.code, data=data)
    tensor.shape.dims.extend(shape)
    return tensor


def text_dims() -> st.SearchStrategy[list[int]]:
    return st.sampled_from([[], [1]])


@st.composite
def string_tensors(draw: st.DrawFn, dims: st.SearchStrategy[list[int]] | None = None) -> pb.Tensor:
    """MS_STRING: any Unicode text (non-ASCII, NUL, astral planes) as UTF-8."""
    text = draw(texts(max_size=40))
    return codec.text_tensor(text, draw(dims if dims is not None else text_dims()))


@st.composite
def bytes_tensors(draw: st.DrawFn, dims: st.SearchStrategy[list[int]] | None = None) -> pb.Tensor:
    value = draw(st.one_of(st.binary(max_size=64), st.just(b"\x00"), st.just(b"a\x00b\xff")))
    return codec.bytes_tensor(value, draw(dims if dims is not None else text_dims()))


def tensors() -> st.SearchStrategy[pb.Tensor]:
    """A well-formed tensor of any of the 14 dtypes."""
    return st.one_of(numeric_tensors(), string_tensors(), bytes_tensors())


def error_texts() -> st.SearchStrategy[str]:
    """Non-empty, printable error texts for ``fail`` (short: no truncation)."""
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f")
    return st.text(alphabet, min_size=1, max_size=30)


def fail_patterns(min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[list[str]]:
    """One ``error`` input per instance: "" for an instance that must succeed."""
    return st.lists(st.one_of(st.just(""), error_texts()), min_size=min_size, max_size=max_size)


def positions(count: int) -> st.SearchStrategy[int]:
    return st.integers(0, count - 1)


def instance_counts(low: int = 1, high: int = 5) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def distinct(tensors: Sequence[pb.Tensor]) -> bool:
    return len({t.SerializeToString(deterministic=True) for t in tensors}) == len(tensors)


__all__ = [
    "BOOL",
    "FLOAT32",
    "MAX_RANK",
    "SURROGATES",
    "TEXT_DTYPES",
    "UTF8_CHARACTERS",
    "bytes_tensors",
    "distinct",
    "elements",
    "error_texts",
    "fail_patterns",
    "instance_counts",
    "numeric_dtypes",
    "numeric_tensors",
    "positions",
    "shapes",
    "special_elements",
    "string_tensors",
    "tensors",
    "text_dims",
    "texts",
]
