#!/usr/bin/env python3
"""Convert a torchvision ResNet-50 checkpoint into the .npz that ``--resnet-weights`` loads.

    python scripts/convert_resnet_weights.py resnet50-0676ba61.pth resnet50.npz
    python scripts/convert_resnet_weights.py --torchvision resnet50.npz

The first form reads a local state_dict file (``torch.save(model.state_dict(), ...)``, or a
checkpoint dict holding one under "state_dict" or "model"; a DataParallel "module." prefix is
stripped). The second asks torchvision for ``resnet50(weights="IMAGENET1K_V1")``, which needs
the network or torch's hub cache (~/.cache/torch/hub/checkpoints/). The output holds one
float32 array per torchvision state_dict name; ``num_batches_tracked`` is dropped. PyTorch is
needed only here, imported when the script runs.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reference_server.servables.resnet50.weights import (
    IGNORED_SUFFIX,
    check_state_dict,
    validate_weights_file,
)

TORCH_MISSING = "needs PyTorch to read a checkpoint (pip install torch torchvision)"


def state_dict_to_arrays(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """torchvision-named tensors (or arrays) -> float32 numpy arrays, checked against the table."""
    for wrapper in ("state_dict", "model"):
        inner = state.get(wrapper)
        if isinstance(inner, Mapping):
            state = inner
    arrays: dict[str, np.ndarray] = {}
    for name, value in state.items():
        key = name.removeprefix("module.")
        if key.endswith(IGNORED_SUFFIX):
            continue
        if hasattr(value, "detach"):  # a torch.Tensor
            value = value.detach().cpu().float().numpy()
        arrays[key] = np.ascontiguousarray(value, dtype=np.float32)
    check_state_dict(arrays)
    return arrays


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError(f"{TORCH_MISSING}: {exc}") from exc
    return torch


def read_checkpoint(path: pathlib.Path) -> Mapping[str, Any]:
    torch = _torch()
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path} holds a {type(loaded).__name__}, not a state_dict")
    return loaded


def torchvision_state() -> Mapping[str, Any]:
    _torch()
    try:
        import torchvision
    except ImportError as exc:
        raise RuntimeError(f"--torchvision needs torchvision: {exc}") from exc
    return torchvision.models.resnet50(weights="IMAGENET1K_V1").state_dict()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=pathlib.Path, help="a .pth state_dict")
    parser.add_argument("output", type=pathlib.Path, help="the .npz to write")
    parser.add_argument(
        "--torchvision",
        action="store_true",
        help='take torchvision.models.resnet50(weights="IMAGENET1K_V1") instead of a file',
    )
    args = parser.parse_args(argv)
    if (args.checkpoint is None) == (not args.torchvision):
        parser.error("give either a checkpoint file or --torchvision, not both or neither")
    try:
        state = torchvision_state() if args.torchvision else read_checkpoint(args.checkpoint)
        arrays = state_dict_to_arrays(state)
        with args.output.open("wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        validate_weights_file(args.output)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"convert_resnet_weights: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"wrote {len(arrays)} arrays to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
