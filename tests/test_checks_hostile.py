"""Hostile shapes (issue 9, defects 3, 4 and 8): refused as bad input (code 2), at a cost linear
in the request, with texts of bounded length; never an internal error."""

from __future__ import annotations

import logging
import time
import tracemalloc

import numpy as np
import pytest
from support.rpc import errors, raw_tensor, request

from protos import ms_service_pb2 as pb
from reference_server import checks
from reference_server import errors as texts
from reference_server.dispatch import Dispatcher
from reference_server.servables import kit_registry

F32 = pb.MS_FLOAT32
GOOD = np.zeros((2, 2), np.float32)


def _add(method: str, x1: pb.Tensor, x2: pb.Tensor | np.ndarray = GOOD) -> pb.PredictRequest:
    return request("add", method, [{"x1": x1, "x2": x2}])


def _refusal(message: pb.PredictRequest, caplog: pytest.LogCaptureFixture) -> tuple[int, str]:
    """The one error of a request refused whole; nothing logged at ERROR (no traceback)."""
    with caplog.at_level(logging.ERROR):
        reply = Dispatcher(kit_registry()).predict(message)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    [entry] = errors(reply)
    return entry


def test_thirty_thousand_dims_are_refused_at_once() -> None:
    # Defect 3: the element count multiplied one big integer per dim (7.5 s for 30,000 dims).
    bad = raw_tensor(F32, [2] * 30_000, b"\0" * 16)
    start = time.perf_counter()
    with pytest.raises(checks.TensorProblem) as problem:
        checks.decode_tensor(bad)
    # Microseconds now; 7.5 s before on a quiet machine (more on a busy one): a bound that a
    # busy machine cannot reach and the old code cannot meet.
    assert time.perf_counter() - start < 3.0
    assert str(problem.value) == texts.too_many_dims(30_000)
    assert str(problem.value) == (
        "Tensor check failed: input shape has 30000 dims, more than the limit 64"
    )


@pytest.mark.parametrize("dtype", [F32, pb.MS_STRING])
def test_a_million_dims_build_nothing_per_dim(dtype: int) -> None:
    # Defect 4: memory grew with the dims count (a tuple of every dim, a text of every dim).
    dims = [1] * 999_999 + [-1]
    bad = raw_tensor(dtype, dims, b"")
    if dtype == pb.MS_STRING:
        bad.bytes_val.append(b"text")
    tracemalloc.start()
    try:
        with pytest.raises(checks.TensorProblem) as problem:
            checks.decode_tensor(bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024  # a tuple of the dims alone is 8 MB
    assert len(str(problem.value)) < 300


def test_shape_texts_show_a_bounded_prefix() -> None:
    assert texts.format_shape([2, 3]) == "[2, 3]"
    assert texts.format_shape([]) == "[]"
    long = texts.format_shape([7] * 40)
    assert long == "[" + ", ".join(["7"] * 16) + ", ... (40 dims)]"
    text = texts.text_shape_invalid([1] * 64)
    assert text.endswith(", ... (64 dims)]") and len(text) < 200


def test_sixty_four_dims_still_decode() -> None:
    array = checks.decode_tensor(raw_tensor(F32, [1] * 64, b"\0" * 4))
    assert array.shape == (1,) * 64


@pytest.mark.parametrize("method", ["add_common", "add_cast"])
def test_sixty_five_dims_are_bad_input_not_an_internal_error(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Defect 8: numpy refused 65 dims inside the server: code 3 and a traceback in the log.
    bad = raw_tensor(F32, [1] * 65, b"\0" * 4)
    code, text = _refusal(_add(method, bad), caplog)
    assert code == 2
    assert text == texts.input_check_failed("x1", texts.too_many_dims(65))


@pytest.mark.parametrize("method", ["add_common", "add_cast"])
@pytest.mark.parametrize("dims", [[2**62, 0], [2**61, 3, 0], [2**60, 0]])
def test_zero_size_shapes_no_array_holds_are_bad_input(
    method: str, dims: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    # Defect 8: numpy refuses [2**62, 0] even with no element: code 3 and a traceback before.
    code, text = _refusal(_add(method, raw_tensor(F32, dims, b"")), caplog)
    assert code == 2
    assert text == texts.input_check_failed("x1", texts.too_many_elements(dims))
    assert "too large for any tensor" in text


def test_add_cast_answers_large_zero_size_shapes_without_a_batch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each fits, but a batch of four of them would pass what numpy can address.
    empty = raw_tensor(pb.MS_INT8, [2**59, 0], b"")
    message = request("add", "add_cast", [{"x1": empty, "x2": empty}] * 4)
    with caplog.at_level(logging.ERROR):
        reply = Dispatcher(kit_registry()).predict(message)
    assert not caplog.records, caplog.text
    assert not reply.error_msg
    for instance in reply.instances:
        y = instance.items["y"]
        assert (y.dtype, list(y.shape.dims), y.data) == (F32, [2**59, 0], b"")


def test_add_common_refuses_a_zero_size_input_by_its_size() -> None:
    message = _add("add_common", raw_tensor(F32, [2**59, 0], b""))
    reply = Dispatcher(kit_registry()).predict(message)
    [(code, text)] = errors(reply)
    assert code == 2 and text == texts.size_mismatch(0, 0, 16)
