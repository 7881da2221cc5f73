"""The ``resnet50`` servable, as upstream's example deploys it: three methods on encoded images.

* ``classify_top1`` and ``classify_top1_v1`` (upstream: another preprocessing path, the same
  result): ``label``, the best class's text.
* ``classify_top5``: ``label``, the five best class texts joined by ``;`` best first, and
  ``score``, their five scores as float32 ``[5]`` in the same order.

Stages, numbered as upstream's example numbers them in its error texts:
1. ``preprocess`` (host): decode and transform each image alone; a bad image fails only its
   own instance.
2. ``top1`` / ``top5`` (backend): the valid images of a request, stacked, cross to the device
   once and run as one batch (in chunks of ``MAX_BATCH`` to bound memory); the best class(es)
   -> label text (and scores).

The model is built on the first call, not at start-up, once per backend, under a lock.
"""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reference_server.backend import ArrayBackend
from reference_server.registry import (
    SYSTEM_ERROR,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Servable,
    method_table,
    stage_error_text,
)
from reference_server.servables.resnet50.labels import imagenet_labels

from .cache import cache_dir, cached_model, model_key, seeded_host_model
from .model import ResNet50, fold_resnet50
from .preprocess import ImageRejected, preprocess
from .weights import load_weights_file, validate_weights_file

NAME = "resnet50"
VERSION = 1
METHOD = "classify_top1"
METHOD_V1 = "classify_top1_v1"
METHOD_TOP5 = "classify_top5"
INPUT = "image"
OUTPUT = "label"
SCORE = "score"
TOP5_SEPARATOR = ";"  # no ImageNet label text contains it (tests/test_resnet_labels.py)
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
        weights = self._weights

        def build() -> ResNet50:
            return fold_resnet50(load_weights_file(weights))

        try:
            key = model_key(weights.read_bytes())
        except OSError:
            return build()  # load_weights_file raises with the text for it
        return cached_model(key, build, cache_dir())


def _stage_error(method: str, function: str, stage: int, detail: str) -> InstanceError:
    return InstanceError(SYSTEM_ERROR, stage_error_text(NAME, function, method, stage, detail))


def _top1_outcomes(model: ResNet50, images: Any) -> list[Outcome]:
    labels = imagenet_labels()
    return [{OUTPUT: labels[index]} for index in model.top1(images).tolist()]


def _top5_outcomes(model: ResNet50, images: Any) -> list[Outcome]:
    labels = imagenet_labels()
    indices, scores = model.topk(images, 5)
    return [
        {
            OUTPUT: TOP5_SEPARATOR.join(labels[index] for index in row.tolist()),
            SCORE: np.ascontiguousarray(row_scores, dtype=np.float32),
        }
        for row, row_scores in zip(indices, scores, strict=True)
    ]


# Stage 2 of each method: the function name in its error texts, and images -> outcomes.
_HEADS: dict[str, tuple[str, Callable[[ResNet50, Any], list[Outcome]]]] = {
    METHOD: ("top1", _top1_outcomes),
    METHOD_V1: ("top1", _top1_outcomes),
    METHOD_TOP5: ("top5", _top5_outcomes),
}


def classify_batch(
    cache: ModelCache, batch: Sequence[Inputs], backend: ArrayBackend, method: str = METHOD
) -> list[Outcome]:
    """One batch of ``method`` (a key of _HEADS): one outcome per instance, in order."""
    function, head = _HEADS[method]
    outcomes: list[Outcome | None] = [None] * len(batch)
    images: list[np.ndarray] = []
    slots: list[int] = []
    for slot, inputs in enumerate(batch):
        try:
            images.append(preprocess(inputs[INPUT]))
            slots.append(slot)
        except ImageRejected as exc:
            outcomes[slot] = _stage_error(method, "preprocess", 1, str(exc))
    for start in range(0, len(images), MAX_BATCH):
        chunk_slots = slots[start : start + MAX_BATCH]
        try:
            model = cache.model(backend)
            stacked = np.stack(images[start : start + MAX_BATCH])
            results = head(model, backend.to_device(stacked))
        except Exception as exc:  # weights unreadable, device out of memory, ...
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            for slot in chunk_slots:
                outcomes[slot] = _stage_error(method, function, 2, detail)
            continue
        for slot, outcome in zip(chunk_slots, results, strict=True):
            outcomes[slot] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def resnet50_servable(weights: pathlib.Path | None = None) -> Servable:
    """Servable ``resnet50`` v1: ``classify_top1``, ``classify_top1_v1`` and ``classify_top5``.

    All three share one model cache (one build per backend, whichever method comes first).

    ``weights``: an .npz of torchvision-named ResNet-50 weights; None takes the seeded
    (untrained) initialisation. The file's names and shapes are checked here (headers only,
    ValueError if wrong); the arrays are read on the first call.
    """
    if weights is not None:
        validate_weights_file(weights)
    cache = ModelCache(None if weights is None else pathlib.Path(weights))

    def method(name: str, outputs: tuple[str, ...]) -> Method:
        def run(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
            return classify_batch(cache, batch, backend, name)

        return Method(name, (INPUT,), outputs, run)

    methods = (
        method(METHOD, (OUTPUT,)),
        method(METHOD_V1, (OUTPUT,)),
        method(METHOD_TOP5, (OUTPUT, SCORE)),
    )
    return Servable(NAME, {VERSION: method_table(*methods)})


__all__ = [
    "INPUT",
    "MAX_BATCH",
    "METHOD",
    "METHOD_TOP5",
    "METHOD_V1",
    "NAME",
    "OUTPUT",
    "SCORE",
    "TOP5_SEPARATOR",
    "VERSION",
    "ModelCache",
    "classify_batch",
    "resnet50_servable",
]
