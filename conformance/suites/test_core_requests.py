"""core: request-level errors — unknown servable, method, version; missing inputs; malformed
tensors in any instance. Each must reject the whole request: no instances, one error with code 2
(INVALID_INPUTS, docs/protocol.md#request-handling), and the server must then serve a
well-formed echo (kit.refused)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.verify import compare, kit, named
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.malformed import CASES, Case
from conformance.verify.marks import requirement
from conformance.verify.wire import Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb


def _echo_instances(count: int) -> list[dict[str, pb.Tensor]]:
    return [{"x": codec.text_tensor(f"instance {i}")} for i in range(count)]


@requirement("CORE-UNKNOWN-SERVABLE")
@examples(20)
@given(name=gen.texts(max_size=20).filter(lambda n: n not in kit.SERVABLES and n != "resnet50"))
def test_unknown_servable(conformance_server: Target, name: str) -> None:
    request = make_request(name, kit.ECHO, _echo_instances(1))
    reply = conformance_server.predict(request)
    kit.refused(conformance_server, reply, f"servable {name!r} is not deployed")
    compare.check(request, reply, f"servable {name!r} is not deployed")


@requirement("CORE-UNKNOWN-METHOD")
@examples(20)
@given(servable=st.sampled_from(sorted(kit.SERVABLES)), method=gen.texts(max_size=20))
def test_unknown_method(conformance_server: Target, servable: str, method: str) -> None:
    if method in kit.SERVABLES[servable]:
        method += "-unknown"
    request = make_request(servable, method, _echo_instances(1))
    reply = conformance_server.predict(request)
    kit.refused(conformance_server, reply, f"{servable} has no method {method!r}")
    compare.check(request, reply, f"{servable} has no method {method!r}")


@requirement("CORE-UNKNOWN-VERSION")
@examples(20)
@given(
    servable=st.sampled_from([kit.CONFORMANCE, kit.ADD]),
    version=st.one_of(st.integers(3, 10), st.integers(3, 2**64 - 1)),
)
def test_unknown_version(conformance_server: Target, servable: str, version: int) -> None:
    method = kit.SERVABLES[servable][0]
    request = make_request(servable, method, _echo_instances(1), version)
    reply = conformance_server.predict(request)
    kit.refused(conformance_server, reply, f"{servable} version {version} is not deployed")
    compare.check(request, reply, f"{servable} version {version} is not deployed")


def _check_missing(
    server: Target, method: str, count: int, where: int, missing: str, look_alike: bool
) -> None:
    """``missing`` left out of instance ``where`` of ``count`` (each with every input of
    echo and fail), with its upper-case look-alike in its place if ``look_alike``."""
    instances: list[dict[str, pb.Tensor]] = [
        {"x": codec.text_tensor(str(i)), "error": codec.text_tensor("")} for i in range(count)
    ]
    del instances[where][missing]
    if look_alike:
        instances[where][missing.upper()] = codec.text_tensor("not it")
    request = make_request(kit.CONFORMANCE, method, instances)
    reply = server.predict(request)
    what = f"input {missing!r} missing from instance {where} of {count}"
    kit.refused(server, reply, what)
    compare.check(request, reply, what)


@requirement("CORE-MISSING-INPUT")
@examples(20)
@given(data=st.data(), method=st.sampled_from([kit.ECHO, kit.FAIL]), count=gen.instance_counts())
def test_missing_input(
    conformance_server: Target, data: st.DataObject, method: str, count: int
) -> None:
    where = data.draw(gen.positions(count), "instance without the input")
    missing = data.draw(st.sampled_from(["x", "error"] if method == kit.FAIL else ["x"]), "input")
    look_alike = data.draw(st.booleans(), "with a look-alike input")
    _check_missing(conformance_server, method, count, where, missing, look_alike)


def _missing_examples() -> named.Explicit:
    """Always sent: the method's first input and a later one (fail's x, error), each left out
    of the first instance and of a later one."""
    missing = named.Explicit("CORE-MISSING-INPUT")
    for method, name, where in ((kit.ECHO, "x", 0), (kit.FAIL, "x", 2), (kit.FAIL, "error", 0),
                                (kit.FAIL, "error", 2)):  # fmt: skip
        which = "the method's first" if name == "x" else "a later one"
        missing.case(
            [("input", which), ("instance", "a later one" if where else "the first")],
            id=f"{method}-{name}-in-{where}",
            method=method,
            where=where,
            missing=name,
        )
    return missing


MISSING = _missing_examples()


@requirement("CORE-MISSING-INPUT")
@MISSING.parametrize("method", "where", "missing")
def test_missing_input_named(
    conformance_server: Target, method: str, where: int, missing: str
) -> None:
    _check_missing(conformance_server, method, 3, where, missing, look_alike=False)


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=requirement(c.requirement), id=c.requirement) for c in CASES]
)
@examples(15)
@given(data=st.data(), count=gen.instance_counts())
def test_malformed_tensor(
    conformance_server: Target, case: Case, data: st.DataObject, count: int
) -> None:
    xs = [data.draw(gen.tensors(), f"well-formed x {i}") for i in range(count)]
    where = data.draw(gen.positions(count), "malformed instance")
    xs[where] = data.draw(case.tensors(), "malformed x")
    request = kit.echo_request(xs)
    reply = conformance_server.predict(request)
    kit.refused(conformance_server, reply, f"malformed x in instance {where} of {count}")
    compare.check(request, reply, f"malformed x in instance {where} of {count}")


def _assert_refused(server: Target, x: pb.Tensor, what: str) -> None:
    """echo of the malformed ``x`` alone: refused at request level, the reply the kit's."""
    __tracebackhide__ = True
    request = kit.echo_request([x])
    reply = server.predict(request)
    kit.refused(server, reply, what)
    compare.check(request, reply, what)


def _absent_data(dtype: Any, dims: list[int]) -> pb.Tensor:
    tensor = pb.Tensor(dtype=dtype)  # `data` never set: not even an empty field on the wire
    tensor.shape.dims.extend(dims)
    return tensor


@requirement("CORE-MALFORMED-DATA-SIZE")
@pytest.mark.parametrize(
    "x",
    [_absent_data(pb.MS_FLOAT32, [2]), _absent_data(pb.MS_INT64, [])],
    ids=["f32-[2]", "i64-scalar"],
)
def test_malformed_absent_data(conformance_server: Target, x: pb.Tensor) -> None:
    # A tensor with no `data` field at all (a sender that never set it) has data size 0, like
    # one sent empty; a server must not take the missing field for anything else.
    _assert_refused(conformance_server, x, f"dims {list(x.shape.dims)} with no data field")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
