"""An executable model of the kit: what a conforming server answers to ANY Predict request.

``expect(request)`` is a pure function (no I/O, nothing from reference_server: the harness must
not certify a server with the server's own logic) from a request to the reply a conforming
server sends, written from docs/protocol.md#request-handling to #kit-servables: the check order, the
reply shape, instance order, each error's code and text, every output's name, dtype, dims and
bytes, echo's ``version`` output and the servable_spec echo.

Where the protocol leaves a server free, the expectation says so explicitly and
conformance.verify.compare honours exactly that freedom:

* ``Level`` MUST: error texts are free except ``fail``'s, which contains its ``error`` verbatim
  (while the error is short enough that no truncation can cut it); ``fail``'s code is any
  non-zero one; an all-failed reply may collapse to one error only when every instance failed
  the same way. SHOULD (profile strict): upstream's texts character for character
  (truncated as docs/protocol.md#truncation says), ``fail``'s code 3, and identical
  all-instance failures collapse.
* string/bytes outputs may carry dims ``[]`` or ``[1]``; add's float results compare as values
  (NaN equal to NaN: the payload of a computed NaN is the hardware's).
* a non-UTF-8 MS_STRING input is refused with code 2, for the request or for its instance
  (SHOULD level only, as every request that meets an upstream defect: ``upstream_defect``).
* what the kit does not specify (add_cast on non-numeric inputs or unequal shapes, ``fail``
  with a non-string ``error``) fails that instance with any non-zero code and any text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from conformance.catalogue import Level, LevelError, OutsideModel
from conformance.verify.malformed import CASES, input_check_failed
from protos import codec
from protos import ms_service_pb2 as pb

MUST: Level = "MUST"
SHOULD: Level = "SHOULD"

INVALID_INPUTS, SYSTEM_ERROR = 2, 3  # docs/protocol.md#replies
# docs/protocol.md#truncation: a text over 384 UTF-8 bytes keeps its first and last 192 bytes
# around "...", even where that cuts a character in two.
MAX_TEXT = 384
# With the server's own words around ``fail``'s error unknown (MUST level), an error of at most
# this many UTF-8 bytes is still whole in a text of at most MAX_TEXT bytes.
SHORT_ERROR = 64


@dataclass(frozen=True)
class Method:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


# docs/protocol.md#kit-servables: servable -> version -> method -> declaration. resnet50 is
# optional and not modelled: requests naming it are outside the model (OutsideModel).
KIT: Mapping[str, Mapping[int, Mapping[str, Method]]] = {
    "conformance": {
        v: {"echo": Method(("x",), ("y", "version")), "fail": Method(("x", "error"), ("y",))}
        for v in (1, 2)
    },
    "add": {
        1: {"add_common": Method(("x1", "x2"), ("y",)), "add_cast": Method(("x1", "x2"), ("y",))}
    },
}
UNMODELLED_SERVABLES = frozenset({"resnet50"})
# docs/protocol.md#step-inputs (this project): an empty tensor whose non-zero dims multiply past
# this is refused; no int64-addressed array of 8-byte items holds more.
MAX_EMPTY_ELEMENTS = 2**60 - 1
MODEL_INPUT = (16, codec.BY_CODE[pb.MS_FLOAT32])  # add_common: float32 [2,2], 16 bytes


@dataclass(frozen=True)
class Text:
    """What an error text may be: ``exact`` (SHOULD), containing ``contains``, or anything."""

    exact: str | None = None
    contains: str | None = None

    def admits(self, text: str) -> bool:
        if self.exact is not None:
            return text == self.exact
        return self.contains is None or self.contains in text

    def __str__(self) -> str:
        if self.exact is not None:
            return repr(self.exact)
        if self.contains is not None:
            return f"a text containing {self.contains!r}"
        return "any text"


@dataclass(frozen=True)
class Error:
    """An expected error: ``code`` None means any non-zero code. ``key``: two errors with equal
    keys are the same failure (identical code and text); None: unknowable (free texts)."""

    code: int | None
    text: Text
    key: object = None

    def admits_code(self, code: int) -> bool:
        return code != 0 and (self.code is None or code == self.code)

    def describe_code(self) -> str:
        return "any non-zero code" if self.code is None else str(self.code)


@dataclass(frozen=True)
class TensorOut:
    """One expected output tensor. Numeric: ``dtype``, ``dims``, and ``data`` (bit-exact) or
    ``values`` (compared as values, NaN equal to NaN). Text: ``value``, dims [] or [1]."""

    dtype: int
    dims: tuple[int, ...] = ()
    data: bytes | None = None
    values: np.ndarray | None = None
    value: bytes | None = None  # the one bytes_val element of MS_STRING / MS_BYTES

    @property
    def is_text(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class ExpectedOutputs:
    tensors: Mapping[str, TensorOut]


InstanceExpectation = ExpectedOutputs | Error
Collapse = Literal["must", "may", "never"]


@dataclass(frozen=True)
class Expected:
    """The reply: a request-level ``error``, or one expectation per instance (in order) with
    the rule for an all-failed reply; ``alternatives``: other replies equally conforming."""

    spec: pb.ServableSpec
    error: Error | None = None
    instances: tuple[InstanceExpectation, ...] = ()
    collapse: Collapse = "never"
    alternatives: tuple[Expected, ...] = field(default=())


@dataclass(frozen=True)
class FailFrame:
    """The server's own words before and after ``fail``'s error (learnt by the strict suite)."""

    prefix: str
    suffix: str


def text_of(raw: bytes) -> str:
    """An error text as the harness compares it: its bytes decoded as UTF-8, losslessly (a byte
    that is not UTF-8, as where a cut split a character, becomes a lone surrogate)."""
    return raw.decode("utf-8", "surrogateescape")


def byte_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def truncate(text: str) -> str:
    """docs/protocol.md#truncation: over 384 UTF-8 bytes, the first 192 bytes, ``...``, the last
    192 bytes (as ``text_of`` decodes them)."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= MAX_TEXT:
        return text
    half = MAX_TEXT // 2
    return text_of(data[:half] + b"..." + data[-half:])


# -- docs/protocol.md#error-texts (SHOULD); malformed-input details live in verify.malformed --


def _spec_words(spec: pb.ServableSpec) -> str:
    version = spec.version_number
    words = f"servable({spec.name}) method({spec.method_name}) "
    return words + (f" version({version}) " if version else "")


def servable_unavailable(spec: pb.ServableSpec) -> str:
    return f"Request {_spec_words(spec)}, servable is not available"


def method_unavailable(spec: pb.ServableSpec) -> str:
    return f"Request {_spec_words(spec)}, method is not available"


def zero_instances(spec: pb.ServableSpec) -> str:
    return (
        f"Instances count of request cannot be 0, servable: {spec.name}, method: {spec.method_name}"
    )


def missing_input(name: str, spec: pb.ServableSpec) -> str:
    return (
        f"Cannot find input {name} in instance input , servable {spec.name}, "
        f"method {spec.method_name}"
    )


def model_size(index: int, given: int, expected: int) -> str:
    return f"Given model input {index} size {given} not match the size {expected} defined in model"


def model_dtype(index: int, given: codec.DType, expected: codec.DType) -> str:
    return (
        f"Given model input {index} data type {given.msi_name} not match the data type "
        f"{expected.msi_name} defined in model"
    )


_DETAILS = {case.requirement: case.detail for case in CASES}


def _malformation(tensor: pb.Tensor) -> str | None:
    """The first problem docs/protocol.md#step-inputs finds in one declared input, as the
    requirement ID of conformance.verify.malformed's case ("UTF8", "SHM" and "ELEMENTS" for this
    project's three extra cases)."""
    if tensor.WhichOneof("tensor_data") == "shm_data":
        return "SHM"
    dims = list(tensor.shape.dims)
    if tensor.dtype in (codec.STRING.code, codec.BYTES.code):
        if len(tensor.bytes_val) != 1:
            return "CORE-MALFORMED-STRING-COUNT"
        if dims not in ([], [1]):
            return "CORE-MALFORMED-STRING-DIMS"
        if tensor.dtype == codec.STRING.code:
            try:
                bytes(tensor.bytes_val[0]).decode("utf-8")
            except UnicodeDecodeError:
                return "UTF8"
        return None
    zero_seen = False
    for dim in dims:
        if dim < 0 or zero_seen:
            return "CORE-MALFORMED-SHAPE"
        zero_seen = zero_seen or dim == 0
    dtype = codec.BY_CODE.get(tensor.dtype)
    if dtype is None or not dtype.is_numeric:
        return "CORE-MALFORMED-DTYPE"
    if len(tensor.data) != codec.element_count(dims) * dtype.itemsize:
        return "CORE-MALFORMED-DATA-SIZE"
    if zero_seen and math.prod(d for d in dims if d) > MAX_EMPTY_ELEMENTS:
        return "ELEMENTS"  # this project's limit (STRICT-EMPTY-ELEMENT-LIMIT); the text is free
    return None


# -- levels: the inputs whose expected reply only SHOULD-level requirements ask for ----------

NUMPY_MAX_DIMS = 32
INT32_MAX = 2**31 - 1
UPSTREAM_COUNT_LIMIT = 2**32  # past it, upstream's element_cnt() gives up


def dims_defect(dims: Sequence[int]) -> str | None:
    """The upstream defect a tensor of these dims may meet (docs/protocol.md#departures), or
    None: numpy cannot build it, upstream miscounts its elements, or drops a dim from a reply."""
    if len(dims) > NUMPY_MAX_DIMS:
        return f"a tensor of {len(dims)} dims (numpy builds at most {NUMPY_MAX_DIMS})"
    if any(d < 0 for d in dims):
        return None  # refused by the shape check before anything is built
    if any(d > INT32_MAX for d in dims):
        return "a dim above 2**31-1"
    if math.prod(d for d in dims if d) >= UPSTREAM_COUNT_LIMIT:
        return "a tensor of 2**32 elements or more"
    return None


def upstream_defect(request: pb.PredictRequest) -> str | None:
    """Which of upstream's documented defects ``request`` may meet (it hangs, its worker dies,
    or it answers wrong: docs/protocol.md#departures), or None. What such a request should get
    is asked for at SHOULD level only (STRICT-ZERO-INSTANCES, STRICT-NON-UTF8-STRING,
    STRICT-EMPTY-ELEMENT-LIMIT, ROBUSTNESS-UPSTREAM-DEFECTS), so that a server copying one of
    these defects can still pass every MUST: a MUST check never sends one (``expect`` refuses
    it, and tests/test_conformance_levels.py holds every generator to its level tags).
    Conservative: every tensor counts, declared input or not, whatever an earlier check does."""
    if not request.instances:
        return "zero instances"
    for instance in request.instances:
        for tensor in instance.items.values():
            found = dims_defect(tensor.shape.dims)
            if found is not None:
                return found
            if tensor.dtype == codec.STRING.code and not all(map(_is_utf8, tensor.bytes_val)):
                return "a non-UTF-8 MS_STRING"
    return None


def _is_utf8(value: bytes) -> bool:
    try:
        bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- the model --------------------------------------------------------------------------------


def _request_error(text: str, level: Level) -> Error:
    return Error(INVALID_INPUTS, Text(exact=truncate(text)) if level == SHOULD else Text())


def expect(
    request: pb.PredictRequest, level: Level = MUST, frame: FailFrame | None = None
) -> Expected:
    """The reply a conforming server sends to ``request``; OutsideModel for resnet50;
    LevelError for a request that meets an upstream defect at MUST level."""
    if level == MUST and (defect := upstream_defect(request)) is not None:
        raise LevelError(f"a MUST check drew a request with {defect}, which only SHOULD covers")
    spec = pb.ServableSpec()
    spec.CopyFrom(request.servable_spec)
    if spec.name in UNMODELLED_SERVABLES:
        raise OutsideModel(f"the model does not cover servable {spec.name!r}")
    # Step 1: servable and version (0: the highest deployed). Step 2: method.
    versions = KIT.get(spec.name)
    version = spec.version_number or (max(versions) if versions else 0)
    if versions is None or version not in versions:
        return Expected(spec, error=_request_error(servable_unavailable(spec), level))
    method = versions[version].get(spec.method_name)
    if method is None:
        return Expected(spec, error=_request_error(method_unavailable(spec), level))
    # Step 3: at least one instance.
    if not request.instances:
        return Expected(spec, error=_request_error(zero_instances(spec), level))
    # Step 4: inputs, instance by instance, input by input in declared order.
    bad_utf8: list[int] = []
    for index, instance in enumerate(request.instances):
        for name in method.inputs:
            if name not in instance.items:
                missing = missing_input(name, spec)
                return Expected(spec, error=_request_error(missing, MUST if bad_utf8 else level))
            problem = _malformation(instance.items[name])
            if problem == "UTF8":
                bad_utf8.append(index)
                break  # refused either way; later instances may still hold request errors
            if problem is not None:
                detail = (
                    input_check_failed(name, _DETAILS[problem](instance.items[name]))
                    if problem in _DETAILS
                    else None
                )
                error = Error(
                    INVALID_INPUTS,
                    Text(exact=truncate(detail))
                    if level == SHOULD and detail and not bad_utf8
                    else Text(),
                )
                return Expected(spec, error=error)
    if bad_utf8:
        # This project refuses a non-UTF-8 string (upstream crashes): code 2, for the whole
        # request or for that instance alone (STRICT-NON-UTF8-STRING); the text is free.
        refused = Error(INVALID_INPUTS, Text())
        per_instance = _instances_reply(request, spec, version, method, level, frame, bad_utf8)
        return Expected(spec, error=refused, alternatives=(per_instance,))
    # Steps 6-7: the method, per instance; the reply's shape from the outcomes.
    return _instances_reply(request, spec, version, method, level, frame, [])


def _instances_reply(
    request: pb.PredictRequest,
    spec: pb.ServableSpec,
    version: int,
    method: Method,
    level: Level,
    frame: FailFrame | None,
    refused: Sequence[int],
) -> Expected:
    outcomes: list[InstanceExpectation] = []
    for index, instance in enumerate(request.instances):
        if index in refused:
            outcomes.append(Error(INVALID_INPUTS, Text(), key=None))
            continue
        items = {name: instance.items[name] for name in method.inputs}
        outcomes.append(_run(spec.name, spec.method_name, version, items, level, frame))
    errors = [o for o in outcomes if isinstance(o, Error)]
    collapse: Collapse = "never"
    if len(errors) == len(outcomes):
        keys = {e.key for e in errors}
        if None in keys:
            collapse = "may"  # texts free: whether they coincide is the server's business
        elif len(keys) == 1:
            collapse = "must" if level == SHOULD else "may"
    return Expected(spec, instances=tuple(outcomes), collapse=collapse)


def _run(
    servable: str,
    method: str,
    version: int,
    items: Mapping[str, pb.Tensor],
    level: Level,
    frame: FailFrame | None,
) -> InstanceExpectation:
    if servable == "conformance" and method == "echo":
        version_out = TensorOut(pb.MS_INT64, (), data=version.to_bytes(8, "little", signed=True))
        return ExpectedOutputs({"y": _echoed(items["x"]), "version": version_out})
    if servable == "conformance":  # fail
        return _fail(items, level, frame)
    if method == "add_common":
        return _add_common(items["x1"], items["x2"], level)
    return _add_cast(items["x1"], items["x2"])


def _echoed(x: pb.Tensor) -> TensorOut:
    if x.dtype in (codec.STRING.code, codec.BYTES.code):
        return TensorOut(x.dtype, tuple(x.shape.dims), value=bytes(x.bytes_val[0]))
    return TensorOut(x.dtype, tuple(x.shape.dims), data=bytes(x.data))


def _unspecified() -> Error:
    return Error(None, Text(), key=None)


def _fail(
    items: Mapping[str, pb.Tensor], level: Level, frame: FailFrame | None
) -> InstanceExpectation:
    error = items["error"]
    if error.dtype != codec.STRING.code:
        return _unspecified()  # the kit declares ``error`` an MS_STRING
    text = bytes(error.bytes_val[0]).decode("utf-8")
    if not text:
        return ExpectedOutputs({"y": _echoed(items["x"])})
    code = SYSTEM_ERROR if level == SHOULD else None
    if frame is not None and level == SHOULD:
        full = truncate(frame.prefix + text + frame.suffix)
        return Error(code, Text(exact=full), key=full)
    if frame is not None:
        whole = byte_size(frame.prefix + text + frame.suffix) <= MAX_TEXT
        return Error(code, Text(contains=text if whole else None), key=("fail", text))
    if byte_size(text) <= SHORT_ERROR:
        return Error(code, Text(contains=text), key=("fail", text))
    return Error(code, Text(), key=None)  # truncation may cut it, or make texts coincide


def _size_dtype(tensor: pb.Tensor) -> tuple[int, codec.DType]:
    dtype = codec.BY_CODE[tensor.dtype]
    return (len(tensor.data), dtype) if dtype.is_numeric else (0, dtype)


def _add_common(x1: pb.Tensor, x2: pb.Tensor, level: Level) -> InstanceExpectation:
    size, dtype = MODEL_INPUT
    for index, tensor in enumerate((x1, x2)):
        got_size, got_dtype = _size_dtype(tensor)
        if got_size != size:
            text = model_size(index, got_size, size)
        elif got_dtype != dtype:
            text = model_dtype(index, got_dtype, dtype)
        else:
            continue
        if level == SHOULD:
            return Error(INVALID_INPUTS, Text(exact=text), key=text)
        return Error(INVALID_INPUTS, Text(), key=None)
    assert dtype.numpy is not None
    with np.errstate(all="ignore"):
        y = np.frombuffer(x1.data, dtype.numpy) + np.frombuffer(x2.data, dtype.numpy)
    return ExpectedOutputs({"y": TensorOut(pb.MS_FLOAT32, (2, 2), values=y.astype("<f4"))})


def _add_cast(x1: pb.Tensor, x2: pb.Tensor) -> InstanceExpectation:
    dtypes = (codec.BY_CODE[x1.dtype], codec.BY_CODE[x2.dtype])
    if not all(d.is_numeric for d in dtypes) or list(x1.shape.dims) != list(x2.shape.dims):
        return _unspecified()  # the kit specifies add_cast for numeric inputs of equal shape
    with np.errstate(all="ignore"):
        a, b = (
            np.frombuffer(t.data, d.numpy).astype("<f4")
            for t, d in zip((x1, x2), dtypes, strict=True)
        )
        y = (a + b).astype("<f4")
    return ExpectedOutputs({"y": TensorOut(pb.MS_FLOAT32, tuple(x1.shape.dims), values=y)})


__all__ = [
    "INT32_MAX",
    "INVALID_INPUTS",
    "KIT",
    "MAX_EMPTY_ELEMENTS",
    "MAX_TEXT",
    "MODEL_INPUT",
    "MUST",
    "NUMPY_MAX_DIMS",
    "SHORT_ERROR",
    "SHOULD",
    "SYSTEM_ERROR",
    "UNMODELLED_SERVABLES",
    "UPSTREAM_COUNT_LIMIT",
    "Collapse",
    "Error",
    "Expected",
    "ExpectedOutputs",
    "FailFrame",
    "InstanceExpectation",
    "Method",
    "TensorOut",
    "Text",
    "byte_size",
    "dims_defect",
    "expect",
    "method_unavailable",
    "missing_input",
    "model_dtype",
    "model_size",
    "servable_unavailable",
    "text_of",
    "truncate",
    "upstream_defect",
    "zero_instances",
]
