"""ResNet-50 v1.5 inference on an array backend: folded weights, forward pass, top-1 and top-k.

v1.5 puts the stride of a downsampling bottleneck on its 3x3 convolution (torchvision's
layout); the shortcut is a strided 1x1 convolution + batch norm. Weights are folded on the host
once (``fold_resnet50``) and then copied to a backend's device once (``ResNet50.on``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from reference_server.backend import NUMPY_BACKEND, ArrayBackend

from .layers import Conv, conv2d, fold_batch_norm, gemm_conv, global_avg_pool, max_pool_3x3_s2
from .weights import STAGES, StateDict, check_state_dict


@dataclass(frozen=True)
class Bottleneck:
    conv1: Conv
    conv2: Conv
    conv3: Conv
    downsample: Conv | None

    def moved(self, to_device: Any) -> Bottleneck:
        down = None if self.downsample is None else self.downsample.moved(to_device)
        return Bottleneck(
            self.conv1.moved(to_device),
            self.conv2.moved(to_device),
            self.conv3.moved(to_device),
            down,
        )


def bottleneck(xp: ModuleType, x: Any, block: Bottleneck) -> Any:
    """relu(conv3(conv2(conv1(x))) + shortcut(x)), each conv with its folded batch norm."""
    shortcut = x if block.downsample is None else conv2d(xp, x, block.downsample, relu=False)
    y = conv2d(xp, x, block.conv1, relu=True)
    y = conv2d(xp, y, block.conv2, relu=True)
    return conv2d(xp, y, block.conv3, relu=True, residual=shortcut)


@dataclass(frozen=True)
class ResNet50:
    """Folded parameters living on one backend (``backend.xp`` arrays)."""

    backend: ArrayBackend
    stem: Conv
    blocks: tuple[Bottleneck, ...]
    fc_weight: Any  # (2048, 1000)
    fc_bias: Any  # (1000,)

    def on(self, backend: ArrayBackend) -> ResNet50:
        """The same model on ``backend``: one host-to-device copy of every parameter."""
        if backend.name == self.backend.name:
            return self
        move = backend.to_device
        return ResNet50(
            backend,
            self.stem.moved(move),
            tuple(block.moved(move) for block in self.blocks),
            move(self.fc_weight),
            move(self.fc_bias),
        )

    def features(self, images: Any) -> Any:
        """(N, 224, 224, 3) normalised NHWC float32 -> (N, 2048) pooled features."""
        xp = self.backend.xp
        x = conv2d(xp, images, self.stem, relu=True)
        x = max_pool_3x3_s2(xp, x)
        for block in self.blocks:
            x = bottleneck(xp, x, block)
        return global_avg_pool(xp, x)

    def logits(self, images: Any) -> Any:
        """(N, 224, 224, 3) -> (N, 1000) class scores, on the backend's device."""
        scores = self.backend.xp.matmul(self.features(images), self.fc_weight)
        scores += self.fc_bias
        return scores

    def top1(self, images: Any) -> np.ndarray:
        """The index of the best class for each image, as a host int64 array."""
        best = self.backend.xp.argmax(self.logits(images), axis=1)
        return self.backend.to_host(best).astype(np.int64)

    def topk(self, images: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best classes of each image and their scores, best first, on the host.

        Returns (N, k) int64 class indices and (N, k) float32 scores (the logits: no softmax).
        Equal scores keep class order, so the first index is always top1's argmax.
        """
        return top_k(self.backend.to_host(self.logits(images)), k)


def top_k(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, C) host scores -> the (N, k) best indices (descending score, ties by index) and scores.

    The logits come to the host first (4 KB per image): a stable sort there gives the same tie
    order on every backend.
    """
    scores = np.asarray(logits, dtype=np.float32)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
    return order, np.take_along_axis(scores, order, axis=1)


def _folded(state: StateDict, conv: str, bn: str, stride: int, pad: int) -> Conv:
    weight, bias = fold_batch_norm(
        state[f"{conv}.weight"],
        state[f"{bn}.weight"],
        state[f"{bn}.bias"],
        state[f"{bn}.running_mean"],
        state[f"{bn}.running_var"],
    )
    return gemm_conv(weight, bias, stride, pad)


def fold_resnet50(state: StateDict) -> ResNet50:
    """A host (NumPy) model from a torchvision-named state dict, batch norm folded."""
    check_state_dict({n: a for n, a in state.items() if not n.endswith(".num_batches_tracked")})
    stem = _folded(state, "conv1", "bn1", stride=2, pad=3)
    blocks: list[Bottleneck] = []
    for stage, (count, _width, stride) in enumerate(STAGES, start=1):
        for index in range(count):
            p = f"layer{stage}.{index}"
            s = stride if index == 0 else 1
            down = None
            if index == 0:
                down = _folded(state, f"{p}.downsample.0", f"{p}.downsample.1", s, 0)
            blocks.append(
                Bottleneck(
                    _folded(state, f"{p}.conv1", f"{p}.bn1", 1, 0),
                    _folded(state, f"{p}.conv2", f"{p}.bn2", s, 1),
                    _folded(state, f"{p}.conv3", f"{p}.bn3", 1, 0),
                    down,
                )
            )
    fc_weight = np.ascontiguousarray(np.asarray(state["fc.weight"], np.float32).T)
    fc_bias = np.ascontiguousarray(state["fc.bias"], dtype=np.float32)
    return ResNet50(NUMPY_BACKEND, stem, tuple(blocks), fc_weight, fc_bias)


__all__ = ["Bottleneck", "ResNet50", "bottleneck", "fold_resnet50", "top_k"]
