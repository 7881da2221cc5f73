"""The one seam between host (NumPy) and device (CuPy) arrays.

Everything that may meet a CuPy array goes through here: the server's compute backend and the
client's input/output conversion. CuPy is imported lazily, so nothing pays for it (or needs it)
on a machine without a GPU.

``use_device_module`` puts another module in CuPy's place: the tests install a strict fake
(tests/support/fakecupy.py) so the CuPy paths run, transfers counted, on machines without a GPU.
"""

from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "gpu"]
DEVICES: tuple[Device, ...] = ("auto", "cpu", "gpu")


class GPUUnavailableError(RuntimeError):
    """A GPU was required (device "gpu") but CuPy or a working device is missing."""


def is_device_array(value: Any) -> bool:
    """True for arrays that live on a GPU (CuPy and anything with the CUDA array interface)."""
    return hasattr(value, "__cuda_array_interface__")


def to_host(value: Any) -> np.ndarray:
    """A host numpy array for a numpy or device array: one device-to-host copy for the latter."""
    if type(value) is np.ndarray:  # the common case, without the attribute probe below
        return value
    if is_device_array(value):
        get = getattr(value, "get", None)
        if get is not None:
            return np.asarray(get())
        return np.asarray(_cupy().asnumpy(value))
    return np.asarray(value)


_device_module: ModuleType | None = None  # set by use_device_module; None: the real cupy


def use_device_module(module: ModuleType | None) -> None:
    """Use ``module`` wherever this seam would use ``cupy``; None goes back to cupy.

    For tests: every function here (``select_backend``, ``gpu_problem``, ``to_device_output``,
    ``to_host``) then sees ``module``. Backends already selected keep the module they hold.
    """
    global _device_module
    _device_module = module
    gpu_problem.cache_clear()


def _cupy() -> ModuleType:
    return _device_module if _device_module is not None else _import_cupy()


@functools.cache
def _import_cupy() -> ModuleType:
    return importlib.import_module("cupy")


@functools.cache
def gpu_problem() -> str | None:
    """None when CuPy imports and can run a kernel on a GPU; else why not (one line)."""
    try:
        cp = _cupy()
        probe = cp.arange(4, dtype=cp.float32) * 2
        if float(probe.sum().get()) != 12.0:
            return "CuPy computed a wrong result on its self-test"
    except Exception as exc:  # ImportError, CUDA driver/runtime errors, no device
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


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
        return ArrayBackend("cupy", _cupy())
    if device == "gpu":
        raise GPUUnavailableError(f"--device gpu needs a working CuPy GPU: {problem}")
    log.info("no usable GPU (%s); computing with NumPy", problem)
    return NUMPY_BACKEND


def to_device_output(array: np.ndarray) -> Any:
    """A host array as a CuPy array (used by the client's option to return device outputs)."""
    problem = gpu_problem()
    if problem is not None:
        raise GPUUnavailableError(f"CuPy outputs need a working CuPy GPU: {problem}")
    return _cupy().asarray(array)
