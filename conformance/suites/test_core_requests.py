"""core: request-level errors — unknown servable, method, version; missing inputs; malformed
tensors in any instance. Each must reject the whole request: no instances, one error with code 2
(INVALID_INPUTS, docs/protocol.md#request-handling)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.verify import assertions, kit
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
@given(name=st.text(max_size=20).filter(lambda n: n not in kit.SERVABLES and n != "resnet50"))
def test_unknown_servable(conformance_server: Target, name: str) -> None:
    reply = conformance_server.predict(make_request(name, kit.ECHO, _echo_instances(1)))
    assertions.assert_invalid_inputs(reply, f"servable {name!r} is not deployed")


@requirement("CORE-UNKNOWN-METHOD")
@examples(20)
@given(servable=st.sampled_from(sorted(kit.SERVABLES)), method=st.text(max_size=20))
def test_unknown_method(conformance_server: Target, servable: str, method: str) -> None:
    if method in kit.SERVABLES[servable]:
        method += "-unknown"
    reply = conformance_server.predict(make_request(servable, method, _echo_instances(1)))
    assertions.assert_invalid_inputs(reply, f"{servable} has no method {method!r}")


@requirement("CORE-UNKNOWN-VERSION")
@examples(20)
@given(
    servable=st.sampled_from([kit.CONFORMANCE, kit.ADD]),
    version=st.one_of(st.integers(3, 10), st.integers(3, 2**64 - 1)),
)
def test_unknown_version(conformance_server: Target, servable: str, version: int) -> None:
    method = kit.SERVABLES[servable][0]
    reply = conformance_server.predict(make_request(servable, method, _echo_instances(1), version))
    assertions.assert_invalid_inputs(reply, f"{servable} version {version} is not deployed")


@requirement("CORE-MISSING-INPUT")
@examples(20)
@given(data=st.data(), method=st.sampled_from([kit.ECHO, kit.FAIL]), count=gen.instance_counts())
def test_missing_input(
    conformance_server: Target, data: st.DataObject, method: str, count: int
) -> None:
    instances: list[dict[str, pb.Tensor]] = [
        {"x": codec.text_tensor(str(i)), "error": codec.text_tensor("")} for i in range(count)
    ]
    where = data.draw(gen.positions(count), "instance without the input")
    missing = data.draw(st.sampled_from(["x", "error"] if method == kit.FAIL else ["x"]), "input")
    del instances[where][missing]
    if data.draw(st.booleans(), "with a look-alike input"):
        instances[where][missing.upper()] = codec.text_tensor("not it")
    reply = conformance_server.predict(make_request(kit.CONFORMANCE, method, instances))
    assertions.assert_invalid_inputs(
        reply, f"input {missing!r} missing from instance {where} of {count}"
    )


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
    reply = conformance_server.predict(kit.echo_request(xs))
    assertions.assert_invalid_inputs(reply, f"malformed x in instance {where} of {count}")
