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

from reference_client import Client
from reference_server import ReferenceServer, kit_registry
from reference_server.cli import _start, build_parser
from reference_server.servables.resnet50 import servable as resnet_servable
from reference_server.servables.resnet50.cache import seeded_host_model
from reference_server.servables.resnet50.labels import imagenet_labels

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


def test_add_common_repeated_requests_cross_once_each_way(
    fake_device: Device, device_server: ReferenceServer
) -> None:
    x = np.arange(4, dtype=F32).reshape(2, 2)
    with Client(device_server.address, "add", "add_common", timeout=WAIT_S) as client:
        results = [client.infer({"x1": x, "x2": np.full((2, 2), k, F32)}) for k in range(3)]
    assert fake_device.transfers is not None
    one_call = [
        ("h2d", (2, 1, 2, 2), "float32"),  # both inputs of the call, stacked: one copy up
        ("d2h", (1, 2, 2), "float32"),  # the sums: one copy back
    ]
    assert fake_device.transfers.log == one_call * 3
    assert set(fake_device.transfers.kernels) == {"float32"}
    for k, result in enumerate(results):
        assert isinstance(result, list) and result[0]["y"].tolist() == (x + k).tolist()


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
    x = fakecupy.asarray(np.array([[1, -2]], ">i2"))  # big-endian host data, swapped on upload
    assert x.dtype == np.dtype("<i2")
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


def test_resnet50_every_method_within_its_device_budget(
    fake_device: Device, device_server: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three methods share one model: its parameters go up once, on the first call of any
    method; after that, every call sends its valid images up once per chunk and brings one
    result per chunk back (top-1: the class indices; top-5: the logits), and a call without a
    valid image copies nothing. Only float32 goes up, and only float32 (and top-1's int64
    indices) is computed on the device."""
    monkeypatch.setattr(resnet_servable, "MAX_BATCH", 1)  # two images: two chunks
    chelsea, coffee = ({"image": path.read_bytes()} for path in IMAGES)
    transfers = fake_device.transfers
    assert transfers is not None

    def call(method: str, instances: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
        before = len(transfers.log)
        with Client(device_server.address, "resnet50", method, timeout=60) as client:
            result = client.infer(instances)
        return result, transfers.log[before:]

    image = ("h2d", (1, 224, 224, 3), "float32")
    top1, first = call("classify_top1", [chelsea, coffee, {"image": b"not an image"}])
    parameters = _parameter_count()
    assert len(first) == parameters + 4  # the model, then two chunks
    assert all(direction == "h2d" for direction, _, _ in first[:parameters])
    assert first[parameters:] == [image, ("d2h", (1,), "int64")] * 2
    v1, second = call("classify_top1_v1", [chelsea])
    assert second == [image, ("d2h", (1,), "int64")]  # the parameters stay up
    top5, third = call("classify_top5", [coffee])
    assert third == [image, ("d2h", (1, 1000), "float32")]  # the logits, as one copy
    only_bad, fourth = call("classify_top5", [{"image": b"\x00"}])
    assert fourth == []
    assert {dtype for direction, _, dtype in transfers.log if direction == "h2d"} == {"float32"}
    assert set(transfers.kernels) == {"float32", "int64"}  # no float64 work on the device
    # The answers, read off each other: the same image gives the same best class everywhere.
    labels = imagenet_labels()
    assert isinstance(top1, list) and isinstance(v1, list) and isinstance(top5, list)
    assert all(r["label"] in labels for r in top1[:2])
    assert "cannot decode image" in top1[2]["error"]
    assert v1[0]["label"] == top1[0]["label"]
    best5 = top5[0]["label"].split(";")
    assert best5[0] == top1[1]["label"] and len(set(best5)) == 5
    score = top5[0]["score"]
    assert score.dtype == F32 and score.shape == (5,) and list(score) == sorted(score)[::-1]
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
