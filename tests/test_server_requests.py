"""The kit server through raw stub calls (protocol.md §2-3, conformance-kit.md §1).

Every request goes over a real plaintext TCP connection to the session's ``kit_server``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from support.rpc import errors, output, predict, raw_tensor, request, tensor

from protos import codec
from protos import ms_service_pb2 as pb
from protos.ms_service_pb2_grpc import MSServiceStub

F32 = np.float32
M = np.array([[1, 2], [3, 4]], dtype=F32)


def call(stub: MSServiceStub, message: pb.PredictRequest) -> pb.PredictReply:
    return predict(stub, message)


def only_error(reply: pb.PredictReply) -> tuple[int, str]:
    assert not reply.instances
    [entry] = errors(reply)
    return entry


# -- request-level errors -----------------------------------------------------------------


def test_unknown_servable(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("nope", "echo", [{"x": M}]))
    assert only_error(reply) == (
        2,
        "Request servable(nope) method(echo) , servable is not available",
    )


def test_unknown_version(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("conformance", "echo", [{"x": M}], version=3))
    assert only_error(reply) == (
        2,
        "Request servable(conformance) method(echo)  version(3) , servable is not available",
    )


def test_unknown_method(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("add", "sub", [{"x1": M, "x2": M}]))
    assert only_error(reply) == (2, "Request servable(add) method(sub) , method is not available")


def test_zero_instances_answered_at_once(kit_stub: MSServiceStub) -> None:
    reply = predict(kit_stub, request("add", "add_common"), timeout=5)
    assert only_error(reply) == (
        2,
        "Instances count of request cannot be 0, servable: add, method: add_common",
    )


def test_missing_input(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("add", "add_common", [{"x1": M, "x2": M}, {"x1": M}]))
    assert only_error(reply) == (
        2,
        "Cannot find input x2 in instance input , servable add, method add_common",
    )


MALFORMED = [
    (
        raw_tensor(pb.MS_STRING, [1], bytes_val=[b"a", b"b"]),
        "Instance tensor check failed: bytes or string type shape batch size can only be 1",
    ),
    (
        raw_tensor(pb.MS_BYTES, [2], bytes_val=[b"a"]),
        "Instance tensor check failed: bytes or string type input  shape can only be (1,) or "
        "empty, but given shape is [2]",
    ),
    (raw_tensor(pb.MS_INT8, [2, -1]), "Tensor check failed: input  shape [2, -1] invalid"),
    (raw_tensor(pb.MS_INT8, [0, 2]), "Tensor check failed: input  shape [0, 2] invalid"),
    (raw_tensor(0, [1], b"\0"), "Tensor check failed: input data type proto::MS_UNKNOWN invalid"),
    (raw_tensor(42, [1], b"\0"), "Tensor check failed: input data type proto::MS_UNKNOWN invalid"),
    (raw_tensor(pb.MS_INT32, [3], b"\0" * 8), "Tensor check failed: input data size 8 invalid"),
]


@pytest.mark.parametrize(("bad", "detail"), MALFORMED)
def test_malformed_tensor(kit_stub: MSServiceStub, bad: pb.Tensor, detail: str) -> None:
    reply = call(kit_stub, request("conformance", "echo", [{"x": M}, {"x": bad}]))
    assert only_error(reply) == (2, f"Instances input x check failed, detail: {detail}")


def test_non_utf8_string_is_a_code_2_error_and_the_server_lives(kit_stub: MSServiceStub) -> None:
    bad = raw_tensor(pb.MS_STRING, [1], bytes_val=[b"ok\xc3("])
    code, text = only_error(call(kit_stub, request("conformance", "echo", [{"x": bad}])))
    assert code == 2 and text.startswith("Instances input x check failed") and "UTF-8" in text
    assert not call(kit_stub, request("conformance", "echo", [{"x": "fine"}])).error_msg


def test_extra_inputs_are_ignored(kit_stub: MSServiceStub) -> None:
    junk = raw_tensor(0, [-5])
    reply = call(kit_stub, request("conformance", "echo", [{"x": M, "extra": junk}]))
    assert not reply.error_msg and set(reply.instances[0].items) == {"y", "version"}


@pytest.mark.parametrize("version", [0, 1, 2, 9])
def test_servable_spec_echoed_verbatim(kit_stub: MSServiceStub, version: int) -> None:
    message = request("conformance", "echo", [{"x": M}], version=version)
    assert call(kit_stub, message).servable_spec == message.servable_spec
    for other in (request("conformance", "nope", [{"x": M}], version), request("x", "y")):
        assert call(kit_stub, other).servable_spec == other.servable_spec


def test_long_error_texts_are_truncated(kit_stub: MSServiceStub) -> None:
    name = "n" * 400 + "TAIL"
    code, text = only_error(call(kit_stub, request(name, "echo", [{"x": M}])))
    full = f"Request servable({name}) method(echo) , servable is not available"
    assert code == 2 and text == full[:192] + "..." + full[-192:]


def test_error_texts_are_cut_by_bytes_even_inside_a_character(kit_stub: MSServiceStub) -> None:
    name = "é" * 300  # "Request servable(" is 17 bytes: byte 192 falls inside an é
    reply = call(kit_stub, request(name, "echo", [{"x": M}]))
    full = f"Request servable({name}) method(echo) , servable is not available".encode()
    assert reply.error_msg[0].error_msg == full[:192] + b"..." + full[-192:]
    assert full[191:192] == b"\xc3"


# -- add ----------------------------------------------------------------------------------


def test_add_common_adds(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("add", "add_common", [{"x1": M, "x2": M * 10}]))
    assert not reply.error_msg
    y = output(reply, 0, "y")
    assert y.dtype == F32 and y.shape == (2, 2)
    np.testing.assert_array_equal(y, M * 11)


def test_add_common_does_not_compare_shapes(kit_stub: MSServiceStub) -> None:
    flat = np.arange(4, dtype=F32)
    reply = call(kit_stub, request("add", "add_common", [{"x1": flat, "x2": flat.reshape(1, 4)}]))
    np.testing.assert_array_equal(output(reply, 0, "y"), (flat * 2).reshape(2, 2))


def test_add_common_per_instance_model_checks(kit_stub: MSServiceStub) -> None:
    instances: list[dict[str, Any]] = [
        {"x1": M, "x2": M},
        {"x1": M, "x2": np.zeros(3, F32)},  # input 1 size 12
        {"x1": M.astype(np.int32), "x2": M},  # input 0: right size, wrong dtype
        {"x1": np.zeros(5, np.int32), "x2": M},  # size is checked before dtype
        {"x1": "text", "x2": M},
        {"x1": M + 1, "x2": M},
    ]
    reply = call(kit_stub, request("add", "add_common", instances))
    assert errors(reply) == [
        (0, ""),
        (2, "Given model input 1 size 12 not match the size 16 defined in model"),
        (
            2,
            "Given model input 0 data type kMSI_Int32 not match the data type kMSI_Float32 "
            "defined in model",
        ),
        (2, "Given model input 0 size 20 not match the size 16 defined in model"),
        (2, "Given model input 0 size 0 not match the size 16 defined in model"),
        (0, ""),
    ]
    np.testing.assert_array_equal(output(reply, 0, "y"), M * 2)
    np.testing.assert_array_equal(output(reply, 5, "y"), M * 2 + 1)
    assert [len(i.items) for i in reply.instances] == [1, 0, 0, 0, 0, 1]


def test_add_common_identical_failures_collapse(kit_stub: MSServiceStub) -> None:
    bad = {"x1": M.astype(np.float64), "x2": M}
    reply = call(kit_stub, request("add", "add_common", [bad, bad, bad]))
    assert only_error(reply) == (
        2,
        "Given model input 0 size 32 not match the size 16 defined in model",
    )


def test_add_cast_casts_any_numeric_dtype(kit_stub: MSServiceStub) -> None:
    x1 = np.array([[1, -2, 3]], dtype=np.int8)
    x2 = np.array([[0.5, 0.25, True]], dtype=np.float64)
    other = {"x1": np.arange(5, dtype=np.uint16), "x2": np.ones(5, dtype=np.bool_)}
    reply = call(kit_stub, request("add", "add_cast", [{"x1": x1, "x2": x2}, other]))
    assert not reply.error_msg
    y = output(reply, 0, "y")
    assert y.dtype == F32 and y.shape == (1, 3)
    np.testing.assert_array_equal(y, np.array([[1.5, -1.75, 4]], F32))
    np.testing.assert_array_equal(output(reply, 1, "y"), np.arange(1, 6, dtype=F32))


def test_add_cast_shape_mismatch_fails_that_instance(kit_stub: MSServiceStub) -> None:
    good = {"x1": M, "x2": M}
    bad = {"x1": np.zeros(2, F32), "x2": np.zeros(3, F32)}
    reply = call(kit_stub, request("add", "add_cast", [good, bad]))
    (ok_code, _), (code, text) = errors(reply)
    assert ok_code == 0 and code == 3
    assert text.startswith("Call Function 'add.add_cast' Failed, method: 'add_cast'")


# -- conformance ----------------------------------------------------------------------------


def _weird_values(dtype: np.dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, size=24 * dtype.itemsize, dtype=np.uint8).tobytes()
    values = np.frombuffer(raw, dtype=dtype)[:24].copy()
    if dtype.kind == "f":  # a NaN with a payload, -0.0, infinities
        values[:4] = [np.nan, -0.0, np.inf, -np.inf]
        # a slice, not values[0]: NumPy 1.x promotes a uint64 scalar | int to float64
        values.view(f"u{dtype.itemsize}")[:1] |= 1
    return values


@pytest.mark.parametrize("dtype", [d.numpy for d in codec.NUMERIC_DTYPES], ids=str)
@pytest.mark.parametrize("shape", [(), (1,), (24,), (2, 3, 4), (1, 1, 2, 3, 2, 2), (3, 0)])
def test_echo_is_bit_exact(
    kit_stub: MSServiceStub, dtype: np.dtype, shape: tuple[int, ...]
) -> None:
    count = int(np.prod(shape))
    values = _weird_values(dtype)[:count].reshape(shape)
    sent = tensor(values)
    reply = call(kit_stub, request("conformance", "echo", [{"x": sent}]))
    assert not reply.error_msg
    echoed = reply.instances[0].items["y"]
    assert (echoed.dtype, list(echoed.shape.dims), echoed.data) == (
        sent.dtype,
        list(shape),
        sent.data,
    )


@pytest.mark.parametrize("dims", [[], [1]])
@pytest.mark.parametrize("value", ["", "héllo wörld ✓", b"\0bytes\xff\0"])
def test_echo_text_keeps_value_and_dims(
    kit_stub: MSServiceStub, value: str | bytes, dims: list[int]
) -> None:
    sent = tensor(value, dims=dims)
    reply = call(kit_stub, request("conformance", "echo", [{"x": sent}]))
    echoed = reply.instances[0].items["y"]
    assert (echoed.dtype, list(echoed.shape.dims), list(echoed.bytes_val)) == (
        sent.dtype,
        dims,
        list(sent.bytes_val),
    )


@pytest.mark.parametrize(("asked", "served"), [(0, 2), (1, 1), (2, 2)])
def test_echo_reports_the_version_that_served(
    kit_stub: MSServiceStub, asked: int, served: int
) -> None:
    reply = call(kit_stub, request("conformance", "echo", [{"x": M}, {"x": "s"}], version=asked))
    for index in range(2):
        version = reply.instances[index].items["version"]
        assert version.dtype == pb.MS_INT64 and list(version.shape.dims) == []
        assert codec.tensor_to_array(version) == served


def test_fail_with_empty_error_echoes(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("conformance", "fail", [{"x": M, "error": ""}]))
    assert not reply.error_msg
    np.testing.assert_array_equal(output(reply, 0, "y"), M)


def test_fail_mixed_instances(kit_stub: MSServiceStub) -> None:
    instances: list[dict[str, Any]] = [
        {"x": M, "error": ""},
        {"x": M, "error": "first «problem»"},
        {"x": "kept", "error": ""},
        {"x": M, "error": "second"},
    ]
    reply = call(kit_stub, request("conformance", "fail", instances, version=1))
    stage = "Call Function 'conformance.fail' Failed, method: 'fail', stage index(begin with 1): 1"
    assert errors(reply) == [
        (0, ""),
        (3, f"{stage}, error msg: first «problem»"),
        (0, ""),
        (3, f"{stage}, error msg: second"),
    ]
    assert output(reply, 2, "y") == "kept"
    assert not reply.instances[1].items and not reply.instances[3].items


def test_fail_all_alike_collapses(kit_stub: MSServiceStub) -> None:
    reply = call(kit_stub, request("conformance", "fail", [{"x": M, "error": "e"}] * 3))
    code, text = only_error(reply)
    assert code == 3 and text.endswith("error msg: e")


def test_concurrent_requests_are_not_mixed_up(kit_stub: MSServiceStub) -> None:
    def one(k: int) -> bool:
        x = np.full((2, 2), k, F32)
        reply = call(kit_stub, request("add", "add_common", [{"x1": x, "x2": x}] * (1 + k % 3)))
        return all(np.array_equal(output(reply, i, "y"), x * 2) for i in range(1 + k % 3))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(64)))
