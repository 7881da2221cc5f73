"""CuPy backends for tests: the strict fake (support.fakecupy) on any machine, real CuPy on a GPU.

tests/conftest.py wraps these as fixtures: ``fake_device`` (the fake alone) and ``device``
(parametrized: the fake everywhere, real CuPy marked ``gpu`` and skipped without one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from reference_client import arrays
from reference_server import backend as compute
from support import fakecupy


@dataclass(frozen=True)
class Device:
    """A selected CuPy backend; ``transfers`` records its copies, kernels and queued work
    (None on real CuPy)."""

    backend: compute.ArrayBackend
    transfers: fakecupy.Transfers | None

    @property
    def xp(self) -> ModuleType:
        return self.backend.xp

    def counts(self) -> tuple[int, int] | None:
        """(host_to_device, device_to_host) since the test began; None on real CuPy."""
        return None if self.transfers is None else self.transfers.counts()


@contextmanager
def fake_device() -> Iterator[Device]:
    """The fake installed in the array seam, selected as ``--device gpu`` would select CuPy
    (its self-test included), transfers counted from zero; the seam restored afterwards."""
    arrays.use_device_module(fakecupy)
    try:
        backend = compute.select_backend("gpu")
        assert backend.xp is fakecupy
        fakecupy.TRANSFERS.reset()
        yield Device(backend, fakecupy.TRANSFERS)
    finally:
        arrays.use_device_module(None)
        fakecupy.TRANSFERS.reset()


class ForeignDeviceArray:
    """Another library's device array (a PyTorch CUDA tensor, a Numba array): the CUDA array
    interface and nothing else, over a CuPy (or fake) array's memory."""

    def __init__(self, on_device: Any) -> None:
        self._owner = on_device  # keeps the memory alive
        self.__cuda_array_interface__ = on_device.__cuda_array_interface__


def real_cupy() -> Device:
    return Device(compute.select_backend("gpu"), None)
