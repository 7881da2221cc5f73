"""CuPy in and out of the Client.

The CuPy tests take the ``device`` fixture: they run on the strict fake device everywhere (with
its transfers counted) and on real CuPy where a GPU works (``-m gpu``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from client_support import WAIT_S, FakePredictServer
from support.devices import Device

from protos import ms_service_pb2 as pb
from reference_client import Client
from reference_client.arrays import GPUUnavailableError, gpu_problem
from reference_client.values import value_to_tensor


class HostBackedDeviceArray:
    """Stands in for a device array on a machine without one: it exposes the CUDA array
    interface marker and CuPy's ``get()``; the client must copy it to the host through get()."""

    def __init__(self, host: np.ndarray) -> None:
        self._host = host
        self.gets = 0
        self.__cuda_array_interface__: dict[str, Any] = {"shape": host.shape}

    def get(self) -> np.ndarray:
        self.gets += 1
        return self._host


def _echo(request: pb.PredictRequest) -> pb.PredictReply:
    return pb.PredictReply(
        instances=[pb.Instance(items={"y": inst.items["x"]}) for inst in request.instances]
    )


@pytest.fixture
def echo_server() -> Iterator[FakePredictServer]:
    with FakePredictServer(_echo) as fake:
        yield fake.start()


def test_device_arrays_are_copied_to_host_once(echo_server: FakePredictServer) -> None:
    device = HostBackedDeviceArray(np.array([[1, -2]], ">i2"))
    with Client(echo_server.address, "s", "m", timeout=WAIT_S) as client:
        result = client.infer({"x": device})
    assert device.gets == 1
    tensor = echo_server.last_request().instances[0].items["x"]
    assert (tensor.dtype, list(tensor.shape.dims), tensor.data) == (
        pb.MS_INT16,
        [1, 2],
        b"\x01\x00\xfe\xff",
    )
    assert isinstance(result, list) and result[0]["y"].tolist() == [[1, -2]]


@pytest.mark.skipif(gpu_problem() is None, reason="a working GPU is present")
def test_cupy_outputs_without_a_gpu_fail_at_construction() -> None:
    with pytest.raises(GPUUnavailableError, match="outputs='cupy' needs a working CuPy GPU"):
        Client("127.0.0.1:1", "s", "m", outputs="cupy")


def test_cupy_inputs_go_out_like_numpy(echo_server: FakePredictServer, device: Device) -> None:
    cupy = device.xp  # the client itself never imports cupy
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    on_device = cupy.asarray(host)
    with Client(echo_server.address, "s", "m", timeout=WAIT_S) as client:
        client.infer({"x": on_device})
    assert echo_server.last_request().instances[0].items["x"] == value_to_tensor(host)
    if device.transfers is not None:  # the test's upload; the client's one copy back
        assert device.counts() == (1, 1)


def test_cupy_outputs(echo_server: FakePredictServer, device: Device) -> None:
    cupy = device.xp
    host = np.arange(6, dtype=np.float64).reshape(3, 2)
    with Client(echo_server.address, "s", "m", timeout=WAIT_S, outputs="cupy") as client:
        result = client.infer([{"x": host}, {"x": "text"}, {"x": np.float16(1.5)}])
    if device.transfers is not None:  # one copy up per numeric output, none for text
        assert device.counts() == (2, 0)
    assert isinstance(result, list)
    assert isinstance(result[0]["y"], cupy.ndarray)
    assert result[0]["y"].dtype == np.float64 and result[0]["y"].shape == (3, 2)
    assert np.array_equal(cupy.asnumpy(result[0]["y"]), host)
    assert result[1]["y"] == "text"  # text stays a str
    assert isinstance(result[2]["y"], cupy.ndarray) and result[2]["y"].shape == ()
