"""Hypothesis strategies for the space a real server meets (issue 8), beyond the polite one
of conformance.strategies: tensors from empty to several MiB in every dtype and 0 to 8 dims,
hundreds of instances, texts from all of Unicode at every truncation boundary, lookup names
that nearly match, versions over the whole uint64 range, and whole random requests.

Large tensors are not drawn byte by byte (hypothesis would spend its budget there): a drawn
seed fills the bulk, and drawn edge values (conformance.strategies.special_elements) are
written at drawn positions, the first and last element included. Strategies put their large
cases first in ``one_of`` / ``sampled_from``, so that a derandomized gating run of a few
examples reaches them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hypothesis import strategies as st

from conformance.catalogue import Level
from conformance.verify import malformed
from conformance.verify import strategies as gen
from conformance.verify.oracle import MUST, SHOULD
from protos import codec
from protos import ms_service_pb2 as pb

MIB = 1024 * 1024
# Gating runs stay under this per tensor; --thorough may go to several MiB too (bounded by the
# harness's own message limit and the server's, default 100 MiB).
LARGE_BYTES = 4 * MIB
MAX_RANK = 8
MANY_INSTANCES = 300
# Lengths, in characters and in UTF-8 bytes, at which a server that cuts texts would show it:
# docs/protocol.md#truncation's 384/192 (error texts, counted in bytes), and the powers of two
# a fixed buffer tends to have.
TEXT_BOUNDARIES = (0, 1, 191, 192, 193, 255, 256, 257, 383, 384, 385, 386, 387, 511, 512, 513,
                   1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537)  # fmt: skip
VERSION_EDGES = (0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**32 + 2,
                 2**63 - 1, 2**63, 2**63 + 1, 2**63 + 2, 2**64 - 2, 2**64 - 1)  # fmt: skip

# Characters a text handler gets wrong: controls (NUL, tab, newline, CR, ESC, DEL, C1),
# combining marks, right-to-left text and marks, zero-width characters, BOM, the last
# BMP characters, 4-byte code points (astral plane, emoji with ZWJ), U+10FFFF.
AWKWARD = ("\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u0301", "e\u0301", "\u05d0",
           "\u0627\u0644", "\u202e", "\u200f", "\u200b", "\u200d", "\ufeff", "\ufffd",
           "\uffff", "\U0001f600", "\U0001f469\u200d\U0001f4bb", "\U00010348", "\U0010ffff",
           "\u00e9", "\u6f22")  # fmt: skip
# Look-alikes of Latin letters: Cyrillic, Greek, fullwidth, dotless i.
LOOK_ALIKES = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u03bf", "p": "\u0440",
               "x": "\u0445", "i": "\u0131", "d": "\u0501", "m": "\uff4d", "n": "\u0578",
               "f": "\uff46", "s": "\u0455", "l": "\u04cf", "1": "\uff11"}  # fmt: skip


T = TypeVar("T")


@dataclass(frozen=True)
class Built(Generic[T]):
    """An ``@example`` value built when the test runs and printed as its label: hypothesis
    renders explicit examples eagerly, which for a MiB-size protobuf takes seconds."""

    label: str
    build: Callable[[], T]

    def __repr__(self) -> str:
        return self.label


def built(value: T | Built[T]) -> T:
    return value.build() if isinstance(value, Built) else value


def _fill(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@st.composite
def large_dims(draw: st.DrawFn, itemsize: int, max_bytes: int = LARGE_BYTES) -> list[int]:
    """Dims of rank 0 to MAX_RANK whose tensor holds up to ``max_bytes`` (large ones first);
    a 0 may end them (an empty tensor)."""
    rank = draw(st.integers(0, MAX_RANK))
    if rank == 0:
        return []
    budget = max(1, max_bytes // itemsize)
    target = draw(st.sampled_from([budget, budget // 2 + 1, 1, 0, 7]) | st.integers(0, budget))
    dims = [1] * rank
    remaining = max(target, 1)
    for axis in range(rank - 1):  # spread the elements over the axes
        dim = draw(st.integers(1, max(1, min(remaining, 64))))
        dims[axis] = dim
        remaining = max(1, remaining // dim)
    dims[-1] = remaining if target else 0
    return dims


@st.composite
def large_numeric_tensors(
    draw: st.DrawFn,
    dtypes: st.SearchStrategy[codec.DType] | None = None,
    max_bytes: int = LARGE_BYTES,
) -> pb.Tensor:
    """A numeric tensor of any dtype, from empty to ``max_bytes``: seeded random bulk with
    edge values at the ends and at drawn positions."""
    dtype = draw(dtypes if dtypes is not None else gen.numeric_dtypes())
    dims = draw(large_dims(dtype.itemsize, max_bytes))
    count = codec.element_count(dims)
    size = dtype.itemsize
    if dtype is gen.BOOL:
        data = bytearray(b % 2 for b in _fill(draw(st.integers(0, 2**32)), count))
    else:
        data = bytearray(_fill(draw(st.integers(0, 2**32)), count * size))
    specials = gen.special_elements(dtype)
    if count:
        marks = [0, count - 1, *draw(st.lists(st.integers(0, count - 1), max_size=8))]
        for at in marks:
            value = draw(st.sampled_from(specials))
            data[at * size : (at + 1) * size] = value
    tensor = pb.Tensor(dtype=dtype.code, data=bytes(data))
    tensor.shape.dims.extend(dims)
    return tensor


@st.composite
def wide_texts(draw: st.DrawFn, max_length: int = 70000) -> str:
    """Any text UTF-8 can carry (no lone surrogates), with awkward characters mixed in, at a
    length around a boundary (in characters or in UTF-8 bytes) or any length."""
    unit = draw(
        st.lists(st.sampled_from(AWKWARD) | gen.UTF8_CHARACTERS, min_size=1, max_size=6).map(
            "".join
        )
    )
    target = draw(st.sampled_from([b for b in TEXT_BOUNDARIES if b <= max_length]))
    text = (unit * (target // len(unit) + 1))[:target]
    if draw(st.booleans()):  # the boundary in UTF-8 bytes rather than characters
        text = text.encode()[:target].decode("utf-8", "ignore")  # a cut character dropped
    return text + draw(gen.texts(max_size=3))


def wide_string_tensors(max_length: int = 70000) -> st.SearchStrategy[pb.Tensor]:
    """MS_STRING tensors of wide_texts (dims [] or [1])."""
    return st.builds(codec.text_tensor, wide_texts(max_length), gen.text_dims())


def wide_bytes_tensors(max_length: int = 70000) -> st.SearchStrategy[pb.Tensor]:
    """MS_BYTES tensors of any bytes, lengths at the boundaries first."""
    lengths = st.sampled_from([b for b in TEXT_BOUNDARIES if b <= max_length])
    value = st.one_of(
        st.builds(_fill, st.integers(0, 2**32), lengths),
        st.binary(max_size=64),
    )
    return st.builds(codec.bytes_tensor, value, gen.text_dims())


def wide_tensors(max_bytes: int = LARGE_BYTES) -> st.SearchStrategy[pb.Tensor]:
    """A well-formed tensor of any of the 14 dtypes, up to ``max_bytes`` (large ones first)."""
    return st.one_of(
        large_numeric_tensors(max_bytes=max_bytes),
        wide_string_tensors(max_bytes),
        wide_bytes_tensors(max_bytes),
        gen.tensors(),
    )


def near_misses(name: str) -> st.SearchStrategy[str]:
    """Names a lookup by exact name must not match: case variants, surrounding whitespace,
    prefixes and suffixes, cut short, a look-alike letter, a NUL, the empty string."""
    variants = {
        name.upper(),
        name.capitalize(),
        name.swapcase(),
        " " + name,
        name + " ",
        "\t" + name,
        name + "\n",
        "\u00a0" + name,
        name + "\u200b",
        name[:-1],
        name[1:],
        name + "s",
        name + "_",
        "_" + name,
        name + "\x00",
        name + "1",
        "",
        name.replace("_", "-"),
    }
    for index, char in enumerate(name):
        if char in LOOK_ALIKES:
            variants.add(name[:index] + LOOK_ALIKES[char] + name[index + 1 :])
    return st.sampled_from(sorted(v for v in variants if v != name))


def versions() -> st.SearchStrategy[int]:
    """uint64 versions: the edges first (2**32 + 2 and 2**63 + 2 wrap to deployed versions in
    a narrower or signed type), then any."""
    return st.sampled_from(VERSION_EDGES) | st.integers(0, 2**64 - 1)


def malformed_tensors() -> st.SearchStrategy[pb.Tensor]:
    return st.one_of(*(case.tensors() for case in malformed.CASES))


def error_patterns(count: int, max_error: int = 64) -> st.SearchStrategy[list[str]]:
    """One ``error`` per instance for ``fail``: mostly "", else a short awkward text (at most
    ``max_error`` UTF-8 bytes, whole characters: within what a MUST-level check can find
    verbatim, docs/protocol.md#truncation counting bytes)."""
    errors = st.lists(
        st.sampled_from(AWKWARD) | gen.UTF8_CHARACTERS, min_size=1, max_size=max_error
    ).map(lambda parts: "".join(parts).encode()[:max_error].decode("utf-8", "ignore"))
    return st.lists(st.one_of(st.just(""), st.just(""), errors), min_size=count, max_size=count)


SERVABLE_METHODS = (("conformance", "echo"), ("conformance", "fail"), ("add", "add_common"),
                    ("add", "add_cast"))  # fmt: skip
INPUTS = {
    "echo": ("x",),
    "fail": ("x", "error"),
    "add_common": ("x1", "x2"),
    "add_cast": ("x1", "x2"),
}


# The classes of request requests() draws, each tagged with the level of the requirements
# that ask for its expected reply. "zero" and "non-utf8" meet upstream's documented defects
# (oracle.upstream_defect: upstream hangs, its worker dies), so only SHOULD checks draw them.
DEFECTS: dict[str, Level] = {"none": MUST, "servable": MUST, "method": MUST, "version": MUST,
                             "missing": MUST, "near-input": MUST, "malformed": MUST,
                             "zero": SHOULD, "non-utf8": SHOULD}  # fmt: skip


def admitted(tag: Level, level: Level) -> bool:
    """A check of ``level`` draws the inputs tagged ``tag``: MUST ones always (what MUST asks
    for, SHOULD asks for too), SHOULD ones only at SHOULD."""
    return tag == MUST or level == SHOULD


def defects(level: Level) -> list[str]:
    """The classes a check of ``level`` draws, "none" (a valid request) four times as often."""
    drawn = [name for name, tag in DEFECTS.items() if admitted(tag, level)]
    return ["none"] * 3 + drawn


def _good_input(draw: st.DrawFn, method: str, name: str, max_bytes: int) -> pb.Tensor:
    if method == "fail" and name == "error":
        return codec.text_tensor(draw(st.sampled_from(["", "", "boom"]) | wide_texts(max_bytes)))
    if method == "add_common":  # mostly a model input; else any tensor (wrong size or dtype)
        model = gen.numeric_tensors(dtypes=st.just(gen.FLOAT32), dims=st.just([2, 2]))
        return draw(model | model | wide_tensors(max_bytes))
    if method == "add_cast":
        return draw(gen.numeric_tensors(dims=st.just([3])) | wide_tensors(max_bytes))
    return draw(wide_tensors(max_bytes))


@st.composite
def requests(
    draw: st.DrawFn,
    max_bytes: int = 4097,
    max_instances: int = 8,
    level: Level = MUST,
    only: str | None = None,
) -> pb.PredictRequest:
    """Any request to the kit's servables a check of ``level`` may send: valid ones, and ones
    with one defect of docs/protocol.md#request-handling (a near-miss servable or method name,
    a version not deployed, a missing or near-miss input, a malformed input; at SHOULD also no
    instance, or a non-UTF-8 input) somewhere; extra inputs at random. ``only``: that class."""
    servable, method = draw(st.sampled_from(SERVABLE_METHODS))
    defect = only if only is not None else draw(st.sampled_from(defects(level)))
    spec = pb.ServableSpec(
        name=draw(near_misses(servable)) if defect == "servable" else servable,
        method_name=draw(near_misses(method)) if defect == "method" else method,
        version_number=draw(versions())
        if defect == "version"
        else draw(st.sampled_from([0, 1, 2])),
    )
    request = pb.PredictRequest(servable_spec=spec)
    count = 0 if defect == "zero" else draw(st.integers(1, max_instances))
    for _ in range(count):
        instance = request.instances.add()
        for name in INPUTS[method]:
            instance.items[name].CopyFrom(_good_input(draw, method, name, max_bytes))
        if draw(st.integers(0, 4)) == 0:  # an input no method declares
            instance.items[draw(gen.texts(max_size=4))].CopyFrom(draw(gen.tensors()))
    if count and defect in ("missing", "near-input", "malformed", "non-utf8"):
        instance = request.instances[draw(st.integers(0, count - 1))]
        name = draw(st.sampled_from(INPUTS[method]))
        if defect == "malformed":
            instance.items[name].CopyFrom(draw(malformed_tensors()))
        elif defect == "non-utf8":
            bad = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[draw(st.sampled_from(NON_UTF8))])
            instance.items[name].CopyFrom(bad)
        else:
            tensor = instance.items.pop(name)
            if defect == "near-input":
                instance.items[draw(near_misses(name))].CopyFrom(tensor)
    return request


NON_UTF8 = (b"\xff", b"ok\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80")


def many_instances(tensors: st.SearchStrategy[pb.Tensor]) -> st.SearchStrategy[list[pb.Tensor]]:
    """1 to MANY_INSTANCES tensors, the big counts first."""
    counts = st.sampled_from([MANY_INSTANCES, 101, 100, 1]) | st.integers(1, MANY_INSTANCES)
    return counts.flatmap(lambda n: st.lists(tensors, min_size=n, max_size=n))


def distinct(tensors: Sequence[pb.Tensor]) -> bool:
    return gen.distinct(tensors)


__all__ = [
    "AWKWARD",
    "DEFECTS",
    "INPUTS",
    "LARGE_BYTES",
    "LOOK_ALIKES",
    "MANY_INSTANCES",
    "MAX_RANK",
    "MIB",
    "NON_UTF8",
    "SERVABLE_METHODS",
    "TEXT_BOUNDARIES",
    "VERSION_EDGES",
    "Built",
    "admitted",
    "built",
    "defects",
    "distinct",
    "error_patterns",
    "large_dims",
    "large_numeric_tensors",
    "malformed_tensors",
    "many_instances",
    "near_misses",
    "requests",
    "versions",
    "wide_bytes_tensors",
    "wide_string_tensors",
    "wide_tensors",
    "wide_texts",
]
