"""The request checks of protocol.md §3, pure (no sockets): order, texts, decoded values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from support.rpc import raw_tensor, request, tensor

from protos import ms_service_pb2 as pb
from reference_server import checks
from reference_server.backend import ArrayBackend
from reference_server.registry import Inputs, Method, Outcome, Registry, Servable, method_table

F32 = pb.MS_FLOAT32


def _noop(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
    return [{} for _ in batch]


REGISTRY = Registry(
    [
        Servable("s", {1: method_table(Method("m", ("a", "b"), ("y",), _noop))}),
        Servable(
            "v",
            {
                1: method_table(Method("old", ("x",), ("y",), _noop)),
                3: method_table(Method("new", ("x",), ("y",), _noop)),
            },
        ),
        Servable("w", {1: method_table(Method("m", ("x",), ("y",), _noop, wire_inputs=True))}),
    ]
)
GOOD = np.zeros((2, 2), np.float32)


def check(message: pb.PredictRequest) -> checks.CheckedRequest | checks.RequestError:
    return checks.check_request(message, REGISTRY)


def refused(message: pb.PredictRequest) -> tuple[int, str]:
    result = check(message)
    assert isinstance(result, checks.RequestError), result
    return result.code, result.message


def detail(bad: pb.Tensor) -> str:
    """The text for one malformed tensor in input ``a``."""
    code, text = refused(request("s", "m", [{"a": bad, "b": GOOD}]))
    assert code == 2
    prefix = "Instances input a check failed, detail: "
    assert text.startswith(prefix)
    return text[len(prefix) :]


# -- servable, version, method ----------------------------------------------------------------


def test_unknown_servable_text_without_version() -> None:
    assert refused(request("nope", "m", [{"a": GOOD, "b": GOOD}])) == (
        2,
        "Request servable(nope) method(m) , servable is not available",
    )


def test_unknown_version_text_names_the_version() -> None:
    assert refused(request("s", "m", [{"a": GOOD, "b": GOOD}], version=7)) == (
        2,
        "Request servable(s) method(m)  version(7) , servable is not available",
    )


def test_unknown_method_text() -> None:
    assert refused(request("s", "zz", [{"a": GOOD}])) == (
        2,
        "Request servable(s) method(zz) , method is not available",
    )
    assert refused(request("s", "zz", [{"a": GOOD}], version=1)) == (
        2,
        "Request servable(s) method(zz)  version(1) , method is not available",
    )


def test_version_zero_means_the_highest_deployed() -> None:
    result = check(request("v", "new", [{"x": GOOD}]))
    assert isinstance(result, checks.CheckedRequest)
    assert result.method.name == "new"
    # "old" exists only in version 1, which 0 does not select.
    assert refused(request("v", "old", [{"x": GOOD}]))[1].endswith("method is not available")
    assert isinstance(check(request("v", "old", [{"x": GOOD}], version=1)), checks.CheckedRequest)
    # A version between deployed ones is not deployed.
    assert refused(request("v", "new", [{"x": GOOD}], version=2))[1].endswith(
        "servable is not available"
    )


def test_servable_name_is_exact() -> None:
    assert refused(request("S", "m", [{"a": GOOD, "b": GOOD}]))[0] == 2
    assert refused(request("s ", "m", [{"a": GOOD, "b": GOOD}]))[0] == 2


def test_servable_is_checked_before_method_before_instances() -> None:
    assert refused(request("nope", "zz"))[1].endswith("servable is not available")
    assert refused(request("s", "zz"))[1].endswith("method is not available")


def test_zero_instances_is_refused_with_code_2() -> None:
    assert refused(request("s", "m")) == (
        2,
        "Instances count of request cannot be 0, servable: s, method: m",
    )


# -- inputs -------------------------------------------------------------------------------


def test_missing_input_text() -> None:
    assert refused(request("s", "m", [{"a": GOOD}])) == (
        2,
        "Cannot find input b in instance input , servable s, method m",
    )


def test_first_failure_wins_in_instance_then_input_order() -> None:
    bad = raw_tensor(F32, [2], b"123")
    # Instance 0 lacks "b"; instance 1's "a" is malformed: instance 0 is reported.
    message = request("s", "m", [{"a": GOOD}, {"a": bad, "b": GOOD}])
    assert refused(message)[1].startswith("Cannot find input b")
    # Within one instance, declared order: "a" before "b", whatever the map order.
    message = request("s", "m", [{"b": raw_tensor(F32, [1], b""), "a": bad}])
    assert refused(message)[1].startswith("Instances input a check failed")
    # A later instance's problem still refuses the whole request.
    message = request("s", "m", [{"a": GOOD, "b": GOOD}, {"a": GOOD}])
    assert refused(message)[1].startswith("Cannot find input b")


def test_undeclared_inputs_are_ignored_even_when_malformed() -> None:
    result = check(request("s", "m", [{"a": GOOD, "b": GOOD, "junk": raw_tensor(0, [-1])}]))
    assert isinstance(result, checks.CheckedRequest)
    assert set(result.instances[0]) == {"a", "b"}


@pytest.mark.parametrize("dtype", [pb.MS_STRING, pb.MS_BYTES])
@pytest.mark.parametrize("count", [0, 2])
def test_text_value_count_must_be_one(dtype: int, count: int) -> None:
    bad = raw_tensor(dtype, [1], bytes_val=[b"x"] * count)
    assert detail(bad) == (
        "Instance tensor check failed: bytes or string type shape batch size can only be 1"
    )


@pytest.mark.parametrize("dims", [[2], [1, 1], [0], [3, 4]])
def test_text_dims_must_be_empty_or_one(dims: list[int]) -> None:
    bad = raw_tensor(pb.MS_STRING, dims, bytes_val=[b"x"])
    shown = "[" + ", ".join(map(str, dims)) + "]"
    assert detail(bad) == (
        "Instance tensor check failed: bytes or string type input  shape can only be (1,) or "
        f"empty, but given shape is {shown}"
    )


def test_text_count_is_checked_before_dims() -> None:
    bad = raw_tensor(pb.MS_BYTES, [5], bytes_val=[])
    assert "batch size can only be 1" in detail(bad)


@pytest.mark.parametrize(
    ("dims", "shown"),
    [([-1], "[-1]"), ([2, -3], "[2, -3]"), ([0, 3], "[0, 3]"), ([0, 0], "[0, 0]")],
)
def test_negative_dim_or_a_dim_after_zero_is_invalid(dims: list[int], shown: str) -> None:
    assert detail(raw_tensor(F32, dims)) == f"Tensor check failed: input  shape {shown} invalid"


@pytest.mark.parametrize("dims", [[0], [3, 0], [2, 3, 0]])
def test_zero_in_the_last_dim_is_a_legal_empty_tensor(dims: list[int]) -> None:
    result = check(request("s", "m", [{"a": raw_tensor(F32, dims), "b": GOOD}]))
    assert isinstance(result, checks.CheckedRequest)
    assert result.instances[0]["a"].shape == tuple(dims)


@pytest.mark.parametrize("code", [0, 15, 99, -1])
def test_unknown_dtype(code: int) -> None:
    assert detail(raw_tensor(code, [1], b"\0")) == (
        "Tensor check failed: input data type proto::MS_UNKNOWN invalid"
    )


def test_shape_is_checked_before_dtype_before_size() -> None:
    assert "shape [-1] invalid" in detail(raw_tensor(0, [-1], b"zz"))
    assert "data type" in detail(raw_tensor(0, [1], b"zzzzz"))


@pytest.mark.parametrize(
    ("dims", "data"), [([2, 2], b"\0" * 15), ([2, 2], b"\0" * 17), ([], b""), ([0], b"\0")]
)
def test_data_size_must_match_shape_and_dtype(dims: list[int], data: bytes) -> None:
    assert detail(raw_tensor(F32, dims, data)) == (
        f"Tensor check failed: input data size {len(data)} invalid"
    )


def test_non_utf8_string_is_refused_not_crashed() -> None:
    text = detail(raw_tensor(pb.MS_STRING, [1], bytes_val=[b"\xff\xfe"]))
    assert "UTF-8" in text
    # The same bytes as MS_BYTES are fine.
    message = request(
        "s", "m", [{"a": raw_tensor(pb.MS_BYTES, [1], bytes_val=[b"\xff"]), "b": GOOD}]
    )
    assert isinstance(check(message), checks.CheckedRequest)


def test_shared_memory_tensors_are_refused() -> None:
    bad = raw_tensor(F32, [1])
    bad.shm_data.memory_key = "k"
    bad.shm_data.data_size = 4
    assert "shared memory" in detail(bad)


# -- decoded values -----------------------------------------------------------------------


def test_decoded_values_keep_shape_dtype_and_bytes() -> None:
    a = np.array([[1.5, -0.0], [np.nan, np.inf]], dtype=">f4")  # big-endian in, wire is LE
    message = request("s", "m", [{"a": a, "b": tensor("héllo", dims=())}])
    result = check(message)
    assert isinstance(result, checks.CheckedRequest)
    value = result.instances[0]["a"]
    assert value.dtype == np.dtype("<f4") and value.shape == (2, 2)
    assert value.tobytes() == a.astype("<f4").tobytes()
    assert not value.flags.writeable
    assert result.instances[0]["b"] == "héllo"


@pytest.mark.parametrize("dims", [[], [1]])
def test_scalar_shape_is_kept_as_sent(dims: list[int]) -> None:
    result = check(request("s", "m", [{"a": raw_tensor(F32, dims, b"\0" * 4), "b": b"raw"}]))
    assert isinstance(result, checks.CheckedRequest)
    assert result.instances[0]["a"].shape == tuple(dims)
    assert result.instances[0]["b"] == b"raw"


def test_wire_input_methods_get_the_tensor_itself_after_the_same_checks() -> None:
    sent = raw_tensor(pb.MS_STRING, [], bytes_val=[b"abc"])
    result = check(request("w", "m", [{"x": sent}]))
    assert isinstance(result, checks.CheckedRequest)
    assert result.instances[0]["x"] == sent
    assert refused(request("w", "m", [{"x": raw_tensor(F32, [1], b"")}]))[0] == 2
