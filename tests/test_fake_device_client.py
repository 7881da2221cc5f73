"""The reference client's CuPy paths on the strict fake device: device inputs of every wire dtype
and layout, and ``outputs="cupy"`` for every reply shape, through infer and infer_async, against
an independent Predict server; transfers counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from client_support import WAIT_S, FakePredictServer
from support import fakecupy
from support.devices import Device, ForeignDeviceArray

from protos import codec
from protos import ms_service_pb2 as pb
from reference_client import Client
from reference_client.values import value_to_tensor

NUMERIC = [dt.numpy for dt in codec.BY_CODE.values() if dt.numpy is not None]


def _echo(request: pb.PredictRequest) -> pb.PredictReply:
    return pb.PredictReply(instances=[pb.Instance(items=inst.items) for inst in request.instances])


@pytest.fixture
def echo_server() -> Iterator[FakePredictServer]:
    with FakePredictServer(_echo) as fake:
        yield fake.start()


def _uploaded(device: Device, host: np.ndarray) -> Any:
    """``host`` on the fake device, the upload left out of the test's counts."""
    on_device = fakecupy.asarray(host)
    assert device.transfers is not None
    device.transfers.reset()
    return on_device


@pytest.mark.parametrize("dtype", NUMERIC, ids=[np.dtype(d).name for d in NUMERIC])
def test_device_inputs_of_every_wire_dtype(
    fake_device: Device, echo_server: FakePredictServer, dtype: Any
) -> None:
    host = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    inputs = {
        "whole": _uploaded(fake_device, host),
        "transposed": fakecupy.asarray(host).T,  # not C-contiguous on the device
        "strided": fakecupy.asarray(host)[:, ::2],
        "scalar": fakecupy.asarray(host)[1, 1],  # 0-d: dims []
    }
    expected = {"whole": host, "transposed": host.T, "strided": host[:, ::2], "scalar": host[1, 1]}
    assert fake_device.transfers is not None
    fake_device.transfers.reset()
    with Client(echo_server.address, "s", "m", timeout=WAIT_S) as client:
        result = client.infer({**inputs, "text": "t", "blob": b"b", "number": 3})
    assert fake_device.counts() == (0, 4)  # one copy to the host per device value, none back
    sent = echo_server.last_request().instances[0].items
    for name, host_value in expected.items():
        assert sent[name] == value_to_tensor(np.asarray(host_value)), name
    assert list(sent["scalar"].shape.dims) == []
    assert isinstance(result, list) and result[0]["text"] == "t" and result[0]["blob"] == b"b"


@pytest.mark.parametrize("dtype", NUMERIC, ids=[np.dtype(d).name for d in NUMERIC])
def test_cupy_outputs_of_every_wire_dtype(
    fake_device: Device, echo_server: FakePredictServer, dtype: Any
) -> None:
    host = (np.arange(6) % 2).astype(dtype).reshape(2, 3)
    instances = [{"y": host, "zero_d": host[1, 2]}, {"y": host[:1], "text": "a"}]
    with Client(echo_server.address, "s", "m", timeout=WAIT_S, outputs="cupy") as client:
        results = [client.infer(instances), client.infer_async(instances).result()]
    assert fake_device.counts() == (6, 0)  # one copy up per numeric output, per call
    for result in results:
        assert isinstance(result, list)
        for got in (result[0]["y"], result[0]["zero_d"], result[1]["y"]):
            assert isinstance(got, fakecupy.ndarray) and got.dtype == np.dtype(dtype)
        assert result[0]["zero_d"].shape == ()
        assert fakecupy.asnumpy(result[0]["y"]).tolist() == host.tolist()
        assert result[1]["text"] == "a"  # text stays a host str


def test_cupy_outputs_copy_nothing_for_errors(fake_device: Device) -> None:
    failed_request = pb.PredictReply(error_msg=[pb.ErrorMsg(error_code=1, error_msg=b"bad")])
    with (
        FakePredictServer(failed_request) as fake,
        Client(fake.start().address, "s", "m", timeout=WAIT_S, outputs="cupy") as client,
    ):
        assert client.infer({"x": 1}) == {"error": "bad"}
    assert fake_device.counts() == (0, 0)


def test_other_libraries_device_arrays_go_out_through_cupy(
    fake_device: Device, echo_server: FakePredictServer
) -> None:
    host = np.arange(6, dtype=np.int32).reshape(2, 3)
    foreign = ForeignDeviceArray(_uploaded(fake_device, host).T)  # no get(): cupy.asnumpy
    with Client(echo_server.address, "s", "m", timeout=WAIT_S) as client:
        client.infer({"x": foreign})
    assert echo_server.last_request().instances[0].items["x"] == value_to_tensor(host.T)
    assert fake_device.counts() == (0, 1)
