"""The kit's servables as batch functions (no sockets): batching across the device seam, and
the same results on CuPy (the ``device`` fixture: the strict fake device everywhere, real CuPy
where a GPU works)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from support.devices import Device
from support.rpc import request

from reference_server import checks, kit_registry
from reference_server.backend import NUMPY_BACKEND, ArrayBackend
from reference_server.dispatch import Dispatcher
from reference_server.registry import InstanceError

F32 = np.float32


@dataclass(frozen=True)
class CountingBackend(ArrayBackend):
    """NumPy, counting the copies across the device seam."""

    copies: dict[str, int] = field(default_factory=lambda: {"to_device": 0, "to_host": 0})

    def to_device(self, host: np.ndarray) -> Any:
        self.copies["to_device"] += 1
        return super().to_device(host)

    def to_host(self, array: Any) -> np.ndarray:
        self.copies["to_host"] += 1
        return super().to_host(array)


def _run(backend: ArrayBackend, method: str, instances: list[dict[str, Any]]) -> list[Any]:
    registry = kit_registry(backend)
    checked = checks.check_request(request("add", method, instances), registry)
    assert isinstance(checked, checks.CheckedRequest)
    return list(checked.method.run(checked.instances, backend))


def test_add_common_crosses_the_seam_once_per_request() -> None:
    backend = CountingBackend("numpy", np)
    x = np.arange(4, dtype=F32).reshape(2, 2)
    instances = [{"x1": x + k, "x2": x} for k in range(5)]
    instances.insert(2, {"x1": x.astype(np.int32), "x2": x})  # fails alone, not copied
    outcomes = _run(backend, "add_common", instances)
    assert backend.copies == {"to_device": 1, "to_host": 1}
    assert isinstance(outcomes[2], InstanceError)
    expected = [2 * x + k for k in range(5)]
    got = [o["y"] for i, o in enumerate(outcomes) if i != 2]
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(have, want)


def test_add_cast_crosses_the_seam_once_per_shape() -> None:
    backend = CountingBackend("numpy", np)
    instances: list[dict[str, Any]] = [
        {"x1": np.ones(3, np.int8), "x2": np.ones(3, np.float64)},
        {"x1": np.ones((2, 2), np.uint8), "x2": np.ones((2, 2), np.int64)},
        {"x1": np.full(3, 2, np.int16), "x2": np.zeros(3, np.bool_)},
    ]
    outcomes = _run(backend, "add_cast", instances)
    assert backend.copies == {"to_device": 2, "to_host": 2}
    assert [o["y"].tolist() for o in outcomes] == [[2, 2, 2], [[2, 2], [2, 2]], [2, 2, 2]]


def test_kit_on_cupy_matches_numpy(device: Device) -> None:
    cupy_backend = device.backend
    assert cupy_backend.name == "cupy"
    rng = np.random.default_rng(3)
    common = [{"x1": rng.random((2, 2), F32), "x2": rng.random((2, 2), F32)} for _ in range(7)]
    cast = [{"x1": rng.integers(0, 9, (3, 5)).astype(np.int8), "x2": rng.random((3, 5))}]
    for method, instances in (("add_common", common), ("add_cast", cast)):
        on_gpu = _run(cupy_backend, method, instances)
        on_cpu = _run(NUMPY_BACKEND, method, instances)
        for gpu, cpu in zip(on_gpu, on_cpu, strict=True):
            assert isinstance(gpu["y"], np.ndarray)  # back on the host
            np.testing.assert_array_equal(gpu["y"], cpu["y"])
    if device.transfers is not None:  # one copy each way per request (one shape in add_cast)
        assert device.counts() == (2, 2)


def test_dispatcher_on_cupy_answers_like_numpy(device: Device) -> None:
    instances = [{"x1": np.eye(2, dtype=F32), "x2": np.ones((2, 2), F32)}] * 3
    message = request("add", "add_common", instances)
    on_gpu = Dispatcher(kit_registry(device.backend)).predict(message)
    on_cpu = Dispatcher(kit_registry(NUMPY_BACKEND)).predict(message)
    assert on_gpu == on_cpu and not on_gpu.error_msg
    if device.transfers is not None:
        assert device.counts() == (1, 1)
