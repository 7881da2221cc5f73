"""The one seam between host (NumPy) and device (CuPy) arrays.

Everything that may meet a CuPy array goes through here: the client's input/output conversion,
and the server's compute backend (reference_server.backend, which builds on this module). CuPy
is imported lazily, so nothing pays for it (or needs it) on a machine without a GPU.

``use_device_module`` puts another module in CuPy's place: the tests install a strict fake
(tests/support/fakecupy.py) so the CuPy paths run, transfers counted, on machines without a GPU.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any

import numpy as np


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
        return np.asarray(device_module().asnumpy(value))
    return np.asarray(value)


_device_module: ModuleType | None = None  # set by use_device_module; None: the real cupy


def use_device_module(module: ModuleType | None) -> None:
    """Use ``module`` wherever this seam would use ``cupy``; None goes back to cupy.

    For tests: every function here (``gpu_problem``, ``to_device_output``, ``to_host``) and
    reference_server.backend's ``select_backend`` then see ``module``. Backends already selected
    keep the module they hold.
    """
    global _device_module
    _device_module = module
    gpu_problem.cache_clear()


def device_module() -> ModuleType:
    """cupy, or the module use_device_module put in its place (imported on first use)."""
    return _device_module if _device_module is not None else _import_cupy()


@functools.cache
def _import_cupy() -> ModuleType:
    return importlib.import_module("cupy")


@functools.cache
def gpu_problem() -> str | None:
    """None when CuPy imports and can run a kernel on a GPU; else why not (one line)."""
    try:
        cp = device_module()
        probe = cp.arange(4, dtype=cp.float32) * 2
        if float(probe.sum().get()) != 12.0:
            return "CuPy computed a wrong result on its self-test"
    except Exception as exc:  # ImportError, CUDA driver/runtime errors, no device
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def to_device_output(array: np.ndarray) -> Any:
    """A host array as a CuPy array (used by the client's option to return device outputs)."""
    problem = gpu_problem()
    if problem is not None:
        raise GPUUnavailableError(f"CuPy outputs need a working CuPy GPU: {problem}")
    return device_module().asarray(array)


__all__ = [
    "GPUUnavailableError",
    "device_module",
    "gpu_problem",
    "is_device_array",
    "to_device_output",
    "to_host",
    "use_device_module",
]
