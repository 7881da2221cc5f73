"""The server's compute backend: where a servable's arrays live and compute (NumPy or CuPy).

``select_backend`` picks it from the server's ``--device``; the host/device seam it uses (CuPy
imported lazily, the tests' fake in its place) is reference_client.arrays, shared with the
client's device inputs and outputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from reference_client.arrays import GPUUnavailableError, device_module, gpu_problem, to_host

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "gpu"]
DEVICES: tuple[Device, ...] = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class ArrayBackend:
    """Where computation runs: ``xp`` is the numpy or cupy module."""

    name: Literal["numpy", "cupy"]
    xp: ModuleType

    def to_device(self, host: np.ndarray) -> Any:
        """One host-to-device copy (a no-op view for numpy)."""
        if self.xp is np and type(host) is np.ndarray:
            return host  # what np.asarray returns, one call sooner
        return self.xp.asarray(host)

    def to_host(self, array: Any) -> np.ndarray:
        return to_host(array)


NUMPY_BACKEND = ArrayBackend("numpy", np)


def select_backend(device: Device = "auto") -> ArrayBackend:
    """numpy for "cpu"; cupy for "gpu" (or GPUUnavailableError); "auto" takes a working GPU."""
    if device == "cpu":
        return NUMPY_BACKEND
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    problem = gpu_problem()
    if problem is None:
        return ArrayBackend("cupy", device_module())
    if device == "gpu":
        raise GPUUnavailableError(f"--device gpu needs a working CuPy GPU: {problem}")
    log.info("no usable GPU (%s); computing with NumPy", problem)
    return NUMPY_BACKEND


__all__ = ["DEVICES", "NUMPY_BACKEND", "ArrayBackend", "Device", "log", "select_backend"]
