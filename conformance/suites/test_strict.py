"""strict (SHOULD): upstream's exact codes and texts, and upstream defects not copied."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import Cell
from conformance.reporting import repro
from conformance.verify import assertions, compare, kit, named, oracle
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.malformed import CASES, Case, input_check_failed
from conformance.verify.marks import requirement
from conformance.verify.tls import assert_served
from conformance.verify.wire import RpcFailure, Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb

INVALID_INPUTS, SYSTEM_ERROR = 2, 3
MAX_TEXT = 384


def _spec_text(servable: str, method: str, version: int) -> str:
    text = f"servable({servable}) method({method}) "
    return text + (f" version({version}) " if version else "")


def _assert_error(error: assertions.Failed, code: int, text: str, what: str) -> None:
    __tracebackhide__ = True
    if (error.code, error.text) != (code, text):
        assertions.fail(f"{what}: expected ({code}, {text!r}), got ({error.code}, {error.text!r})")


_frames: dict[str, oracle.FailFrame | None] = {}


def _learnt_frame(server: Target) -> oracle.FailFrame | None:
    """The server's words around fail's error, learnt once per server (None if its text does
    not hold the error once: then only containment is compared)."""
    address = server.endpoint.address
    if address not in _frames:
        reply = server.predict(kit.fail_request([codec.text_tensor("f")], [_MARK]))
        texts = [oracle.text_of(bytes(e.error_msg)) for e in reply.error_msg]
        parts = texts[0].split(_MARK) if len(texts) == 1 else []
        _frames[address] = oracle.FailFrame(*parts) if len(parts) == 2 else None
    return _frames[address]


def _whole(server: Target, request: pb.PredictRequest, reply: pb.PredictReply, what: str) -> None:
    """The whole reply against the kit's model at SHOULD level (upstream's texts and codes)."""
    __tracebackhide__ = True
    frame = _learnt_frame(server)
    repro.record(server.endpoint, request, note=False)  # the snippet is this request's again
    compare.check(request, reply, what, level=oracle.SHOULD, frame=frame)


def _x() -> dict[str, pb.Tensor]:
    return {"x": codec.text_tensor("strict")}


@requirement("STRICT-TEXT-UNKNOWN-SERVABLE")
@pytest.mark.parametrize("name", ["no-such-servable", "Conformance", ""])
def test_text_unknown_servable(conformance_server: Target, name: str) -> None:
    request = make_request(name, kit.ECHO, [_x()])
    reply = conformance_server.predict(request)
    expected = f"Request {_spec_text(name, kit.ECHO, 0)}, servable is not available"
    _assert_error(
        kit.refused(conformance_server, reply, "unknown servable", any_code=True),
        INVALID_INPUTS,
        expected,
        "unknown servable",
    )
    _whole(conformance_server, request, reply, "unknown servable")


@requirement("STRICT-TEXT-UNKNOWN-VERSION")
@pytest.mark.parametrize("version", [3, 2**64 - 1])
def test_text_unknown_version(conformance_server: Target, version: int) -> None:
    request = make_request(kit.CONFORMANCE, kit.ECHO, [_x()], version)
    reply = conformance_server.predict(request)
    expected = (
        f"Request {_spec_text(kit.CONFORMANCE, kit.ECHO, version)}, servable is not available"
    )
    _assert_error(
        kit.refused(conformance_server, reply, "unknown version", any_code=True),
        INVALID_INPUTS,
        expected,
        "unknown version",
    )
    _whole(conformance_server, request, reply, "unknown version")


@requirement("STRICT-TEXT-UNKNOWN-METHOD")
def test_text_unknown_method(conformance_server: Target) -> None:
    request = make_request(kit.CONFORMANCE, "no-such-method", [_x()])
    reply = conformance_server.predict(request)
    expected = (
        f"Request {_spec_text(kit.CONFORMANCE, 'no-such-method', 0)}, method is not available"
    )
    _assert_error(
        kit.refused(conformance_server, reply, "unknown method", any_code=True),
        INVALID_INPUTS,
        expected,
        "unknown method",
    )
    _whole(conformance_server, request, reply, "unknown method")


# The text names the input missing: echo's x (a method's first input), fail's error (a later
# one: a text naming the method's first input whatever is missing fails here).
MISSING = named.Explicit("STRICT-TEXT-MISSING-INPUT")
MISSING.case([("input", "the method's first")], id="echo-x", method=kit.ECHO, missing="x")
MISSING.case([("input", "the method's first")], id="fail-x", method=kit.FAIL, missing="x")
MISSING.case([("input", "a later one")], id="fail-error", method=kit.FAIL, missing="error")


@requirement("STRICT-TEXT-MISSING-INPUT")
@MISSING.parametrize("method", "missing")
def test_text_missing_input(conformance_server: Target, method: str, missing: str) -> None:
    every = {"x": codec.text_tensor("strict"), "error": codec.text_tensor("")}
    whole = {name: every[name] for name in ("x", "error") if method == kit.FAIL or name == "x"}
    short = {name: tensor for name, tensor in whole.items() if name != missing}
    request = make_request(kit.CONFORMANCE, method, [whole, short])
    reply = conformance_server.predict(request)
    expected = (
        f"Cannot find input {missing} in instance input , servable {kit.CONFORMANCE}, "
        f"method {method}"
    )
    _assert_error(
        kit.refused(conformance_server, reply, "missing input", any_code=True),
        INVALID_INPUTS,
        expected,
        "missing input",
    )
    _whole(conformance_server, request, reply, "missing input")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=requirement(c.strict_requirement), id=c.strict_requirement)
        for c in CASES
    ],
)
@examples(8)
@given(data=st.data())
def test_text_malformed(conformance_server: Target, case: Case, data: st.DataObject) -> None:
    x = data.draw(case.tensors(), "malformed x")
    request = kit.echo_request([x])
    reply = conformance_server.predict(request)
    expected = input_check_failed("x", case.detail(x))
    _assert_error(
        kit.refused(conformance_server, reply, "malformed x", any_code=True),
        INVALID_INPUTS,
        expected,
        "malformed x",
    )
    _whole(conformance_server, request, reply, "malformed x")


def _bad_count_string() -> tuple[pb.Tensor, str]:
    """An MS_STRING with two values (malformed) and upstream's detail text for it."""
    case = next(c for c in CASES if c.requirement == "CORE-MALFORMED-STRING-COUNT")
    tensor = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[b"a", b"b"])
    tensor.shape.dims.extend([1])
    return tensor, case.detail(tensor)


@requirement("STRICT-TEXT-FIRST-PROBLEM")
@pytest.mark.parametrize("missing_first", [True, False], ids=["missing-first", "malformed-first"])
def test_text_first_problem(conformance_server: Target, missing_first: bool) -> None:
    # docs/protocol.md#step-inputs: instances are checked in request order, and the first
    # problem found is the one reported. Two bad instances with problems of different texts
    # after a good one: the text tells which was checked first.
    bad, detail = _bad_count_string()
    missing: dict[str, pb.Tensor] = {}
    malformed = {"x": bad}
    later = [missing, malformed] if missing_first else [malformed, missing]
    request = make_request(kit.CONFORMANCE, kit.ECHO, [_x(), *later])
    reply = conformance_server.predict(request)
    if missing_first:
        expected = (
            f"Cannot find input x in instance input , servable {kit.CONFORMANCE}, method {kit.ECHO}"
        )
    else:
        expected = input_check_failed("x", detail)
    what = "two bad instances, " + ("missing input first" if missing_first else "malformed first")
    _assert_error(
        kit.refused(conformance_server, reply, what, any_code=True), INVALID_INPUTS, expected, what
    )
    _whole(conformance_server, request, reply, what)


def _float32(dims: list[int]) -> pb.Tensor:
    return codec.array_to_tensor(np.zeros(dims, "<f4"))


# How a failing instance is sent: beside a succeeding one (a mixed reply lists its error), or
# alone (a one-instance request that fails always collapses to one error and no instances).
ALONE, MIXED = "alone", "mixed"


def _add_common_error(server: Target, x1: pb.Tensor, x2: pb.Tensor, form: str) -> assertions.Failed:
    good = _float32([2, 2])
    pairs = [(x1, x2)] if form == ALONE else [(good, good), (x1, x2)]
    request = kit.add_request(kit.ADD_COMMON, pairs)
    reply = server.predict(request)
    failing = [True] if form == ALONE else [False, True]
    outcome = assertions.assert_failure_pattern(reply, failing, f"add_common, bad instance {form}")[
        -1
    ]
    assert isinstance(outcome, assertions.Failed)
    _whole(server, request, reply, f"add_common, bad instance {form}")
    return outcome


def _wrong_size_examples() -> named.Explicit:
    """Wrong-size inputs, with the size the text must give, each beside a good instance and
    alone: float32 smaller and larger than 16 bytes (only the size is wrong); int8 (the dtype
    too: a model checks the size first, docs/protocol.md#step-method-runs, so the size text
    must win); 4 elements of int8 and of float64 (bytes count, not elements: a check counting
    elements gives them the dtype text); MS_STRING and MS_BYTES (a text input has size 0 there,
    even a 16-byte one)."""
    sizes: dict[str, tuple[pb.Tensor, int, list[str]]] = {
        "float32": (_float32([3]), 12, []),
        "float32-large": (_float32([5]), 20, []),
        "int8": (codec.array_to_tensor(np.zeros([3], "i1")), 3, ["the dtype is wrong too"]),
        "int8-4-elements": (
            codec.array_to_tensor(np.zeros([2, 2], "i1")),
            4,
            ["the dtype is wrong too", "not elements"],
        ),
        "float64-4-elements": (
            codec.array_to_tensor(np.zeros([2, 2], "<f8")),
            32,
            ["the dtype is wrong too", "not elements"],
        ),
        "string": (codec.text_tensor("a"), 0, ["a text input"]),
        "bytes": (codec.bytes_tensor(b"0123456789abcdef"), 0, ["a text input"]),
    }
    explicit = named.Explicit("STRICT-TEXT-ADD-COMMON-SIZE")
    for form, where in ((MIXED, "beside a good instance"), (ALONE, "alone")):
        for name, (bad, size, classes) in sizes.items():
            covers: list[Cell | str] = [where, *classes]
            explicit.case(covers, id=f"{name}-{form}", bad=bad, size=size, form=form)
    return explicit


WRONG_SIZES = _wrong_size_examples()


@requirement("STRICT-TEXT-ADD-COMMON-SIZE")
@pytest.mark.parametrize("index", [0, 1])
@WRONG_SIZES.parametrize("bad", "size", "form")
def test_text_add_common_size(
    conformance_server: Target, bad: pb.Tensor, size: int, form: str, index: int
) -> None:
    pair = [_float32([2, 2]), _float32([2, 2])]
    pair[index] = bad
    error = _add_common_error(conformance_server, pair[0], pair[1], form)
    expected = f"Given model input {index} size {size} not match the size 16 defined in model"
    what = f"add_common input {index} of {size} bytes of {codec.BY_CODE[bad.dtype].name} ({form})"
    _assert_error(error, INVALID_INPUTS, expected, what)


@requirement("STRICT-TEXT-ADD-COMMON-DTYPE")
@pytest.mark.parametrize("form", [MIXED, ALONE])
@pytest.mark.parametrize("index", [0, 1])
def test_text_add_common_dtype(conformance_server: Target, index: int, form: str) -> None:
    pair = [_float32([2, 2]), _float32([2, 2])]
    pair[index] = codec.array_to_tensor(np.zeros([4], "<i4"))
    error = _add_common_error(conformance_server, pair[0], pair[1], form)
    expected = (
        f"Given model input {index} data type kMSI_Int32 not match the data type kMSI_Float32 "
        "defined in model"
    )
    _assert_error(error, INVALID_INPUTS, expected, f"add_common input {index} of int32 ({form})")


def _fail_error(server: Target, error: str, form: str = MIXED) -> assertions.Failed:
    """How ``fail`` fails an instance given ``error``, sent alone or beside a good one."""
    errors = [error] if form == ALONE else ["", error]
    xs = [codec.text_tensor(f"x{i}") for i in range(len(errors))]
    request = kit.fail_request(xs, errors)
    reply = server.predict(request)
    outcome = assertions.assert_failure_pattern(reply, [bool(e) for e in errors], f"fail ({form})")[
        -1
    ]
    assert isinstance(outcome, assertions.Failed)
    if error != _MARK:  # not while learning the frame the comparison needs
        _whole(server, request, reply, f"fail ({form})")
    return outcome


@requirement("STRICT-FAIL-TEXT")
@examples(15)
@given(error=gen.error_texts(), form=st.sampled_from([MIXED, ALONE]))
def test_fail_text(conformance_server: Target, error: str, form: str) -> None:
    outcome = _fail_error(conformance_server, error, form)
    assert outcome.code == SYSTEM_ERROR, f"fail's code is {outcome.code} ({form}), expected 3"
    assert error in outcome.text, f"fail's text {outcome.text!r} does not contain {error!r}"
    # docs/protocol.md#error-texts, step 6 (a Python stage): fail is a one-stage method, so K is
    # 1; the function's name is the server's own.
    frame = (
        r"Call Function 'conformance\.[^']*' Failed, method: 'fail', "
        r"stage index\(begin with 1\): 1, error msg: "
    )
    if not re.fullmatch(frame + re.escape(error), outcome.text, flags=re.DOTALL):
        assertions.fail(
            f"fail's text {outcome.text!r} ({form}) is not upstream's stage text "
            f"\"Call Function 'conformance.FUNCTION' Failed, method: 'fail', stage index(begin "
            f'with 1): 1, error msg: {error}"'
        )


# The truncation rule counts UTF-8 bytes of the whole text the server sends (its own words
# around fail's ``error`` included), so the harness first learns those words, then sizes errors
# that make the final text exactly as long as each case needs.
_MARK = "<conformance-truncation-mark>"
_ASCII = "0123456789abcdefghijklmnopqrstuvwxyz"
_TRUNCATION_CASES = {
    # case id: (the final text's length in UTF-8 bytes, the characters the error repeats)
    "384-ascii-kept": (MAX_TEXT, _ASCII),
    "385-ascii-cut": (MAX_TEXT + 1, _ASCII),
    "384-non-ascii-kept": (MAX_TEXT, "é漢😀ß"),  # 151 characters: kept whole
    "385-non-ascii-cut": (MAX_TEXT + 1, "é漢😀ß"),  # 152 characters: cut all the same
    "600-e-acute-split": (600, "é"),  # each half ends inside an é
}


def _frame(server: Target) -> tuple[str, str]:
    """The server's words before and after fail's ``error`` in the text of a failed instance."""
    text = _fail_error(server, _MARK).text
    if text.count(_MARK) != 1:
        assertions.fail(f"fail's text {text!r} does not contain the error {_MARK!r} once")
    prefix, suffix = text.split(_MARK)
    if oracle.byte_size(prefix + suffix) >= MAX_TEXT:
        assertions.fail(f"fail's text leaves no room for an error under {MAX_TEXT} bytes: {text!r}")
    return prefix, suffix


def _sized_error(case: str, prefix: str, suffix: str) -> str:
    """The error that makes the case's final text exactly as long as it says, in bytes: the
    alphabet repeated, ASCII after it for the bytes a whole character would overrun. In the
    split case an ASCII letter before and after the é's puts each cut inside an é."""
    length, alphabet = _TRUNCATION_CASES[case]
    frame = oracle.byte_size(prefix), oracle.byte_size(suffix)
    lead = trail = ""
    if case.endswith("split"):  # the cuts at byte 192 and at 192 from the end: odd offsets
        lead = "a" * (1 - frame[0] % 2)
        trail = "z" * (1 - frame[1] % 2)
    size = length - sum(frame) - len(lead) - len(trail)
    body = ""
    for index in range(size):  # at most ``size`` characters of at least one byte each
        char = alphabet[index % len(alphabet)]
        if oracle.byte_size(body + char) > size:
            break
        body += char
    return lead + body + "." * (size - oracle.byte_size(body)) + trail


@requirement("STRICT-TEXT-TRUNCATION")
@pytest.mark.parametrize("case", list(_TRUNCATION_CASES))
def test_text_truncation(conformance_server: Target, case: str) -> None:
    prefix, suffix = _frame(conformance_server)
    error = _sized_error(case, prefix, suffix)
    full = prefix + error + suffix
    size, want = oracle.byte_size(full), oracle.truncate(full)
    got = _fail_error(conformance_server, error).text
    if got != want:
        rule = "be cut to its first 192 bytes, ..., its last 192" if size > MAX_TEXT else "be kept"
        assertions.fail(
            f"an error text of {size} UTF-8 bytes ({len(full)} characters) must {rule}; "
            f"expected {want!r} ({oracle.byte_size(want)} bytes), got {got!r} "
            f"({oracle.byte_size(got)} bytes)"
        )


@requirement("STRICT-ZERO-INSTANCES")
def test_zero_instances(conformance_server: Target) -> None:
    request = make_request(kit.CONFORMANCE, kit.ECHO, [])
    reply = conformance_server.call(request, 5.0)
    if isinstance(reply, RpcFailure):
        assertions.fail(f"a request with zero instances must be answered at once; got {reply}")
    error = kit.refused(conformance_server, reply, "zero instances", any_code=True)
    assert error.code == INVALID_INPUTS, f"zero instances: code {error.code}, expected 2"
    _whole(conformance_server, request, reply, "zero instances")


@requirement("STRICT-COLLAPSE-IDENTICAL-FAILURES")
@examples(10)
@given(error=gen.error_texts(), count=st.integers(1, 5))
def test_collapse_identical_failures(conformance_server: Target, error: str, count: int) -> None:
    # The one error of a collapsed reply is the error each instance has: the same code and text
    # a mixed reply gives an instance failing with this error.
    each = _fail_error(conformance_server, error, MIXED)
    xs = [codec.text_tensor(str(i)) for i in range(count)]
    request = kit.fail_request(xs, [error] * count)
    reply = conformance_server.predict(request)
    collapsed = assertions.assert_request_error(
        reply, f"{count} instances failing with the same error"
    )
    if (collapsed.code, collapsed.text) != (each.code, each.text):
        assertions.fail(
            f"{count} instances failing with {error!r} collapsed to ({collapsed.code}, "
            f"{collapsed.text!r}); each instance's error is ({each.code}, {each.text!r})"
        )
    _whole(conformance_server, request, reply, f"{count} instances failing with {error!r}")


@requirement("STRICT-DISTINCT-FAILURES-PER-INSTANCE")
@examples(10)
@given(errors=st.lists(gen.error_texts(), min_size=2, max_size=5, unique=True))
def test_distinct_failures(conformance_server: Target, errors: list[str]) -> None:
    xs = [codec.text_tensor(str(i)) for i in range(len(errors))]
    request = kit.fail_request(xs, errors)
    reply = conformance_server.predict(request)
    if len(reply.error_msg) != len(errors) or len(reply.instances) != len(errors):
        assertions.fail(
            f"{len(errors)} different failures: expected one entry each, got "
            f"{assertions.describe(reply)}"
        )
    for index, (entry, error) in enumerate(zip(reply.error_msg, errors, strict=True)):
        assert entry.error_code != 0, f"entry {index} has code 0"
        assert error in bytes(entry.error_msg).decode("utf-8", "replace"), f"entry {index}: {entry}"
    _whole(conformance_server, request, reply, f"{len(errors)} different failures")


@requirement("STRICT-NON-UTF8-STRING")
@pytest.mark.parametrize("value", [b"\xff\xfe", b"ok\xc3", b"\xed\xa0\x80"])
def test_non_utf8_string(conformance_server: Target, value: bytes) -> None:
    x = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[value])
    x.shape.dims.append(1)
    request = kit.echo_request([x])
    reply = conformance_server.call(request, 10.0)
    if isinstance(reply, RpcFailure):
        assertions.fail(f"a non-UTF-8 MS_STRING input ended with {reply}")
    outcome = assertions.assert_reply_shape(reply, 1)[0]
    if not isinstance(outcome, assertions.Failed) or outcome.code != INVALID_INPUTS:
        assertions.fail(
            f"a non-UTF-8 MS_STRING must be refused with code 2: {assertions.describe(reply)}"
        )
    _whole(conformance_server, request, reply, "a non-UTF-8 MS_STRING")
    assert_served(conformance_server.endpoint, "after a non-UTF-8 string")


def _empty(dtype: Any, dims: list[int]) -> pb.Tensor:
    tensor = pb.Tensor(dtype=dtype)
    tensor.shape.dims.extend(dims)
    return tensor


# (tensor, refused): empty tensors around the element limit of docs/protocol.md#step-inputs
# (non-zero dims multiplying past 2**60 - 1), on both sides of it.
EMPTY_AT_LIMIT = [
    (_empty(pb.MS_INT8, [2**60 - 1, 0]), False),
    (_empty(pb.MS_FLOAT64, [3, 5, 0]), False),
    (_empty(pb.MS_INT8, [2**60, 0]), True),
    (_empty(pb.MS_FLOAT32, [2**30, 2**30, 0]), True),
    (_empty(pb.MS_UINT16, [2**62, 0]), True),
]


@requirement("STRICT-EMPTY-ELEMENT-LIMIT")
@pytest.mark.parametrize(
    ("x", "refused"), EMPTY_AT_LIMIT, ids=["2^60-1", "small", "2^60", "2^30x2^30", "2^62"]
)
def test_empty_element_limit(conformance_server: Target, x: pb.Tensor, refused: bool) -> None:
    request = kit.echo_request([x])
    reply = conformance_server.predict(request)
    what = f"an empty tensor of dims {list(x.shape.dims)}"
    if refused:
        # The text is compared with the kit's model by _whole.
        error = kit.refused(conformance_server, reply, what, any_code=True)
        if error.code != INVALID_INPUTS:
            assertions.fail(f"{what}: expected code 2, got ({error.code}, {error.text!r})")
    else:
        (instance,) = assertions.assert_all_ok(reply, 1, what)
        kit.assert_echo(instance, x, what)
    _whole(conformance_server, request, reply, what)


# Huge dims whose byte count, taken modulo 2**64 (an unsigned or int64 product that wraps),
# equals the data length sent: a server that multiplies in fixed-width integers passes them.
# Upstream counts any tensor of 2**32 elements or more as empty, and its worker dies on the
# first and last (docs/protocol.md#departures): a refusal here is SHOULD, never MUST.
def _wrapping(dtype: Any, dims: list[int], data_bytes: int) -> pb.Tensor:
    tensor = pb.Tensor(dtype=dtype, data=bytes(data_bytes))
    tensor.shape.dims.extend(dims)
    return tensor


WRAPPING_DIMS = [
    _wrapping(pb.MS_FLOAT32, [2**32, 2**32], 0),  # 2**66 bytes, 0 mod 2**64
    _wrapping(pb.MS_INT8, [2**62 + 1, 4], 4),  # 2**64 + 4 bytes, 4 mod 2**64
    _wrapping(pb.MS_FLOAT64, [2**61, 1, 2], 0),  # 2**65 bytes
]


@requirement("STRICT-HUGE-ELEMENT-COUNT")
@pytest.mark.parametrize("x", WRAPPING_DIMS, ids=["f32-2^32x2^32", "i8-(2^62+1)x4", "f64-2^61x2"])
def test_huge_element_count(conformance_server: Target, x: pb.Tensor) -> None:
    what = f"dims {list(x.shape.dims)} with {len(x.data)} bytes of data"
    reply = conformance_server.predict(kit.echo_request([x]))
    kit.refused(conformance_server, reply, what)


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
