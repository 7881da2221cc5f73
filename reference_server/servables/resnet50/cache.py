"""The folded host model, kept on disk between server starts (issue 12).

Building the default model (seeded initialisation, then batch norm folded) takes 1.6 s on a
quiet machine, at every start of every server that serves ResNet-50; loading the folded arrays
back from an uncompressed ``.npz`` takes a small part of that (docs/benchmarks.md).

Key: a SHA-256 over this package's sources (initialisation and folding) and the weights (the
seed, or a weights file's bytes), so a change to either builds afresh. Directory:
``$REFERENCE_SERVER_CACHE_DIR``, else ``$XDG_CACHE_HOME/mindspore-serving-kit``, else
``~/.cache/mindspore-serving-kit``; ``REFERENCE_SERVER_CACHE_DIR=`` (empty) turns the cache off.
Best effort: an unwritable directory, or an unreadable or malformed file, only means building.
Files are written whole under a unique name, then renamed, so concurrent starts never read a
partial file; they are read with ``allow_pickle=False``.

``seeded_host_model`` (the default model) is built through this cache, so it lives here:
model.py is the network alone and knows nothing of files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pathlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from reference_server.backend import NUMPY_BACKEND

from .layers import Conv
from .model import Bottleneck, ResNet50, fold_resnet50
from .weights import SEED, STAGES, seeded_state_dict

log = logging.getLogger(__name__)

ENV_DIR = "REFERENCE_SERVER_CACHE_DIR"
_SOURCES = ("cache.py", "layers.py", "model.py", "weights.py")


def cache_dir(environ: Mapping[str, str] = os.environ) -> pathlib.Path | None:
    """Where folded models are kept; None when the cache is off."""
    chosen = environ.get(ENV_DIR)
    if chosen is not None:
        return pathlib.Path(chosen) if chosen else None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "mindspore-serving-kit"


def model_key(weights: bytes) -> str:
    """SHA-256 of this package's sources and ``weights`` (the seed's text or a file's bytes)."""
    digest = hashlib.sha256()
    here = pathlib.Path(__file__).resolve().parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    digest.update(weights)
    return digest.hexdigest()


def _convs(model: ResNet50) -> Iterator[tuple[str, Conv]]:
    yield "stem", model.stem
    for index, block in enumerate(model.blocks):
        yield f"block{index}.conv1", block.conv1
        yield f"block{index}.conv2", block.conv2
        yield f"block{index}.conv3", block.conv3
        if block.downsample is not None:
            yield f"block{index}.downsample", block.downsample


def to_arrays(model: ResNet50) -> dict[str, np.ndarray]:
    """A host model as named arrays (weights, biases and each conv's kernel, stride, pad)."""
    arrays: dict[str, np.ndarray] = {"fc.weight": model.fc_weight, "fc.bias": model.fc_bias}
    for name, conv in _convs(model):
        arrays[f"{name}.weight"] = conv.weight
        arrays[f"{name}.bias"] = conv.bias
        arrays[f"{name}.geometry"] = np.array([conv.kernel, conv.stride, conv.pad], np.int64)
    return arrays


def from_arrays(arrays: Mapping[str, np.ndarray]) -> ResNet50:
    """The host model to_arrays() took apart; KeyError or ValueError if the arrays are not one."""

    def conv(name: str) -> Conv:
        weight, bias = arrays[f"{name}.weight"], arrays[f"{name}.bias"]
        kernel, stride, pad = (int(v) for v in arrays[f"{name}.geometry"])
        if weight.dtype != np.float32 or bias.dtype != np.float32 or weight.ndim != 2:
            raise ValueError(f"{name}: not a folded convolution")
        if weight.shape[1] != bias.shape[0]:
            raise ValueError(f"{name}: weight and bias disagree")
        return Conv(weight, bias, kernel, stride, pad)

    blocks: list[Bottleneck] = []
    for count, _width, _stride in STAGES:
        for first in [True] + [False] * (count - 1):
            p = f"block{len(blocks)}"
            down = conv(f"{p}.downsample") if first else None
            blocks.append(
                Bottleneck(conv(f"{p}.conv1"), conv(f"{p}.conv2"), conv(f"{p}.conv3"), down)
            )
    return ResNet50(
        NUMPY_BACKEND, conv("stem"), tuple(blocks), arrays["fc.weight"], arrays["fc.bias"]
    )


def cached_model(
    key: str, build: Callable[[], ResNet50], directory: pathlib.Path | None
) -> ResNet50:
    """The model stored under ``key`` in ``directory``, else ``build()`` (then stored)."""
    if directory is None:
        return build()
    path = directory / f"resnet50-folded-{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return from_arrays({name: stored[name] for name in stored.files})
    except FileNotFoundError:
        pass
    except Exception as exc:  # unreadable or not ours: build, and replace it
        log.info("folded model cache %s unusable (%s): building", path, exc)
    model = build()
    _store(path, model)
    return model


def _store(path: pathlib.Path, model: ResNet50) -> None:
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            arrays: dict[str, Any] = to_arrays(model)  # savez's stubs type ** as its flags
            np.savez(handle, **arrays)
        os.replace(temporary, path)
    except OSError as exc:
        log.info("folded model cache %s not written: %s", path, exc)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


@functools.cache
def seeded_host_model() -> ResNet50:
    """The default (seeded, untrained) model, folded once per process (and kept on disk)."""

    def build() -> ResNet50:
        return fold_resnet50(seeded_state_dict())

    return cached_model(model_key(f"seed {SEED}".encode()), build, cache_dir())


__all__ = [
    "ENV_DIR",
    "cache_dir",
    "cached_model",
    "from_arrays",
    "log",
    "model_key",
    "seeded_host_model",
    "to_arrays",
]
