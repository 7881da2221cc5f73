"""Each ResNet-50 layer against a naive NumPy reference written with explicit loops."""

from __future__ import annotations

import numpy as np
import pytest

from reference_server.servables.resnet50.layers import (
    conv2d,
    fold_batch_norm,
    gemm_conv,
    global_avg_pool,
    max_pool_3x3_s2,
)
from reference_server.servables.resnet50.model import Bottleneck, bottleneck

RNG = np.random.default_rng(7)


def naive_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NHWC input, OIHW weight: out[n, i, j, o] = sum over the window, one element at a time."""
    n, h, wd, c = x.shape
    cout, cin, kh, kw = w.shape
    assert cin == c
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, ho, wo, cout), np.float64)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for o in range(cout):
                    total = 0.0
                    for di in range(kh):
                        for dj in range(kw):
                            y, z = i * stride + di - pad, j * stride + dj - pad
                            if 0 <= y < h and 0 <= z < wd:
                                for ch in range(c):
                                    total += float(x[b, y, z, ch]) * float(w[o, ch, di, dj])
                    out[b, i, j, o] = total
    return out


def naive_bn(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray
) -> np.ndarray:
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta  # torchvision eps


BN = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def random_bn(channels: int) -> BN:
    return (
        RNG.uniform(0.5, 1.5, channels).astype(np.float32),
        RNG.normal(0, 0.3, channels).astype(np.float32),
        RNG.normal(0, 0.3, channels).astype(np.float32),
        RNG.uniform(0.5, 2.0, channels).astype(np.float32),
    )


def random_x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def random_w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


@pytest.mark.parametrize(
    ("kernel", "stride", "pad", "size"),
    [(3, 1, 1, 5), (3, 2, 1, 7), (7, 2, 3, 9), (1, 1, 0, 4), (1, 2, 0, 5), (3, 2, 1, 6)],
)
def test_conv_matches_naive_loops(kernel: int, stride: int, pad: int, size: int) -> None:
    x = random_x(2, size, size + 1, 3)
    w = random_w(4, 3, kernel, kernel)
    bias = np.zeros(4, np.float32)
    got = conv2d(np, x, gemm_conv(w, bias, stride, pad), relu=False)
    want = naive_conv(x, w, stride, pad)
    assert got.shape == want.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv_bias_residual_and_relu_order() -> None:
    # relu(conv + bias + residual): the residual is added before the ReLU, not after.
    x = random_x(1, 4, 4, 2)
    w = random_w(3, 2, 3, 3)
    bias = RNG.normal(0, 1, 3).astype(np.float32)
    residual = random_x(1, 4, 4, 3) * 3
    got = conv2d(np, x, gemm_conv(w, bias, 1, 1), relu=True, residual=residual)
    want = np.maximum(naive_conv(x, w, 1, 1) + bias + residual, 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert (got == 0).any() and (got > 0).any()


def test_folded_batch_norm_equals_conv_then_bn() -> None:
    x = random_x(2, 6, 6, 3)
    w = random_w(5, 3, 3, 3)
    gamma, beta, mean, var = random_bn(5)
    folded_w, folded_b = fold_batch_norm(w, gamma, beta, mean, var)
    got = conv2d(np, x, gemm_conv(folded_w, folded_b, 2, 1), relu=False)
    want = naive_bn(naive_conv(x, w, 2, 1), gamma, beta, mean, var)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # The fold is not a no-op on these statistics.
    assert not np.allclose(got, naive_conv(x, w, 2, 1), atol=1e-2)


def naive_max_pool(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    ho, wo = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    out = np.full((n, ho, wo, c), -np.inf, np.float32)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for di in range(3):
                    for dj in range(3):
                        y, z = 2 * i + di - 1, 2 * j + dj - 1
                        if 0 <= y < h and 0 <= z < w:
                            out[b, i, j] = np.maximum(out[b, i, j], x[b, y, z])
    return out


@pytest.mark.parametrize("size", [5, 6, 8])
def test_max_pool_matches_naive_loops(size: int) -> None:
    # All-negative inputs: a zero padding would win and be caught.
    x = -np.abs(random_x(2, size, size + 1, 3)) - 0.1
    got = max_pool_3x3_s2(np, x)
    np.testing.assert_array_equal(got, naive_max_pool(x))


def test_global_avg_pool_matches_loops() -> None:
    x = random_x(2, 3, 5, 4)
    want = np.zeros((2, 4))
    for b in range(2):
        for ch in range(4):
            want[b, ch] = sum(float(v) for v in x[b, :, :, ch].ravel()) / 15
    got = global_avg_pool(np, x)
    assert got.shape == (2, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def naive_bottleneck(x, params, stride, downsample) -> np.ndarray:
    """torchvision's Bottleneck (v1.5: stride on the 3x3), unfolded batch norm."""

    def conv_bn(inp, name, s, p):
        w, bn = params[name]
        return naive_bn(naive_conv(inp, w, s, p), *bn)

    y = np.maximum(conv_bn(x, "conv1", 1, 0), 0)
    y = np.maximum(conv_bn(y, "conv2", stride, 1), 0)
    y = conv_bn(y, "conv3", 1, 0)
    shortcut = conv_bn(x, "down", stride, 0) if downsample else x
    return np.maximum(y + shortcut, 0)


@pytest.mark.parametrize(
    ("stride", "downsample", "cin"), [(2, True, 4), (1, True, 4), (1, False, 8)]
)
def test_bottleneck_matches_naive(stride: int, downsample: bool, cin: int) -> None:
    width, cout = 2, 8
    params = {
        "conv1": (random_w(width, cin, 1, 1), random_bn(width)),
        "conv2": (random_w(width, width, 3, 3), random_bn(width)),
        "conv3": (random_w(cout, width, 1, 1), random_bn(cout)),
        "down": (random_w(cout, cin, 1, 1), random_bn(cout)),
    }

    def folded(name: str, s: int, p: int):
        w, bn = params[name]
        return gemm_conv(*fold_batch_norm(w, *bn), s, p)

    block = Bottleneck(
        folded("conv1", 1, 0),
        folded("conv2", stride, 1),
        folded("conv3", 1, 0),
        folded("down", stride, 0) if downsample else None,
    )
    x = random_x(2, 6, 6, cin)
    got = bottleneck(np, x, block)
    want = naive_bottleneck(x, params, stride, downsample)
    assert got.shape == want.shape == (2, 6 // stride, 6 // stride, cout)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
