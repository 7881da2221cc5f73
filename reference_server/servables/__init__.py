"""The servables of the conformance kit, and the registry that deploys them."""

from __future__ import annotations

from pathlib import Path

from reference_server.backend import NUMPY_BACKEND, ArrayBackend
from reference_server.registry import Registry
from reference_server.servables.add import add_servable
from reference_server.servables.conformance_kit import conformance_servable
from reference_server.servables.resnet50 import resnet50_servable


def kit_registry(
    device_backend: ArrayBackend = NUMPY_BACKEND, resnet_weights: Path | None = None
) -> Registry:
    """``add`` v1, ``conformance`` v1 and v2, and ``resnet50`` v1 (its model is built on the
    first call, from ``resnet_weights`` or seeded weights), computing on ``device_backend``."""
    servables = [add_servable(), conformance_servable(), resnet50_servable(resnet_weights)]
    return Registry(servables, backend=device_backend)


__all__ = ["kit_registry"]
