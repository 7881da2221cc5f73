"""The harness's oracle of the kit (conformance.oracle) and its full-reply comparison
(conformance.compare).

The oracle must agree, field for field, with the reference server over the wire on random
requests, valid and malformed (a disagreement is a false failure of a correct server, or a
hole a broken one walks through); the comparison must report every wrong field of a reply by
its path, and accept exactly the freedoms the protocol gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.verify import compare, kit, oracle
from conformance.verify import wide_strategies as wide
from conformance.verify.wire import make_request
from protos import codec, ms_service_pb2_grpc
from protos import ms_service_pb2 as pb

MARK = "<oracle-frame-mark>"


def _fail_request(errors: list[str], x: pb.Tensor | None = None) -> pb.PredictRequest:
    x = x if x is not None else codec.text_tensor("x")
    instances = [{"x": x, "error": codec.text_tensor(e)} for e in errors]
    return make_request("conformance", "fail", instances)


@pytest.fixture(scope="module")
def frame(kit_stub: ms_service_pb2_grpc.MSServiceStub) -> oracle.FailFrame:
    """The reference server's words around fail's error (as the strict suite learns them)."""
    reply = kit_stub.Predict(_fail_request([MARK]), timeout=10)
    prefix, suffix = bytes(reply.error_msg[0].error_msg).decode().split(MARK)
    return oracle.FailFrame(prefix, suffix)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=wide.requests(level=oracle.SHOULD))
def test_oracle_agrees_with_the_reference_server(
    kit_stub: ms_service_pb2_grpc.MSServiceStub, frame: oracle.FailFrame, request: pb.PredictRequest
) -> None:
    reply = kit_stub.Predict(request, timeout=20)
    levels = [oracle.SHOULD] if oracle.upstream_defect(request) else [oracle.MUST, oracle.SHOULD]
    for level in levels:
        found = compare.difference(oracle.expect(request, level, frame), reply)
        assert found is None, f"{level}: {found}"


def _echo(x: pb.Tensor, version: int = 0) -> pb.PredictRequest:
    return make_request("conformance", "echo", [{"x": x}], version)


@pytest.mark.parametrize(
    ("version", "outcome"),
    [(0, 2), (1, 1), (2, 2), (3, None), (2**32 + 2, None), (2**63 + 2, None), (2**64 - 1, None)],
)
def test_versions_over_uint64(version: int, outcome: int | None) -> None:
    expected = oracle.expect(_echo(codec.text_tensor("v"), version))
    if outcome is None:
        assert expected.error is not None and expected.error.code == 2
        return
    out = expected.instances[0]
    assert isinstance(out, oracle.ExpectedOutputs)
    assert out.tensors["version"].data == outcome.to_bytes(8, "little")
    assert expected.spec.version_number == version  # echoed as sent, 0 stays 0


def test_texts_at_should_level() -> None:
    spec = pb.ServableSpec(name="conformance", method_name="nope", version_number=7)
    request = make_request(spec.name, spec.method_name, [{"x": codec.text_tensor("t")}], 7)
    error = oracle.expect(request, oracle.SHOULD).error
    assert error is not None
    assert error.text.exact == (
        "Request servable(conformance) method(nope)  version(7) , servable is not available"
    )
    assert oracle.expect(request).error == oracle.Error(2, oracle.Text())  # MUST: text free
    long_name = "n" * 500
    error = oracle.expect(make_request(long_name, "echo", [], 0), oracle.SHOULD).error
    assert error is not None and error.text.exact is not None
    assert len(error.text.exact) == 387 and "..." in error.text.exact


def test_fail_freedoms() -> None:
    must = oracle.expect(_fail_request(["boom", "boom"]))
    assert must.collapse == "may"
    assert must.instances[0] == oracle.Error(None, oracle.Text(contains="boom"), ("fail", "boom"))
    frame = oracle.FailFrame("pre ", " post")
    should = oracle.expect(_fail_request(["boom", "boom"]), oracle.SHOULD, frame)
    assert should.collapse == "must"
    assert should.instances[0] == oracle.Error(
        3, oracle.Text(exact="pre boom post"), "pre boom post"
    )
    assert oracle.expect(_fail_request(["a", "b"])).collapse == "never"
    assert oracle.expect(_fail_request(["", "b"])).collapse == "never"


# -- the comparison against hand-built wrong replies ---------------------------------------


def _x() -> pb.Tensor:
    return codec.array_to_tensor(np.arange(6, dtype="<i4").reshape(2, 3))


def _right(request: pb.PredictRequest) -> pb.PredictReply:
    """The reply a conforming server sends (built by hand, as the protocol says)."""
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    spec = request.servable_spec
    if spec.method_name == "echo":
        for instance in request.instances:
            out = reply.instances.add()
            out.items["y"].CopyFrom(instance.items["x"])
            version = spec.version_number or 2
            out.items["version"].CopyFrom(codec.array_to_tensor(np.array(version, "<i8")))
    else:  # fail, mixed
        for instance in request.instances:
            error = codec.tensor_to_text(instance.items["error"])
            out = reply.instances.add()
            if error:
                reply.error_msg.add(error_code=3, error_msg=f"raised: {error}".encode())
            else:
                out.items["y"].CopyFrom(instance.items["x"])
                reply.error_msg.add()
    return reply


ECHO = _echo(_x(), 1)
MIXED = _fail_request(["", "boom"], _x())
Edit = Callable[[pb.PredictReply], object]


def _set(field: str, value: object) -> Edit:
    return lambda reply: setattr(reply.servable_spec, field, value)


WRONG: list[tuple[str, pb.PredictRequest, Edit, str]] = [
    ("spec name", ECHO, _set("name", "Conformance"), "servable_spec.name"),
    ("spec method", ECHO, _set("method_name", "fail"), "servable_spec.method_name"),
    ("spec version 0", ECHO, _set("version_number", 0), "servable_spec.version_number"),
    ("spec version high", ECHO, _set("version_number", 2**63 + 1), "servable_spec.version_number"),
    ("extra error entry", ECHO, lambda r: r.error_msg.add(), "error_msg"),
    ("instance missing", ECHO, lambda r: r.instances.pop(), "instances"),
    (
        "extra output",
        ECHO,
        lambda r: r.instances[0].items["z"].CopyFrom(_x()),
        "instances[0].items",
    ),
    ("output missing", ECHO, lambda r: r.instances[0].items.pop("version"), "instances[0].items"),
    (
        "y dtype",
        ECHO,
        lambda r: setattr(r.instances[0].items["y"], "dtype", pb.MS_UINT32),
        "instances[0].items['y'].dtype",
    ),
    (
        "y dims",
        ECHO,
        lambda r: r.instances[0].items["y"].shape.dims.reverse(),
        "instances[0].items['y'].shape.dims",
    ),
    (
        "y one byte",
        ECHO,
        lambda r: setattr(r.instances[0].items["y"], "data", _x().data[:-1] + b"\x01"),
        "instances[0].items['y'].data[byte 23]",
    ),
    (
        "y bytes_val",
        ECHO,
        lambda r: r.instances[0].items["y"].bytes_val.append(b"?"),
        "instances[0].items['y'].bytes_val",
    ),
    (
        "y in shm",
        ECHO,
        lambda r: r.instances[0].items["y"].shm_data.SetInParent(),
        "instances[0].items['y'].shm_data",
    ),
    (
        "version value",
        ECHO,
        lambda r: (
            r.instances[0].items["version"].CopyFrom(codec.array_to_tensor(np.array(2, "<i8")))
        ),
        "instances[0].items['version'].data[byte 0]",
    ),
    (
        "version dims",
        ECHO,
        lambda r: r.instances[0].items["version"].shape.dims.append(1),
        "instances[0].items['version'].shape.dims",
    ),
    (
        "output buffer",
        ECHO,
        lambda r: r.instances[0].output_buffers["y"].SetInParent(),
        "instances[0].output_buffers",
    ),
    (
        "OK entry code",
        MIXED,
        lambda r: setattr(r.error_msg[0], "error_code", 1),
        "error_msg[0].error_code",
    ),
    (
        "OK entry text",
        MIXED,
        lambda r: setattr(r.error_msg[0], "error_msg", b"OK"),
        "error_msg[0].error_msg",
    ),
    (
        "failed code 0",
        MIXED,
        lambda r: setattr(r.error_msg[1], "error_code", 0),
        "error_msg[1].error_code",
    ),
    (
        "failed text",
        MIXED,
        lambda r: setattr(r.error_msg[1], "error_msg", b"bom"),
        "error_msg[1].error_msg",
    ),
    (
        "failed text split by a byte that is not UTF-8",
        MIXED,
        lambda r: setattr(r.error_msg[1], "error_msg", b"bo\xffom"),
        "error_msg[1].error_msg",
    ),
    ("failed carries y", MIXED, lambda r: r.instances[1].items["y"].CopyFrom(_x()), "instances[1]"),
    ("entries swapped", MIXED, lambda r: r.error_msg.reverse(), "error_msg[0].error_code"),
    (
        "collapsed",
        MIXED,
        lambda r: (r.instances.pop(), r.instances.pop(), r.error_msg.pop(0)),
        "instances",
    ),
]


@pytest.mark.parametrize(
    ("request_", "edit", "path"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG]
)
def test_each_wrong_field_is_reported_by_path(
    request_: pb.PredictRequest, edit: Edit, path: str
) -> None:
    expected = oracle.expect(request_)
    reply = _right(request_)
    assert compare.difference(expected, reply) is None
    edit(reply)
    found = compare.difference(expected, reply)
    assert found is not None and found.path == path, found
    with pytest.raises(AssertionError, match="differs from the kit.s model at " + re.escape(path)):
        compare.check(request_, reply)


def test_truncation_counts_bytes_and_may_split_a_character() -> None:
    assert oracle.truncate("é" * 192) == "é" * 192  # 384 bytes: kept
    data = ("a" + "é" * 192).encode()  # 385 bytes, byte 192 inside an é
    cut = oracle.truncate(data.decode())
    assert cut.encode("utf-8", "surrogateescape") == data[:192] + b"..." + data[-192:]
    assert cut == oracle.text_of(data[:192] + b"..." + data[-192:])


def test_a_cut_text_is_compared_byte_for_byte() -> None:
    # A text cut inside a character is no difference; a wrong byte where the cut is, is one.
    frame = oracle.FailFrame("Call: ", "")
    error = "é" * 250
    request = kit.fail_request([codec.text_tensor("x")], [error])
    expected = oracle.expect(request, oracle.SHOULD, frame)
    sent = ("Call: " + error).encode()
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    reply.error_msg.add(error_code=3, error_msg=sent[:192] + b"..." + sent[-192:])
    assert compare.difference(expected, reply) is None
    reply.error_msg[0].error_msg = sent[:191] + b"..." + sent[-192:]  # cut at a character
    assert compare.difference(expected, reply) is not None


def test_freedoms_are_honoured_and_no_more() -> None:
    # MUST: fail's code is any non-zero one and its text any that contains the error.
    reply = _right(MIXED)
    reply.error_msg[1].error_code = 17
    reply.error_msg[1].error_msg = b"it went boom!"
    assert compare.difference(oracle.expect(MIXED), reply) is None
    # ... but not at SHOULD, where the code is 3.
    assert compare.difference(oracle.expect(MIXED, oracle.SHOULD), reply) is not None
    # A string may come back with dims [] or [1], but not [2].
    request = _echo(codec.text_tensor("t", dims=[]))
    reply = _right(request)
    reply.instances[0].items["y"].shape.dims.append(1)
    assert compare.difference(oracle.expect(request), reply) is None
    reply.instances[0].items["y"].shape.dims.append(1)
    assert compare.difference(oracle.expect(request), reply) is not None
    # Identical failures may collapse at MUST, must at SHOULD; different ones never.
    same = _fail_request(["boom", "boom"])
    collapsed = pb.PredictReply(servable_spec=same.servable_spec)
    collapsed.error_msg.add(error_code=3, error_msg=b"raised: boom")
    listed = _right(same)
    assert compare.difference(oracle.expect(same), collapsed) is None
    assert compare.difference(oracle.expect(same), listed) is None
    frame = oracle.FailFrame("raised: ", "")
    assert compare.difference(oracle.expect(same, oracle.SHOULD, frame), collapsed) is None
    found = compare.difference(oracle.expect(same, oracle.SHOULD, frame), listed)
    assert found is not None and found.path == "instances"
    different = _fail_request(["boom", "bang"])
    wrong = pb.PredictReply(servable_spec=different.servable_spec)
    wrong.error_msg.add(error_code=3, error_msg=b"raised: boom bang")
    found = compare.difference(oracle.expect(different), wrong)
    assert found is not None and found.path == "instances"


@given(x=wide.large_numeric_tensors(max_bytes=64 * 1024))
@settings(max_examples=30, deadline=None, derandomize=True, database=None)
def test_large_tensors_are_well_formed_and_echo_exactly(x: pb.Tensor) -> None:
    dtype = codec.BY_CODE[x.dtype]
    assert len(x.data) == codec.element_count(x.shape.dims) * dtype.itemsize
    assert len(x.shape.dims) <= wide.MAX_RANK
    expected = oracle.expect(_echo(x))
    out = expected.instances[0]
    assert isinstance(out, oracle.ExpectedOutputs) and out.tensors["y"].data == x.data


@given(data=st.data(), name=st.sampled_from(["conformance", "echo", "add_common", "x1"]))
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
def test_near_misses_never_hit(data: st.DataObject, name: str) -> None:
    miss = data.draw(wide.near_misses(name))
    assert miss != name and (miss.strip() != name or miss != miss.strip())
