#!/usr/bin/env python3
"""On a GPU machine: check the CuPy ResNet-50 against torchvision's and time both.

    python scripts/gpu_resnet_check.py --json gpu_resnet.json [--weights resnet50.npz]

1. Weights: the seeded initialisation (default) or a converted .npz, loaded into our model
   and, as a state_dict, into ``torchvision.models.resnet50()``.
2. Preprocessing: ours vs torchvision.transforms (Resize 256, CenterCrop 224, ToTensor,
   Normalize) on the test images.
3. Logits on the same preprocessed batch: CuPy vs torchvision (CUDA fp32, TF32 off) and CuPy vs
   NumPy: max |difference| / max |reference| must be <= 1e-3 and the top-1 classes equal.
4. images/s at batch 1, 8, 32: our CuPy forward vs torchvision fp32 eager, input already on the
   device, each timed for about ``--seconds`` after warm-up.

Without CuPy, a GPU, torch or torchvision it prints "skipped: no GPU (...)" and exits 0. Exit 1
if an agreement check fails.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from reference_client.arrays import gpu_problem
from reference_server.backend import NUMPY_BACKEND, select_backend
from reference_server.servables.resnet50.labels import imagenet_labels
from reference_server.servables.resnet50.model import fold_resnet50
from reference_server.servables.resnet50.preprocess import MEAN, STD, preprocess
from reference_server.servables.resnet50.weights import load_weights_file, seeded_state_dict

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = ROOT / "examples" / "test_image"
RELATIVE_TOLERANCE = 1e-3
BATCHES = (1, 8, 32)


def missing_gpu_stack() -> str | None:
    """Why this machine cannot run the check (one line), or None."""
    problem = gpu_problem()
    if problem is not None:
        return f"CuPy: {problem}"
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError as exc:
        return f"torch/torchvision: {exc}"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    return None


def load_images(folder: pathlib.Path) -> list[tuple[str, bytes]]:
    """(file name, encoded bytes) of every file in ``folder``, sorted by name."""
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


def host_batch(images: Sequence[bytes], size: int) -> np.ndarray:
    """(size, 224, 224, 3) float32: the preprocessed images repeated to ``size``."""
    decoded = [preprocess(data) for data in images]
    return np.stack([decoded[i % len(decoded)] for i in range(size)])


def agreement(ours: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """How far two (N, 1000) logit arrays are apart, and whether that passes."""
    ours64, ref64 = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    max_abs = float(np.max(np.abs(ours64 - ref64)))
    scale = float(np.max(np.abs(ref64))) or 1.0
    top1_ours = np.argmax(ours64, axis=1)
    same_top1 = bool(np.array_equal(top1_ours, np.argmax(ref64, axis=1)))
    return {
        "max_abs_diff": max_abs,
        "relative": max_abs / scale,
        "top1_equal": same_top1,
        "top1": top1_ours.tolist(),
        "passed": max_abs / scale <= RELATIVE_TOLERANCE and same_top1,
    }


def images_per_second(
    run: Callable[[], object], batch: int, sync: Callable[[], object], seconds: float
) -> float:
    """Throughput of ``run`` (one batch per call): 3 warm-up calls, then calls for ``seconds``."""
    for _ in range(3):
        run()
    sync()
    calls = 0
    start = time.perf_counter()
    while True:
        run()
        calls += 1
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * batch / elapsed


def torch_state(state: Mapping[str, np.ndarray], torch: Any, template: Mapping[str, Any]) -> dict:
    """Our arrays as a torchvision state_dict (num_batches_tracked taken from ``template``)."""
    out = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in state.items()}
    for name, value in template.items():
        out.setdefault(name, value)
    return out


def torch_preprocess_diff(images: Sequence[bytes], torch: Any) -> float:
    """max |ours - torchvision.transforms| over the images (same PIL decode)."""
    import io

    from PIL import Image
    from torchvision import transforms

    pipeline = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(MEAN.tolist(), STD.tolist()),
        ]
    )
    worst = 0.0
    for data in images:
        theirs = pipeline(Image.open(io.BytesIO(data)).convert("RGB")).numpy().transpose(1, 2, 0)
        worst = max(worst, float(np.max(np.abs(preprocess(data) - theirs))))
    return worst


def run_check(weights: pathlib.Path | None, folder: pathlib.Path, seconds: float) -> dict:
    import cupy
    import torch
    import torchvision

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    state = seeded_state_dict() if weights is None else load_weights_file(weights)
    named = load_images(folder)
    images = [data for _, data in named]
    host_model = fold_resnet50(state)
    gpu = select_backend("gpu")
    gpu_model = host_model.on(gpu)
    net = torchvision.models.resnet50(weights=None)
    net.load_state_dict(torch_state(state, torch, net.state_dict()), strict=True)
    net = net.eval().cuda()

    batch = host_batch(images, len(images))
    with torch.no_grad():
        theirs = net(torch.from_numpy(batch.transpose(0, 3, 1, 2).copy()).cuda()).cpu().numpy()
    ours_gpu = gpu.to_host(gpu_model.logits(gpu.to_device(batch)))
    ours_cpu = NUMPY_BACKEND.to_host(host_model.logits(batch))
    labels = imagenet_labels()
    report: dict[str, Any] = {
        "weights": str(weights) if weights else "seeded",
        "images": [name for name, _ in named],
        "device": _text(cupy.cuda.runtime.getDeviceProperties(0)["name"]),
        "torch": torch.__version__,
        "cupy": cupy.__version__,
        "preprocess_max_abs_diff_vs_torchvision": torch_preprocess_diff(images, torch),
        "cupy_vs_torchvision": agreement(ours_gpu, theirs),
        "cupy_vs_numpy": agreement(ours_gpu, ours_cpu),
        "labels": [labels[i] for i in np.argmax(ours_gpu, axis=1)],
        "images_per_s": {},
    }

    def cupy_sync() -> None:
        cupy.cuda.Device().synchronize()

    for size in BATCHES:
        host = host_batch(images, size)
        on_gpu = gpu.to_device(host)
        on_torch = torch.from_numpy(host.transpose(0, 3, 1, 2).copy()).cuda()

        def ours(x: Any = on_gpu) -> object:
            return gpu_model.logits(x)

        def torch_run(x: Any = on_torch) -> object:
            with torch.no_grad():
                return net(x)

        report["images_per_s"][str(size)] = {
            "cupy": images_per_second(ours, size, cupy_sync, seconds),
            "torchvision_fp32_eager": images_per_second(
                torch_run, size, torch.cuda.synchronize, seconds
            ),
        }
    return report


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=pathlib.Path, help="converted .npz (default: seeded)")
    parser.add_argument("--images", type=pathlib.Path, default=DEFAULT_IMAGES)
    parser.add_argument("--json", type=pathlib.Path, help="write the figures here")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    args = parser.parse_args(argv)
    problem = missing_gpu_stack()
    if problem is not None:
        report: dict[str, Any] = {"skipped": problem}
        print(f"skipped: no GPU ({problem})")
    else:
        report = run_check(args.weights, args.images, args.seconds)
        print(json.dumps(report, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if problem is not None:
        return 0
    passed = report["cupy_vs_torchvision"]["passed"] and report["cupy_vs_numpy"]["passed"]
    print("PASSED" if passed else "FAILED: logits disagree beyond 1e-3 or top-1 differs")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
