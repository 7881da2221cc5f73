"""The kit's ``add`` servable, version 1 (conformance-kit.md §1).

``add_common`` behaves as a model with two float32 [2,2] inputs; ``add_cast`` adds any numeric
inputs of equal shape as float32. The valid instances of a request cross to the compute device
as one batch: one host-to-device copy, one add, one device-to-host copy per shape.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import cast

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server.backend import ArrayBackend
from reference_server.registry import (
    SYSTEM_ERROR,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Servable,
    method_table,
    stage_error_text,
)
from reference_server.servables.model_inputs import ModelInput, model_input_error

SERVABLE = "add"
FLOAT32 = codec.BY_CODE[pb.MS_FLOAT32]
MATRIX = ModelInput(nbytes=16, dtype=FLOAT32)  # float32 [2, 2]


_MODEL = (MATRIX, MATRIX)
_FLOAT32 = np.dtype(np.float32)


def add_common(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
    outcomes: list[Outcome | None] = []
    valid: list[int] = []
    for index, inputs in enumerate(batch):
        error = model_input_error((inputs["x1"], inputs["x2"]), _MODEL)
        outcomes.append(error)
        if error is None:
            valid.append(index)
    if valid:
        # All float32 with 4 elements, whatever their shapes: their bytes, joined, are the batch.
        matrices = [batch[i]["x1"] for i in valid] + [batch[i]["x2"] for i in valid]
        joined = b"".join([matrix.tobytes() for matrix in matrices])
        host = np.ndarray((2, len(valid), 2, 2), _FLOAT32, joined)  # read-only, over joined
        _add_pairs(host, valid, outcomes, backend)
    return _complete(outcomes)


def add_cast(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
    outcomes: list[Outcome | None] = []
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, inputs in enumerate(batch):
        problem = _cast_problem(inputs["x1"], inputs["x2"])
        if problem is None:
            by_shape.setdefault(inputs["x1"].shape, []).append(index)
            outcomes.append(None)
        else:
            text = stage_error_text(SERVABLE, "add_cast", "add_cast", 1, problem)
            outcomes.append(InstanceError(SYSTEM_ERROR, text))
    for shape, members in by_shape.items():
        if 0 in shape:
            # Nothing to add. Not batched: for a shape like [2**59, 0] the batch's nominal size
            # would pass what numpy can address, though it holds no element.
            for index in members:
                outcomes[index] = {"y": np.empty(shape, dtype=np.float32)}
            continue
        host = np.empty((2, len(members), *shape), dtype=np.float32)
        for row, index in enumerate(members):
            with np.errstate(all="ignore"):  # float64 -> float32 may overflow to inf, by design
                host[0, row] = batch[index]["x1"]  # numpy casts on assignment
                host[1, row] = batch[index]["x2"]
        _add_pairs(host, members, outcomes, backend)
    return _complete(outcomes)


def _cast_problem(x1: object, x2: object) -> str | None:
    for name, value in (("x1", x1), ("x2", x2)):
        if not isinstance(value, np.ndarray):
            return f"input {name} should be a numeric tensor, but actually {type(value).__name__}"
    assert isinstance(x1, np.ndarray) and isinstance(x2, np.ndarray)
    if x1.shape != x2.shape:
        return f"inputs x1 and x2 should have the same shape, but got {x1.shape} and {x2.shape}"
    return None


def _add_pairs(
    host: np.ndarray, indexes: list[int], outcomes: list[Outcome | None], backend: ArrayBackend
) -> None:
    """``host[0] + host[1]`` on the backend's device; row k answers instance ``indexes[k]``."""
    device = backend.to_device(host)
    result = backend.to_host(_add_quietly(device[0], device[1]))
    for row, index in enumerate(indexes):
        outcomes[index] = {"y": result[row]}


# inf + -inf is a legitimate NaN result here, not something to warn the server log about.
# NumPy's errstate, whatever the backend: CuPy has none (a GPU raises no such warnings). As a
# decorator rather than a ``with`` block: half the cost per call (issue 12), still per thread.
_add_quietly = np.errstate(all="ignore")(operator.add)


def _complete(outcomes: list[Outcome | None]) -> list[Outcome]:
    if None in outcomes:
        raise AssertionError("an instance was left without an outcome")
    return cast(list[Outcome], outcomes)


def add_servable() -> Servable:
    return Servable(
        SERVABLE,
        {
            1: method_table(
                Method("add_common", ("x1", "x2"), ("y",), add_common),
                Method("add_cast", ("x1", "x2"), ("y",), add_cast),
            )
        },
    )


__all__ = ["FLOAT32", "MATRIX", "SERVABLE", "add_cast", "add_common", "add_servable"]
