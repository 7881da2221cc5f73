"""The kit's ``conformance`` servable, versions 1 and 2 (conformance-kit.md §1).

Both methods take their inputs as wire tensors, so ``y`` is the input tensor itself: same
dtype, dims and bytes (NaN payloads, -0.0), and a string keeps its dims ``[]`` or ``[1]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server.backend import ArrayBackend
from reference_server.registry import (
    BatchFunction,
    Inputs,
    Method,
    Outcome,
    Outputs,
    Servable,
    method_table,
    per_instance,
)

SERVABLE = "conformance"
VERSIONS = (1, 2)


def echo_for(version: int) -> BatchFunction:
    served_by = np.int64(version)  # MS_INT64, dims []

    def echo(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
        return [{"y": inputs["x"], "version": served_by} for inputs in batch]

    return echo


def fail(inputs: Inputs, backend: ArrayBackend) -> Outputs:
    """Echo ``x`` when ``error`` is empty; else fail this instance with ``error`` as the text."""
    error: pb.Tensor = inputs["error"]
    if error.dtype != codec.STRING.code:
        given = codec.BY_CODE[error.dtype].name
        raise TypeError(f"input error should be MS_STRING, but actually {given}")
    text = codec.tensor_to_text(error)
    if text:
        raise RuntimeError(text)
    return {"y": inputs["x"]}


def conformance_servable() -> Servable:
    return Servable(
        SERVABLE,
        {
            version: method_table(
                Method("echo", ("x",), ("y", "version"), echo_for(version), wire_inputs=True),
                Method(
                    "fail",
                    ("x", "error"),
                    ("y",),
                    per_instance(SERVABLE, "fail", fail),
                    wire_inputs=True,
                ),
            )
            for version in VERSIONS
        },
    )


__all__ = ["SERVABLE", "VERSIONS", "conformance_servable", "echo_for", "fail"]
