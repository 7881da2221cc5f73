"""Model-style input checks: what a MindSpore model stage verifies for each instance alone.

A model declares each input's byte size and dtype; the shape itself is never compared. The byte
size is checked first, then the dtype, input by input (protocol.md §3.4). Failures are
per-instance, code 2, with upstream's texts (reference_server.errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from protos import codec
from reference_server.errors import INVALID_INPUTS, dtype_mismatch, size_mismatch
from reference_server.registry import InstanceError


@dataclass(frozen=True)
class ModelInput:
    nbytes: int
    dtype: codec.DType


def size_and_dtype(value: Any) -> tuple[int, codec.DType]:
    """A decoded input's byte size and wire dtype as a model sees them (text: no numeric data)."""
    if isinstance(value, str):
        return 0, codec.STRING
    if isinstance(value, bytes):
        return 0, codec.BYTES
    array = np.asarray(value)
    return array.nbytes, codec.dtype_of_numpy(array.dtype)


def model_input_error(values: Sequence[Any], model: Sequence[ModelInput]) -> InstanceError | None:
    """The first mismatch between one instance's inputs and the model's, or None."""
    for index, (value, expected) in enumerate(zip(values, model, strict=True)):
        if (
            type(value) is np.ndarray
            and value.nbytes == expected.nbytes
            and value.dtype == expected.dtype.numpy
        ):
            continue  # the common case, without building the texts' inputs
        nbytes, dtype = size_and_dtype(value)
        if nbytes != expected.nbytes:
            return InstanceError(INVALID_INPUTS, size_mismatch(index, nbytes, expected.nbytes))
        if dtype != expected.dtype:
            return InstanceError(INVALID_INPUTS, dtype_mismatch(index, dtype, expected.dtype))
    return None


__all__ = ["ModelInput", "model_input_error", "size_and_dtype"]
