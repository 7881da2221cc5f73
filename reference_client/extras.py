"""Which optional dependencies (pyproject's extras) each part of the kit needs at run time.

One distribution, installed as the client alone (``pip install ms-serving-conformance``: grpcio,
protobuf, numpy) or with ``[server]``, ``[harness]`` or ``[test]``. The server's and the
harness's entry points call require() first, so a missing extra is one line naming the extra to
install, not a traceback from deep inside an import. Nothing here imports those modules.

It lives in the client's package because the client is the base install, the one part every
install has, and the layer both entry points may import (protos <- reference_client <-
reference_server, and reference_client <- conformance: tests/test_conformance_structure.py).
"""

from __future__ import annotations

import importlib.util

DISTRIBUTION = "ms-serving-conformance"

# extra -> the top-level modules it provides that the code imports (module, distribution).
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    # resnet50's image decoding; the key/certificate match check before a TLS start;
    # gRPC health checking and server reflection, served beside Predict
    "server": (
        ("PIL", "pillow"),
        ("cryptography", "cryptography"),
        ("grpc_health", "grpcio-health-checking"),
        ("grpc_reflection", "grpcio-reflection"),
    ),
    # the suites, their property-based inputs, in-memory TLS material, resnet50's test images
    "harness": (
        ("pytest", "pytest"),
        ("hypothesis", "hypothesis"),
        ("trustme", "trustme"),
        ("PIL", "pillow"),
    ),
}


class MissingExtraError(ImportError):
    """An entry point ran without the extra it needs; the message says what to install."""


def missing(extra: str) -> list[str]:
    """The distributions of ``extra`` that are not importable here (empty: all present)."""
    return [dist for module, dist in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def require(extra: str, what: str) -> None:
    """Raise MissingExtraError (one line) unless every module of ``extra`` is importable."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(
            f"{what} needs the [{extra}] extra (missing: {', '.join(absent)}): "
            f"pip install '{DISTRIBUTION}[{extra}]'"
        )


__all__ = ["DISTRIBUTION", "EXTRAS", "MissingExtraError", "missing", "require"]
