"""The servables of the conformance kit, and the registry that deploys them."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from protos.arrays import NUMPY_BACKEND, ArrayBackend
from reference_server.registry import Registry, Servable
from reference_server.servables.add import add_servable
from reference_server.servables.conformance_kit import conformance_servable

_RESNET_MODULE = "reference_server.servables.resnet50"


def kit_registry(
    device_backend: ArrayBackend = NUMPY_BACKEND, resnet_weights: Path | None = None
) -> Registry:
    """``add`` v1, ``conformance`` v1 and v2, and ``resnet50`` v1 where its package is present
    (its model is built on the first call), computing on ``device_backend``."""
    servables: list[Servable] = [add_servable(), conformance_servable()]
    # The resnet50 package ships separately from this module; deploy it once it is there.
    if importlib.util.find_spec(_RESNET_MODULE) is not None:
        resnet = importlib.import_module(_RESNET_MODULE)
        servables.append(resnet.resnet50_servable(resnet_weights))
    return Registry(servables, backend=device_backend)


__all__ = ["kit_registry"]
