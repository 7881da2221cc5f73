"""The GPU benchmarks synchronize before they read the clock, asserted on the strict fake device.

Device work is asynchronous: a benchmark that reads ``time.perf_counter()`` after launching
kernels but before waiting for them times the launches. The fake queues every kernel and upload
until ``cuda.Device().synchronize()`` (or a copy to the host) and its ``host_clock`` refuses to
read the time while anything is queued; each benchmark's clock is replaced by it here.
"""

from __future__ import annotations

import importlib.util
import pathlib
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from support import fakecupy
from support.devices import Device

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _clocked_by_the_fake(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """``module``'s ``time.perf_counter`` becomes the fake's ``host_clock``."""
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=fakecupy.host_clock))


def test_the_fake_queues_device_work_until_a_synchronize(fake_device: Device) -> None:
    x = fakecupy.asarray(np.ones((2, 2), np.float32))  # an upload is queued too
    with pytest.raises(fakecupy.UnsynchronizedTimingError, match="1 device operation"):
        fakecupy.host_clock()
    y = fakecupy.matmul(x, x)
    with pytest.raises(fakecupy.UnsynchronizedTimingError, match="2 device operation"):
        fakecupy.host_clock()
    fakecupy.cuda.Device().synchronize()
    assert fakecupy.host_clock() > 0
    y += 1
    y.get()  # a copy to the host waits for the work before it
    assert fakecupy.host_clock() > 0
    assert fake_device.transfers is not None
    assert fake_device.transfers.kernels == {"float32": 2}


def test_bench_resnet_synchronizes_before_each_clock_read(
    fake_device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load("bench/bench_resnet.py")
    _clocked_by_the_fake(bench, monkeypatch)
    # The bench's whole row (model, same GEMMs, flat matmul) on 32x32 images: seconds, not
    # minutes, on the numpy-backed fake.
    row = bench.measure(fake_device.backend, batch=1, repeats=1, size=32)
    assert row["model_ms_per_image"] > 0 and row["ratio_model_to_same_gemms"] > 0
    assert fake_device.transfers is not None
    assert fake_device.transfers.kernels["float32"] > 100  # the work really ran on the device


def test_bench_resnet_synchronizes_the_cupy_backend_only(fake_device: Device) -> None:
    bench = _load("bench/bench_resnet.py")
    fakecupy.matmul(fakecupy.ones((2, 2), fakecupy.float32), fakecupy.ones((2, 2)))
    bench._sync(fake_device.backend)()
    assert fakecupy.host_clock() > 0


def test_gpu_check_synchronizes_before_each_clock_read(
    fake_device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = _load("scripts/gpu_resnet_check.py")
    _clocked_by_the_fake(check, monkeypatch)
    a = fakecupy.ones((8, 8), fakecupy.float32)
    rate = check.images_per_second(
        lambda: fakecupy.matmul(a, a), 4, fakecupy.cuda.Device().synchronize, 0.0
    )
    assert rate > 0
    # The same timing loop with a synchronize that does nothing is caught.
    with pytest.raises(fakecupy.UnsynchronizedTimingError):
        check.images_per_second(lambda: fakecupy.matmul(a, a), 4, lambda: None, 0.0)
