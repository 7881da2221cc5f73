"""The server's CuPy path on the strict fake device, over real gRPC: every kit servable, with the
reference client sending device arrays and asking for device outputs, transfers counted.

Every request here shares the process with its server, so the counts add up both sides: the
client's copies of its device inputs to the host and of numeric outputs to the device, and the
server's one copy each way per batch (per shape for ``add_cast``; per chunk for resnet50).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from client_support import WAIT_S
from support import fakecupy
from support.devices import Device

from protos.labels import imagenet_labels
from reference_client import Client
from reference_server import ReferenceServer, kit_registry
from reference_server.cli import _start, build_parser
from reference_server.servables.resnet50 import servable as resnet_servable
from reference_server.servables.resnet50.model import seeded_host_model

IMAGES = sorted((Path(__file__).resolve().parent.parent / "examples" / "test_image").iterdir())
F32 = np.float32
StartServer = Callable[..., ReferenceServer]


def _parameter_count() -> int:
    model = seeded_host_model()
    return 2 * (1 + sum(3 + (b.downsample is not None) for b in model.blocks)) + 2


@pytest.fixture
def device_server(fake_device: Device, start_server: StartServer) -> ReferenceServer:
    return start_server(kit_registry(fake_device.backend))


def test_add_common_device_in_device_out(
    fake_device: Device, device_server: ReferenceServer
) -> None:
    rng = np.random.default_rng(5)
    hosts = [{"x1": rng.random((2, 2), F32), "x2": rng.random((2, 2), F32)} for _ in range(3)]
    hosts[1]["x2"] = np.array([[np.inf, -np.inf], [np.nan, -0.0]], F32)
    on_device = [{name: fakecupy.asarray(x) for name, x in host.items()} for host in hosts]
    assert fake_device.transfers is not None
    fake_device.transfers.reset()
    with Client(device_server.address, "add", "add_common", timeout=WAIT_S, outputs="cupy") as c:
        result = c.infer(on_device)
    # client: 6 inputs to the host; server: the batch up once, the sums down once;
    # client: 3 outputs up.
    assert fake_device.counts() == (1 + 3, 6 + 1)
    assert ("h2d", (2, 3, 2, 2), "float32") in fake_device.transfers.log
    assert ("d2h", (3, 2, 2), "float32") in fake_device.transfers.log
    assert isinstance(result, list) and len(result) == 3
    for host, outputs in zip(hosts, result, strict=True):
        y = outputs["y"]
        assert isinstance(y, fakecupy.ndarray) and y.dtype == F32 and y.shape == (2, 2)
        np.testing.assert_array_equal(fakecupy.asnumpy(y), host["x1"] + host["x2"])


def test_add_cast_crosses_once_per_shape(
    fake_device: Device, device_server: ReferenceServer
) -> None:
    instances = [
        {"x1": np.ones(3, np.int8), "x2": np.full(3, 1e40)},  # float64 -> float32: inf
        {"x1": np.ones((2, 2), np.uint16), "x2": np.ones((2, 2), np.bool_)},
        {"x1": np.arange(3, dtype=np.int64), "x2": np.ones(3, np.float16)},
        {"x1": np.ones(3, np.int8), "x2": np.ones(2, np.int8)},  # fails alone, never copied
    ]
    with Client(device_server.address, "add", "add_cast", timeout=WAIT_S) as client:
        result = client.infer(instances)
    assert fake_device.counts() == (2, 2)
    assert isinstance(result, list)
    assert [r["y"].tolist() for r in result[:3]] == [[np.inf] * 3, [[2, 2], [2, 2]], [1, 2, 3]]
    assert "same shape" in result[3]["error"]


def test_conformance_never_touches_the_device(
    fake_device: Device, device_server: ReferenceServer
) -> None:
    x = fakecupy.asarray(np.array([[1, -2]], ">i2"))  # big-endian on the device
    assert fake_device.transfers is not None
    fake_device.transfers.reset()
    with Client(
        device_server.address, "conformance", "echo", 2, timeout=WAIT_S, outputs="cupy"
    ) as c:
        echoed = c.infer({"x": x})
    with Client(device_server.address, "conformance", "fail", timeout=WAIT_S) as c:
        failed = c.infer([{"x": x, "error": "bad"}, {"x": x, "error": ""}])
    # Wire tensors in, wire tensors out: only the client's own copies (3 inputs, 2 outputs up).
    assert fake_device.counts() == (2, 3)
    assert isinstance(echoed, list) and isinstance(failed, list)
    assert fakecupy.asnumpy(echoed[0]["y"]).tolist() == [[1, -2]]
    assert int(echoed[0]["version"]) == 2
    assert failed[0]["error"].endswith("error msg: bad")
    assert failed[1]["y"].tolist() == [[1, -2]]


def test_resnet50_one_copy_per_chunk(
    fake_device: Device, device_server: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resnet_servable, "MAX_BATCH", 1)  # two images: two chunks
    images = [{"image": path.read_bytes()} for path in IMAGES]
    with Client(device_server.address, "resnet50", "classify_top1", timeout=60) as client:
        result = client.infer([*images, {"image": b"not an image"}])
        built = fake_device.counts()
        only_bad = client.infer({"image": b"\x00"})
    # The model's parameters once, on first use; then each chunk up once, its labels down once.
    assert built == (_parameter_count() + 2, 2)
    assert fake_device.counts() == built  # a request with no valid image copies nothing
    assert fake_device.transfers is not None
    assert [e for e in fake_device.transfers.log if e[1] == (1, 224, 224, 3)] == [
        ("h2d", (1, 224, 224, 3), "float32")
    ] * 2
    # The labels equal NumPy's: test_resnet_gpu.py::test_cupy_servable_answers_as_numpy.
    assert isinstance(result, list)
    assert all(r["label"] in imagenet_labels() for r in result[:2])
    assert "cannot decode image" in result[2]["error"]
    assert isinstance(only_bad, dict) and "cannot decode image" in only_bad["error"]


@pytest.mark.parametrize("device_flag", ["gpu", "auto"])
def test_cli_device_flag_selects_the_device(fake_device: Device, device_flag: str) -> None:
    args = build_parser().parse_args(["--address", "127.0.0.1:0", "--device", device_flag])
    server, backend = _start(args, None)
    try:
        assert (backend.name, backend.xp) == ("cupy", fakecupy)
        x: Any = np.eye(2, dtype=F32)
        with Client(server.address, "add", "add_common", timeout=WAIT_S) as client:
            result = client.infer({"x1": x, "x2": x})
    finally:
        server.stop(grace=1.0)
    assert fake_device.counts() == (1, 1)  # the servables compute on the selected device
    assert isinstance(result, list) and result[0]["y"].tolist() == [[2, 0], [0, 2]]


def test_bench_device_helpers_stay_on_the_device(fake_device: Device) -> None:
    path = Path(__file__).resolve().parent.parent / "bench" / "bench_resnet.py"
    spec = importlib.util.spec_from_file_location("bench_resnet", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.same_gemms(fake_device.xp, [(4, 3, 2), (4, 3, 2), (1, 2, 5)])()
    bench.flat_matmul(fake_device.xp, 4 * 1024 * 1024)()
    bench.best_seconds(lambda: None, 1, bench._sync(fake_device.backend))
    assert fake_device.counts() == (0, 0)  # operands made and multiplied on the device
