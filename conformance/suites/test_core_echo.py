"""core: dtype and shape mapping through conformance.echo, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.verify import assertions, compare, kit
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import RpcFailure, Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb

NUMERIC = pytest.mark.parametrize("dtype", codec.NUMERIC_DTYPES, ids=lambda d: d.name)


def _echo_one(server: Target, x: pb.Tensor, version: int = 0) -> pb.Instance:
    request = kit.echo_request([x], version)
    reply = server.predict(request)
    instance = assertions.assert_all_ok(reply, 1, "echo of one well-formed tensor")[0]
    compare.check(request, reply, "echo of one well-formed tensor")
    return instance


@requirement("CORE-ECHO-NUMERIC-ROUNDTRIP")
@NUMERIC
@examples(12)
@given(data=st.data())
def test_numeric_roundtrip(
    conformance_server: Target, dtype: codec.DType, data: st.DataObject
) -> None:
    x = data.draw(gen.numeric_tensors(dtypes=st.just(dtype), dims=gen.shapes(empty=False)), "x")
    kit.assert_echo(_echo_one(conformance_server, x), x, "echo")


@requirement("CORE-ECHO-SPECIAL-VALUES")
@NUMERIC
def test_special_values(conformance_server: Target, dtype: codec.DType) -> None:
    values = gen.special_elements(dtype)
    x = pb.Tensor(dtype=dtype.code, data=b"".join(values))
    x.shape.dims.extend([len(values)])
    kit.assert_echo(_echo_one(conformance_server, x), x, f"echo of {dtype.name} edge values")


@requirement("CORE-ECHO-SCALAR-DIMS")
@NUMERIC
@examples(3)
@given(data=st.data())
def test_scalar_dims(conformance_server: Target, dtype: codec.DType, data: st.DataObject) -> None:
    # One request, both spellings of a scalar: each must come back as sent.
    scalar = gen.numeric_tensors(dtypes=st.just(dtype), dims=st.just([]))
    single = gen.numeric_tensors(dtypes=st.just(dtype), dims=st.just([1]))
    xs = [data.draw(scalar, "x with dims []"), data.draw(single, "x with dims [1]")]
    request = kit.echo_request(xs)
    reply = conformance_server.predict(request)
    instances = assertions.assert_all_ok(reply, 2, "echo")
    for index, (instance, x) in enumerate(zip(instances, xs, strict=True)):
        kit.assert_echo(instance, x, f"echo instance {index}")
    compare.check(request, reply, "echo of both scalar spellings")


@requirement("CORE-ECHO-EMPTY-TENSOR")
@examples(30)
@given(x=gen.numeric_tensors(dims=gen.shapes(min_rank=1, empty=True)))
def test_empty_tensor(conformance_server: Target, x: pb.Tensor) -> None:
    kit.assert_echo(_echo_one(conformance_server, x), x, "echo of a zero-size tensor")


@requirement("CORE-ECHO-STRING")
@examples(30)
@given(x=gen.string_tensors())
def test_string(conformance_server: Target, x: pb.Tensor) -> None:
    kit.assert_echo(_echo_one(conformance_server, x), x, "echo of MS_STRING")


@requirement("CORE-ECHO-BYTES")
@examples(30)
@given(x=gen.bytes_tensors())
def test_bytes(conformance_server: Target, x: pb.Tensor) -> None:
    kit.assert_echo(_echo_one(conformance_server, x), x, "echo of MS_BYTES")


@requirement("CORE-ECHO-VERSION-OUTPUT")
@pytest.mark.parametrize("version", kit.CONFORMANCE_VERSIONS)
def test_version_output(conformance_server: Target, version: int) -> None:
    instance = _echo_one(conformance_server, codec.text_tensor("v"), version)
    tensor = assertions.assert_output(instance, "version", "echo")
    got = assertions.assert_int64_scalar(tensor, f"echo version {version}, output version")
    assert got == version, f"echo version {version} reports version {got}"


@requirement("CORE-ECHO-MULTI-INSTANCE")
@examples(25)
@given(xs=st.lists(gen.tensors(), min_size=2, max_size=6))
def test_multi_instance(conformance_server: Target, xs: list[pb.Tensor]) -> None:
    request = kit.echo_request(xs)
    reply = conformance_server.predict(request)
    instances = assertions.assert_all_ok(reply, len(xs), f"echo of {len(xs)} instances")
    for index, (instance, x) in enumerate(zip(instances, xs, strict=True)):
        kit.assert_echo(instance, x, f"echo instance {index}")
    compare.check(request, reply, f"echo of {len(xs)} instances")


@requirement("CORE-VERSION-SELECT")
@pytest.mark.parametrize(("asked", "served"), [(0, kit.LATEST), (1, 1), (2, 2)])
def test_version_select(conformance_server: Target, asked: int, served: int) -> None:
    x = codec.text_tensor("which version?")
    kit.assert_echo(_echo_one(conformance_server, x, asked), x, f"echo version {asked}", served)


@requirement("CORE-VERSION-SELECT")
@pytest.mark.parametrize("version", [1, 2])
def test_version_select_add(conformance_server: Target, version: int) -> None:
    # add deploys version 1 alone (docs/protocol.md#kit-servables): asked by number it is
    # served, and version 2 is not deployed (code 2). Version 0 cannot tell which it has.
    x = codec.array_to_tensor(np.arange(4, dtype="<f4").reshape(2, 2))
    request = make_request(kit.ADD, kit.ADD_COMMON, [{"x1": x, "x2": x}], version)
    reply = conformance_server.predict(request)
    what = f"add.add_common at version {version}"
    if version == 1:
        (instance,) = assertions.assert_all_ok(reply, 1, what)
        kit.assert_float32_sum(instance, x, x, [2, 2], what)
    else:
        kit.refused(conformance_server, reply, f"{what} (add has only version 1)")
    compare.check(request, reply, what)


def _specs() -> st.SearchStrategy[pb.ServableSpec]:
    names = st.one_of(st.sampled_from([kit.CONFORMANCE, kit.ADD]), gen.texts(max_size=12))
    methods = st.one_of(st.sampled_from([kit.ECHO, kit.FAIL, kit.ADD_CAST]), gen.texts(max_size=12))
    versions = st.one_of(st.sampled_from([0, 1, 2, 3]), st.integers(0, 2**64 - 1))
    return st.builds(pb.ServableSpec, name=names, method_name=methods, version_number=versions)


@requirement("CORE-SPEC-ECHO")
@examples(40)
@given(spec=_specs(), errors=gen.fail_patterns(max_size=3))
def test_spec_echo(conformance_server: Target, spec: pb.ServableSpec, errors: list[str]) -> None:
    # Known and unknown names, methods and versions, successes, request-level errors and mixed
    # replies (fail): whatever the outcome, the spec comes back verbatim.
    x = codec.text_tensor("spec")
    instances = [{"x": x, "x1": x, "x2": x, "error": codec.text_tensor(error)} for error in errors]
    request = make_request(spec.name, spec.method_name, instances, spec.version_number)
    reply = conformance_server.predict(request)
    if reply.servable_spec != request.servable_spec:
        assertions.fail(
            f"reply.servable_spec {{{assertions.one_line(reply.servable_spec)}}} differs from the "
            f"request's {{{assertions.one_line(spec)}}} ({assertions.describe(reply)})"
        )
    compare.check(request, reply, "a reply to any spec")


@requirement("CORE-STATUS-OK")
def test_status_ok(conformance_server: Target) -> None:
    x = codec.text_tensor("status")
    unknown_request = make_request("no-such-servable", kit.ECHO, [{"x": x}])
    unknown = conformance_server.call(unknown_request)
    if isinstance(unknown, RpcFailure):
        assertions.fail(f"a request-level error came back as {unknown}, not as status OK")
    kit.refused(conformance_server, unknown, "an unknown servable", any_code=True)
    compare.check(unknown_request, unknown, "an unknown servable")
    mixed_request = kit.fail_request([x, x], ["", "boom"])
    mixed = conformance_server.call(mixed_request)
    if isinstance(mixed, RpcFailure):
        assertions.fail(f"a per-instance error came back as {mixed}, not as status OK")
    assertions.assert_failure_pattern(mixed, [False, True], "fail with one failing instance")
    compare.check(mixed_request, mixed, "fail with one failing instance")


@requirement("CORE-EXTRA-INPUT-IGNORED")
@examples(25)
@given(
    x=gen.tensors(),
    extras=st.dictionaries(
        gen.texts(min_size=1, max_size=8).filter(lambda n: n != "x"),
        gen.tensors(),
        min_size=1,
        max_size=3,
    ),
)
def test_extra_inputs_ignored(
    conformance_server: Target, x: pb.Tensor, extras: dict[str, pb.Tensor]
) -> None:
    request = make_request(kit.CONFORMANCE, kit.ECHO, [{"x": x, **extras}])
    reply = conformance_server.predict(request)
    instance = assertions.assert_all_ok(reply, 1, "echo with extra inputs")[0]
    kit.assert_echo(instance, x, "echo with extra inputs")
    compare.check(request, reply, "echo with extra inputs")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
