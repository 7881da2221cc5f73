#!/usr/bin/env python3
"""ResNet-50 forward speed on the NumPy path (and CuPy when a GPU works), against floors
measured in the same run.

    python bench/bench_resnet.py [--batches 1 8] [--repeats 3] [--json FILE]

For each batch size it prints milliseconds per image for
* ``model``: our forward pass (im2col + GEMM, folded batch norm), NHWC float32;
* ``same_gemms``: only the GEMMs the forward pass performs, on ready-made contiguous operands
  (the floor for our algorithm: everything above it is im2col, padding, bias, ReLU, pooling);
* ``flat_matmul``: one plain matmul with the same multiply-adds (the machine's BLAS floor);
and the ratios model/same_gemms and model/flat_matmul. Then ``preprocess`` per image (decode,
resize, crop, normalise the test images) and the servable end to end at the largest batch.

``--torch`` adds issue 12's row: our NumPy forward pass against PyTorch on the CPU
(torchvision's resnet50, channels_last, the same seeded weights, ``torch.set_num_threads(2)``;
run with ``OPENBLAS_NUM_THREADS=2`` for the same thread count on our side), batch 8, in
alternating rounds, with the top-1 of both compared. Without torch and torchvision installed it
prints ``torch: skipped (...)`` and goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from reference_client.arrays import gpu_problem
from reference_server.backend import NUMPY_BACKEND, ArrayBackend, select_backend
from reference_server.servables.resnet50 import resnet50_servable
from reference_server.servables.resnet50.cache import seeded_host_model
from reference_server.servables.resnet50.layers import Conv
from reference_server.servables.resnet50.model import ResNet50
from reference_server.servables.resnet50.preprocess import preprocess
from reference_server.servables.resnet50.weights import seeded_state_dict

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "examples" / "test_image"
Shape = tuple[int, int, int]


def _out(size: int, conv: Conv) -> int:
    return (size + 2 * conv.pad - conv.kernel) // conv.stride + 1


def gemm_shapes(model: ResNet50, batch: int, size: int = 224) -> list[Shape]:
    """(M, K, N) of every GEMM in one forward pass of ``batch`` images."""
    shapes: list[Shape] = []

    def conv(conv: Conv, side: int) -> int:
        out = _out(side, conv)
        k, n = conv.weight.shape
        shapes.append((batch * out * out, k, n))
        return out

    side = conv(model.stem, size)
    side = (side + 2 - 3) // 2 + 1  # max pool 3x3 s2 p1
    for block in model.blocks:
        if block.downsample is not None:
            conv(block.downsample, side)
        inner = conv(block.conv1, side)
        inner = conv(block.conv2, inner)
        side = conv(block.conv3, inner)
    shapes.append((batch, *model.fc_weight.shape))
    return shapes


def best_seconds(run: Callable[[], object], repeats: int, sync: Callable[[], object]) -> float:
    run()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def same_gemms(xp: ModuleType, shapes: Sequence[Shape]) -> Callable[[], None]:
    """A function running exactly these GEMMs on contiguous float32 operands."""
    operands: dict[Shape, tuple[Any, Any]] = {}
    for m, k, n in set(shapes):
        operands[(m, k, n)] = (xp.full((m, k), 0.01, xp.float32), xp.full((k, n), 0.01, xp.float32))

    def run() -> None:
        for shape in shapes:
            a, b = operands[shape]
            xp.matmul(a, b)

    return run


def flat_matmul(xp: ModuleType, macs: int) -> Callable[[], None]:
    """One (M, 1024) @ (1024, 1024) float32 matmul with about ``macs`` multiply-adds."""
    rows = max(1, round(macs / (1024 * 1024)))
    a = xp.full((rows, 1024), 0.01, xp.float32)
    b = xp.full((1024, 1024), 0.01, xp.float32)
    return lambda: xp.matmul(a, b)


def measure(backend: ArrayBackend, batch: int, repeats: int, size: int = 224) -> dict[str, float]:
    """One row of the table; ``size`` (image side) below 224 only for tests."""
    xp = backend.xp
    model = seeded_host_model().on(backend)
    images = backend.to_device(
        np.random.default_rng(0).standard_normal((batch, size, size, 3), dtype=np.float32)
    )
    shapes = gemm_shapes(model, batch, size)
    macs = sum(m * k * n for m, k, n in shapes)
    sync = _sync(backend)
    seconds = {
        "model": best_seconds(lambda: model.logits(images), repeats, sync),
        "same_gemms": best_seconds(same_gemms(xp, shapes), repeats, sync),
        "flat_matmul": best_seconds(flat_matmul(xp, macs), repeats, sync),
    }
    row = {f"{name}_ms_per_image": 1000 * s / batch for name, s in seconds.items()}
    row["gflops_model"] = 2 * macs / seconds["model"] / 1e9
    row["ratio_model_to_same_gemms"] = seconds["model"] / seconds["same_gemms"]
    row["ratio_model_to_flat_matmul"] = seconds["model"] / seconds["flat_matmul"]
    return row


def _sync(backend: ArrayBackend) -> Callable[[], object]:
    if backend.name == "cupy":
        return backend.xp.cuda.Device().synchronize
    return lambda: None


def end_to_end(backend: ArrayBackend, batch: int, repeats: int) -> dict[str, float]:
    images = [p.read_bytes() for p in sorted(IMAGES.iterdir()) if p.is_file()]
    instances = [{"image": images[i % len(images)]} for i in range(batch)]
    run = resnet50_servable().versions[1]["classify_top1"].run
    pre = best_seconds(lambda: [preprocess(d) for d in images], repeats, lambda: None)
    total = best_seconds(lambda: run(instances, backend), repeats, _sync(backend))
    return {
        "preprocess_ms_per_image": 1000 * pre / len(images),
        f"servable_ms_per_image_batch{batch}": 1000 * total / batch,
    }


def torch_row(batch: int, threads: int, rounds: int) -> dict[str, Any] | str:
    """Ours vs torchvision's resnet50 on the CPU, same weights; a reason string if skipped."""
    try:
        import torch
        import torchvision
    except ImportError as exc:
        print(f"torch: skipped ({exc})")
        return f"skipped: {exc}"
    torch.set_num_threads(threads)
    state = seeded_state_dict()
    net = torchvision.models.resnet50(weights=None)
    template = net.state_dict()
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in state.items()}
    for name, value in template.items():  # num_batches_tracked: not ours, not used
        tensors.setdefault(name, value)
    net.load_state_dict(tensors, strict=True)
    net = net.eval().to(memory_format=torch.channels_last)
    model = seeded_host_model()
    nhwc = np.random.default_rng(0).standard_normal((batch, 224, 224, 3), dtype=np.float32)
    nchw = torch.from_numpy(nhwc).permute(0, 3, 1, 2)  # channels_last memory, NCHW view

    def theirs() -> Any:
        with torch.inference_mode():
            return net(nchw)

    ours_top1 = np.argmax(model.logits(nhwc), axis=1)
    theirs_top1 = theirs().argmax(dim=1).numpy()
    times: dict[str, list[float]] = {"numpy": [], "torch": []}
    sides: list[tuple[str, Callable[[], object]]] = [
        ("numpy", lambda: model.logits(nhwc)),
        ("torch", theirs),
    ]
    for index in range(max(2, rounds)):
        for name, run in sides if index % 2 == 0 else sides[::-1]:  # ABBA
            times[name].append(best_seconds(run, 1, lambda: None))
    ours_s, theirs_s = (min(times[name]) for name in ("numpy", "torch"))
    row = {
        "batch": batch,
        "threads": threads,
        "torch": torch.__version__,
        "numpy_ms_per_image": 1000 * ours_s / batch,
        "torch_ms_per_image": 1000 * theirs_s / batch,
        "numpy_over_torch": ours_s / theirs_s,
        "same_top1": bool(np.array_equal(ours_top1, theirs_top1)),
    }
    print(f"torch cpu batch {batch}, {threads} threads: {row}")
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--gpu-batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--torch", action="store_true", help="compare with PyTorch on the CPU")
    parser.add_argument("--torch-batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "numpy_path": {},
    }
    for batch in args.batches:
        report["numpy_path"][str(batch)] = row = measure(NUMPY_BACKEND, batch, args.repeats)
        _print("numpy", batch, row)
    report["numpy_end_to_end"] = end_to_end(NUMPY_BACKEND, max(args.batches), args.repeats)
    print("numpy end to end:", _fmt(report["numpy_end_to_end"]))
    problem = gpu_problem()
    if problem is None:
        gpu = select_backend("gpu")
        report["cupy_path"] = {}
        for batch in args.gpu_batches:
            report["cupy_path"][str(batch)] = row = measure(gpu, batch, args.repeats)
            _print("cupy", batch, row)
    else:
        report["cupy_path"] = f"not run: {problem}"
        print(f"cupy: not run ({problem})")
    if args.torch:
        report["torch_cpu"] = torch_row(args.torch_batch, args.threads, args.repeats)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _fmt(row: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.2f}" for key, value in row.items())


def _print(path: str, batch: int, row: dict[str, float]) -> None:
    print(f"{path} batch {batch}: {_fmt(row)}")


if __name__ == "__main__":
    sys.exit(main())
