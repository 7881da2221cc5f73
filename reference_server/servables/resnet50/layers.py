"""The layers of ResNet-50 on an array namespace ``xp`` (numpy or cupy), NHWC float32.

A convolution is one GEMM: the padded input is viewed as sliding windows with ``as_strided``
(no copy), flattened into an im2col matrix (one copy), and multiplied by the (kh*kw*Cin, Cout)
weight matrix; the result is already NHWC. Batch norm is folded into the weights beforehand
(``fold_batch_norm``), so inference needs only GEMM + bias + ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

BN_EPS = 1e-5


@dataclass(frozen=True)
class Conv:
    """A convolution with batch norm folded in: ``weight`` is (kernel*kernel*Cin, Cout)."""

    weight: Any
    bias: Any
    kernel: int
    stride: int
    pad: int

    def moved(self, to_device: Any) -> Conv:
        return Conv(
            to_device(self.weight), to_device(self.bias), self.kernel, self.stride, self.pad
        )


def fold_batch_norm(
    weight: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    eps: float = BN_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """conv (OIHW weight, no bias) then inference batch norm, as one conv with a bias.

    bn(conv(x)) = scale * (conv(x) - mean) + beta with scale = gamma / sqrt(var + eps)
                = conv_{scale * W}(x) + (beta - scale * mean).
    Computed in float64 and rounded once to float32.
    """
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    folded = weight.astype(np.float64) * scale[:, None, None, None]
    bias = beta.astype(np.float64) - scale * mean.astype(np.float64)
    return folded.astype(np.float32), bias.astype(np.float32)


def gemm_conv(weight_oihw: np.ndarray, bias: np.ndarray, stride: int, pad: int) -> Conv:
    """A Conv from a torch-layout (Cout, Cin, kh, kw) weight: rows ordered (kh, kw, Cin)."""
    cout, cin, kh, kw = weight_oihw.shape
    if kh != kw:
        raise ValueError(f"square kernels only, got {kh}x{kw}")
    matrix = np.ascontiguousarray(weight_oihw.transpose(2, 3, 1, 0).reshape(kh * kw * cin, cout))
    return Conv(matrix, np.ascontiguousarray(bias, dtype=np.float32), kh, stride, pad)


def _pad_hw(xp: ModuleType, x: Any, pad: int, value: float) -> Any:
    if pad == 0:
        return x
    return xp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=value)


def _out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def conv2d(xp: ModuleType, x: Any, conv: Conv, relu: bool, residual: Any = None) -> Any:
    """NHWC convolution + bias, then ``+ residual`` if given, then ReLU if asked."""
    n, h, w, c = x.shape
    k, s = conv.kernel, conv.stride
    ho, wo = _out_size(h, k, s, conv.pad), _out_size(w, k, s, conv.pad)
    if k == 1 and conv.pad == 0:
        # 1x1: no windows; a strided slice for stride 2 (ResNet's downsample).
        picked = x if s == 1 else x[:, ::s, ::s, :]
        columns = picked.reshape(n * ho * wo, c)
    else:
        padded = xp.ascontiguousarray(_pad_hw(xp, x, conv.pad, 0.0))
        sn, sh, sw, sc = padded.strides
        windows = xp.lib.stride_tricks.as_strided(
            padded, shape=(n, ho, wo, k, k, c), strides=(sn, sh * s, sw * s, sh, sw, sc)
        )
        columns = windows.reshape(n * ho * wo, k * k * c)
    out = xp.matmul(columns, conv.weight)
    out += conv.bias
    out = out.reshape(n, ho, wo, -1)
    if residual is not None:
        out += residual
    if relu:
        xp.maximum(out, 0, out=out)
    return out


def max_pool_3x3_s2(xp: ModuleType, x: Any) -> Any:
    """3x3 max pooling, stride 2, padding 1 (padding never wins: it is -inf)."""
    _, h, w, _ = x.shape
    ho, wo = _out_size(h, 3, 2, 1), _out_size(w, 3, 2, 1)
    padded = _pad_hw(xp, x, 1, -np.inf)
    out = None
    for i in range(3):
        for j in range(3):
            window = padded[:, i : i + 2 * ho - 1 : 2, j : j + 2 * wo - 1 : 2, :]
            out = window.copy() if out is None else xp.maximum(out, window, out=out)
    return out


def global_avg_pool(xp: ModuleType, x: Any) -> Any:
    """(N, H, W, C) -> (N, C), the mean over H and W."""
    return xp.mean(x, axis=(1, 2), dtype=xp.float32)


__all__ = [
    "BN_EPS",
    "Conv",
    "conv2d",
    "fold_batch_norm",
    "gemm_conv",
    "global_avg_pool",
    "max_pool_3x3_s2",
]
