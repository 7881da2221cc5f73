"""The ``resnet50`` servable: ``classify_top1`` maps encoded image bytes to a label text.

Stages, numbered as upstream's example numbers them in its error texts:
1. ``preprocess`` (host): decode and transform each image alone; a bad image fails only its
   own instance.
2. ``top1`` (backend): the valid images of a request, stacked, cross to the device once and
   run as one batch (in chunks of ``MAX_BATCH`` to bound memory); argmax -> label text.

The model is built on the first call, not at start-up, once per backend, under a lock.
"""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Sequence

import numpy as np

from protos.arrays import ArrayBackend
from protos.labels import imagenet_labels
from reference_server.registry import (
    SYSTEM_ERROR,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Servable,
    stage_error_text,
)

from .model import ResNet50, fold_resnet50, seeded_host_model
from .preprocess import ImageRejected, preprocess
from .weights import load_weights_file, validate_weights_file

NAME = "resnet50"
VERSION = 1
METHOD = "classify_top1"
INPUT = "image"
OUTPUT = "label"
# Images per forward pass: a request with more runs in several passes. About 30 MB of
# activations per image on the host; 32 keeps one request's peak near 1 GB.
MAX_BATCH = 32


class ModelCache:
    """The model, built lazily and thread-safely: host weights once, then once per backend."""

    def __init__(self, weights: pathlib.Path | None) -> None:
        self._weights = weights
        self._lock = threading.Lock()
        self._host: ResNet50 | None = None
        self._by_backend: dict[str, ResNet50] = {}

    def model(self, backend: ArrayBackend) -> ResNet50:
        model = self._by_backend.get(backend.name)
        if model is not None:
            return model
        with self._lock:
            model = self._by_backend.get(backend.name)
            if model is None:
                if self._host is None:
                    self._host = self._load_host()
                model = self._host.on(backend)
                self._by_backend[backend.name] = model
        return model

    def built(self) -> tuple[str, ...]:
        """The backends a model has been built for so far."""
        return tuple(self._by_backend)

    def _load_host(self) -> ResNet50:
        if self._weights is None:
            return seeded_host_model()
        return fold_resnet50(load_weights_file(self._weights))


def _stage_error(function: str, stage: int, detail: str) -> InstanceError:
    return InstanceError(SYSTEM_ERROR, stage_error_text(NAME, function, METHOD, stage, detail))


def classify_top1_batch(
    cache: ModelCache, batch: Sequence[Inputs], backend: ArrayBackend
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(batch)
    images: list[np.ndarray] = []
    slots: list[int] = []
    for slot, inputs in enumerate(batch):
        try:
            images.append(preprocess(inputs[INPUT]))
            slots.append(slot)
        except ImageRejected as exc:
            outcomes[slot] = _stage_error("preprocess", 1, str(exc))
    labels = imagenet_labels()
    for start in range(0, len(images), MAX_BATCH):
        chunk_slots = slots[start : start + MAX_BATCH]
        try:
            model = cache.model(backend)
            stacked = np.stack(images[start : start + MAX_BATCH])
            best = model.top1(backend.to_device(stacked))
        except Exception as exc:  # weights unreadable, device out of memory, ...
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            for slot in chunk_slots:
                outcomes[slot] = _stage_error("top1", 2, detail)
            continue
        for slot, index in zip(chunk_slots, best.tolist(), strict=True):
            outcomes[slot] = {OUTPUT: labels[index]}
    return [outcome for outcome in outcomes if outcome is not None]


def resnet50_servable(weights: pathlib.Path | None = None) -> Servable:
    """Servable ``resnet50`` v1, method ``classify_top1`` (image bytes -> label text).

    ``weights``: an .npz of torchvision-named ResNet-50 weights; None takes the seeded
    (untrained) initialisation. The file's names and shapes are checked here (headers only,
    ValueError if wrong); the arrays are read on the first call.
    """
    if weights is not None:
        validate_weights_file(weights)
    cache = ModelCache(None if weights is None else pathlib.Path(weights))

    def classify_top1(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
        return classify_top1_batch(cache, batch, backend)

    method = Method(METHOD, (INPUT,), (OUTPUT,), classify_top1)
    return Servable(NAME, {VERSION: {METHOD: method}})
