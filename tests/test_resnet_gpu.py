"""The CuPy path and the CPU-side parts of scripts/gpu_resnet_check.py.

The CuPy tests take the ``device`` fixture: they run on the strict fake device everywhere (with
its transfers counted) and on real CuPy where a GPU works (``-m gpu``).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from support.devices import Device

from reference_client.arrays import is_device_array
from reference_server.backend import NUMPY_BACKEND
from reference_server.registry import InstanceError
from reference_server.servables.resnet50 import resnet50_servable
from reference_server.servables.resnet50.cache import seeded_host_model
from reference_server.servables.resnet50.layers import conv2d, gemm_conv, max_pool_3x3_s2
from reference_server.servables.resnet50.model import ResNet50
from reference_server.servables.resnet50.preprocess import preprocess
from reference_server.servables.resnet50.weights import EXPECTED_SHAPES

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "examples" / "test_image"


def parameter_count(model: ResNet50) -> int:
    """The model's arrays (weight and bias of every convolution, and of fc)."""
    convs = 1 + sum(3 + (block.downsample is not None) for block in model.blocks)
    return 2 * convs + 2


def test_cupy_layers_match_numpy(device: Device) -> None:
    gpu = device.backend
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 11, 5)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    conv = gemm_conv(w, rng.standard_normal(6).astype(np.float32), 2, 1)
    on_gpu = conv.moved(gpu.to_device)
    got = gpu.to_host(conv2d(gpu.xp, gpu.to_device(x), on_gpu, relu=True))
    np.testing.assert_allclose(got, conv2d(np, x, conv, relu=True), rtol=1e-5, atol=1e-5)
    pooled = gpu.to_host(max_pool_3x3_s2(gpu.xp, gpu.to_device(x)))
    np.testing.assert_array_equal(pooled, max_pool_3x3_s2(np, x))
    if device.transfers is not None:  # x twice, the conv's weight and bias; two results back
        assert device.counts() == (4, 2)


def test_cupy_model_matches_numpy_on_the_test_images(device: Device) -> None:
    gpu = device.backend
    host = seeded_host_model()
    on_device = host.on(gpu)
    assert is_device_array(on_device.stem.weight) and on_device.on(gpu) is on_device
    batch = np.stack([preprocess(p.read_bytes()) for p in sorted(IMAGES.iterdir())])
    ours = gpu.to_host(on_device.logits(gpu.to_device(batch)))
    reference = host.logits(batch)
    assert np.abs(ours - reference).max() / np.abs(reference).max() < 1e-4
    assert np.array_equal(ours.argmax(1), reference.argmax(1))
    if device.transfers is not None:  # every parameter once, the batch once, the logits back
        assert device.counts() == (parameter_count(host) + 1, 1)


def test_cupy_servable_answers_as_numpy(device: Device) -> None:
    run = resnet50_servable().versions[1]["classify_top1"].run
    batch = [{"image": p.read_bytes()} for p in sorted(IMAGES.iterdir())] + [{"image": b""}]
    on_gpu = run(batch, device.backend)
    if device.transfers is not None:  # the model built on first use; the two images as one batch
        assert device.counts() == (parameter_count(seeded_host_model()) + 1, 1)
        assert device.transfers.log[-2:] == [
            ("h2d", (2, 224, 224, 3), "float32"),
            ("d2h", (2,), "int64"),
        ]
    on_cpu = run(batch, NUMPY_BACKEND)
    assert on_gpu[:2] == on_cpu[:2]
    assert isinstance(on_gpu[2], InstanceError) and isinstance(on_cpu[2], InstanceError)
    assert on_gpu[2].message == on_cpu[2].message


# --- scripts/gpu_resnet_check.py: runs everywhere, checks only where it can ---


@pytest.fixture(scope="module")
def check() -> ModuleType:
    path = ROOT / "scripts" / "gpu_resnet_check.py"
    spec = importlib.util.spec_from_file_location("gpu_resnet_check", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_script_skips_cleanly_without_a_gpu(
    check: ModuleType, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = check.missing_gpu_stack()
    if problem is None:
        pytest.skip("this machine has the GPU stack: the script would run for real")
    report = tmp_path / "gpu.json"
    assert check.main(["--json", str(report)]) == 0
    assert capsys.readouterr().out == f"skipped: no GPU ({problem})\n"
    assert json.loads(report.read_text()) == {"skipped": problem}


def test_check_agreement_thresholds(check: ModuleType) -> None:
    reference = np.array([[1.0, 5.0, -2.0], [0.5, 0.1, 0.2]], np.float32)
    close = reference + np.float32(4e-3)  # 4e-3 / 5 = 8e-4 relative
    result = check.agreement(close, reference)
    assert result["passed"] and result["top1_equal"] and result["top1"] == [1, 0]
    assert result["relative"] == pytest.approx(8e-4, rel=1e-3)
    assert not check.agreement(reference + np.float32(6e-3), reference)["passed"]
    tie = np.array([[0.3, 5.0, 0.1], [3.0, 0.1, 2.9999]], np.float32)
    flipped = np.array([[0.3, 5.0, 0.1], [2.9999, 0.1, 3.0]], np.float32)
    result = check.agreement(flipped, tie)  # within tolerance, but another class wins
    assert result["relative"] < 1e-4
    assert not result["passed"] and not result["top1_equal"]


def test_check_throughput_and_batches(check: ModuleType) -> None:
    calls: list[int] = []
    rate = check.images_per_second(lambda: calls.append(1), 8, lambda: None, 0.05)
    assert len(calls) > 3 and rate > 0
    named = check.load_images(IMAGES)
    assert [name for name, _ in named] == ["chelsea.jpg", "coffee.png"]
    batch = check.host_batch([data for _, data in named], 5)
    assert batch.shape == (5, 224, 224, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0], batch[2])
    np.testing.assert_array_equal(batch[1], batch[3])


def test_check_builds_a_torchvision_state_dict(check: ModuleType) -> None:
    # torch.from_numpy stands in as np.asarray: only the naming and the counters are checked.
    torch = SimpleNamespace(from_numpy=np.asarray)
    state = {name: np.zeros(shape, np.float32) for name, shape in EXPECTED_SHAPES.items()}
    template = {"bn1.num_batches_tracked": np.array(0), "conv1.weight": "not used"}
    out = check.torch_state(state, torch, template)
    assert set(out) == set(EXPECTED_SHAPES) | {"bn1.num_batches_tracked"}
    assert out["conv1.weight"].shape == (64, 3, 7, 7)
