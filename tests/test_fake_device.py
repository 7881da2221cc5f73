"""The strict fake device (support.fakecupy) and the seam that installs it
(reference_client.arrays).

The fake is only worth something if it refuses what CuPy refuses and counts what crosses: these
tests pin both, so a test that passes on it means the code under test never converts a device
array to a host one behind the seam's back.
"""

from __future__ import annotations

import pickle
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from support import fakecupy
from support.devices import Device, ForeignDeviceArray

from protos import codec
from reference_client import arrays
from reference_server import backend as compute

HOST = np.arange(6, dtype=np.float32).reshape(2, 3)

IMPLICIT: dict[str, Callable[[Any], object]] = {
    "np.asarray": np.asarray,
    "np.array": np.array,
    "np.ascontiguousarray": np.ascontiguousarray,
    "np.frombuffer": lambda d: np.frombuffer(d, np.float32),
    "memoryview": memoryview,
    "device + host": lambda d: d + HOST,
    "host + device": lambda d: HOST + d,
    "host * device": lambda d: HOST * d,
    "device @ host.T": lambda d: d @ HOST.T,
    "np.add(device, host)": lambda d: np.add(d, HOST),
    "np.maximum(device, 0, out=host)": lambda d: np.maximum(d, 0, out=np.empty_like(HOST)),
    "np.stack([device, host])": lambda d: np.stack([d, HOST]),
    "np.linalg.norm(device)": np.linalg.norm,
    "np.unique(device)": np.unique,  # a NumPy function the device module has no twin of
    "range(device)": lambda d: range(d[0, 0]),
    "fakecupy.matmul(device, host)": lambda d: fakecupy.matmul(d, HOST.T),
    "fakecupy.ascontiguousarray(host)": lambda d: fakecupy.ascontiguousarray(HOST),
    "fakecupy.pad(host)": lambda d: fakecupy.pad(HOST, 1),
}


@pytest.mark.parametrize("convert", IMPLICIT.values(), ids=IMPLICIT.keys())
def test_implicit_conversions_raise_type_error(
    fake_device: Device, convert: Callable[[Any], object]
) -> None:
    on_device = fakecupy.asarray(HOST)
    with pytest.raises(TypeError):
        convert(on_device)
    assert fake_device.counts() == (1, 0)  # the upload only: nothing crossed back


def test_asarray_refuses_with_cupys_text(fake_device: Device) -> None:
    with pytest.raises(TypeError) as refused:
        np.asarray(fakecupy.asarray(HOST))
    assert str(refused.value) == fakecupy.IMPLICIT_CONVERSION
    assert "Please use `.get()`" in str(refused.value)
    with pytest.raises(TypeError, match=r"^Unsupported type <class 'numpy.ndarray'>$"):
        fakecupy.asarray(HOST) + HOST


EXPLICIT: dict[str, Callable[[Any], object]] = {
    "get": lambda d: d.get(),
    "asnumpy": fakecupy.asnumpy,
    "tolist": lambda d: d.tolist(),
    "tobytes": lambda d: d.tobytes(),
    "bytes()": bytes,
    "item": lambda d: d[0, 1].item(),
    "float()": lambda d: float(d[0, 1]),
    "int()": lambda d: int(d[0, 1]),
    "complex()": lambda d: complex(d[0, 1]),
    "bool()": lambda d: bool(d[0, 1]),
    "repr": repr,
    "str": str,
    "format": lambda d: f"{d[0, 1]:.1f}",
    "pickle.dumps": pickle.dumps,
    "membership": lambda d: 99.0 in d[0],  # each == gives a device bool, read one by one
}
EXPLICIT_COPIES = {"membership": 3}


@pytest.mark.parametrize("name", EXPLICIT)
def test_explicit_copies_to_the_host_are_counted(fake_device: Device, name: str) -> None:
    on_device = fakecupy.asarray(HOST)
    EXPLICIT[name](on_device)
    assert fake_device.counts() == (1, EXPLICIT_COPIES.get(name, 1))


def test_device_work_stays_on_the_device(fake_device: Device) -> None:
    d = fakecupy.asarray(HOST)
    results = [
        d + d,
        d * np.float32(2),
        2.0 - d,
        np.add(d, d),  # NumPy ufuncs and functions run the device module's twin
        np.maximum(d, 0),
        np.stack([d, d]),
        np.concatenate([d, d]),
        np.float32(3) * d,
        fakecupy.asarray(d),  # already on the device: no copy
        d.T,
        d[:, ::2],
        d.reshape(3, 2),
        d.astype(np.float64),
        fakecupy.mean(d, axis=(0, 1), dtype=fakecupy.float32),
        fakecupy.argmax(d, axis=1),
        fakecupy.pad(d, ((1, 1), (0, 0)), constant_values=-np.inf),
        d > 1,
    ]
    results.extend(list(d))  # iteration yields device rows
    assert all(fakecupy.get_array_module(r) is fakecupy for r in results)
    assert len(d) == 2 and d.shape == (2, 3) and d.nbytes == 24
    assert arrays.is_device_array(d) and not arrays.is_device_array(HOST)
    assert fake_device.counts() == (1, 0)
    np.testing.assert_array_equal(results[0].get(), 2 * HOST)
    np.testing.assert_array_equal(results[-4].get(), [[-np.inf] * 3, *HOST, [-np.inf] * 3])


def test_in_place_kernels_write_device_memory(fake_device: Device) -> None:
    d: Any = fakecupy.asarray(HOST)
    view = d.reshape(3, 2)
    view += fakecupy.asarray(np.ones(2, np.float32))
    np.maximum(d, 3, out=d)  # numpy's ufunc, device out
    fakecupy.maximum(d, 4, out=d)
    np.testing.assert_array_equal(d.get(), np.maximum(HOST + 1, 4))
    with pytest.raises(TypeError, match=r"^Output argument type must be cupy\.ndarray"):
        fakecupy.maximum(d, 0, out=np.empty_like(HOST))


def test_device_memory_is_not_the_host_array(fake_device: Device) -> None:
    host = HOST.copy()
    d = fakecupy.asarray(host)
    host[:] = -1  # after the copy: the device keeps what was sent
    back = d.get()
    back[:] = -2  # a copy too
    np.testing.assert_array_equal(d.get(), HOST)


def test_every_numeric_wire_dtype_exists_on_the_device(fake_device: Device) -> None:
    numeric = [dt for dt in codec.BY_CODE.values() if dt.numpy is not None]
    assert numeric
    for wire in numeric:
        assert fakecupy.asarray(np.zeros(2, wire.numpy)).dtype == wire.numpy


@pytest.mark.parametrize("dtype", [object, "U3", "S3", "datetime64[s]", np.longdouble, "V4"])
def test_dtypes_cupy_lacks_are_refused(fake_device: Device, dtype: Any) -> None:
    with pytest.raises(ValueError, match="Unsupported dtype"):
        fakecupy.asarray(np.zeros(2, dtype))
    with pytest.raises(ValueError, match="Unsupported dtype"):
        fakecupy.zeros(2, fakecupy.float32).astype(dtype)
    assert fake_device.counts() == (0, 0)


def test_names_cupy_lacks_do_not_exist() -> None:
    # cupy has no errstate (only cupyx.errstate), nor NumPy's object and string types.
    for name in ("errstate", "seterr", "object_", "str_"):
        assert not hasattr(fakecupy, name), name


def test_use_device_module_replaces_cupy_in_the_seam() -> None:
    before = arrays.gpu_problem()
    arrays.use_device_module(fakecupy)
    try:
        assert arrays.gpu_problem() is None  # the self-test ran on the fake
        gpu_devices: tuple[compute.Device, ...] = ("gpu", "auto")
        for device in gpu_devices:
            backend = compute.select_backend(device)
            assert (backend.name, backend.xp) == ("cupy", fakecupy)
        assert compute.select_backend("cpu") is compute.NUMPY_BACKEND
        fakecupy.TRANSFERS.reset()
        out = arrays.to_device_output(HOST)
        assert isinstance(out, fakecupy.ndarray)
        np.testing.assert_array_equal(arrays.to_host(out), HOST)
        assert fakecupy.TRANSFERS.counts() == (1, 1)
    finally:
        arrays.use_device_module(None)
        fakecupy.TRANSFERS.reset()
    assert arrays.gpu_problem() == before


def test_a_device_module_that_fails_its_self_test_is_not_used() -> None:
    broken = types.ModuleType("broken")  # no arange: the self-test raises AttributeError
    arrays.use_device_module(broken)
    try:
        problem = arrays.gpu_problem()
        assert problem is not None and problem.startswith("AttributeError:")
        assert compute.select_backend("auto") is compute.NUMPY_BACKEND
        with pytest.raises(arrays.GPUUnavailableError, match="--device gpu needs a working"):
            compute.select_backend("gpu")
        with pytest.raises(arrays.GPUUnavailableError, match="CuPy outputs need"):
            arrays.to_device_output(HOST)
    finally:
        arrays.use_device_module(None)


@pytest.mark.parametrize(
    "view", [lambda d: d, lambda d: d.T, lambda d: d[:, ::-2]], ids=["whole", "T", "reversed"]
)
def test_to_host_reads_other_device_arrays_through_cupy(
    fake_device: Device, view: Callable[[Any], Any]
) -> None:
    on_device = view(fakecupy.asarray(HOST))
    foreign = ForeignDeviceArray(on_device)
    assert arrays.is_device_array(foreign) and not hasattr(foreign, "get")
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(on_device)
    got = arrays.to_host(foreign)  # cupy.asnumpy: a device copy, then one copy to the host
    np.testing.assert_array_equal(got, view(HOST))
    assert fake_device.counts() == (1, 1)


def test_the_fake_reads_only_its_own_memory(fake_device: Device) -> None:
    elsewhere = types.SimpleNamespace(
        __cuda_array_interface__={"shape": (2,), "typestr": "<f4", "data": (8, False)}
    )
    with pytest.raises(ValueError, match="outside this fake device's memory"):
        fakecupy.asnumpy(elsewhere)
