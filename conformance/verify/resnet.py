"""The resnet profile's material: test images made in memory, the ImageNet-1k label texts, and
the probe that decides whether a server deploys resnet50 at all.

The probe turns the profile off only when the server says the servable does not exist. Any
other answer (a wrong label, an error of another kind, a timeout, a gRPC failure) means a
resnet50 that is there but broken: the profile runs, and fails. The probe calls classify_top1
only: resnet50 v1 is its three methods (the kit's servable table), so a server deploying
classify_top1 alone deploys resnet50 and fails the requirements of the two it lacks.
"""

from __future__ import annotations

import functools
import io
from importlib import resources

import numpy as np
from PIL import Image

from conformance.drive import Endpoint
from conformance.verify.wire import RpcFailure, Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb

SERVABLE, METHOD, INPUT, OUTPUT = "resnet50", "classify_top1", "image", "label"
# The servable's other two methods (docs/protocol.md#kit-resnet50): classify_top5 also answers
# ``score``, and joins its five labels with SEPARATOR.
METHOD_V1, METHOD_TOP5, SCORE = "classify_top1_v1", "classify_top5", "score"
METHODS = (METHOD, METHOD_V1, METHOD_TOP5)
SEPARATOR = ";"
TIMEOUT_S = 120.0  # a CPU ResNet-50 may build its model on the first call
CLASSES = 1000


@functools.cache
def imagenet_labels() -> frozenset[str]:
    """The ImageNet-1k label texts a resnet50 answer may be: 999 distinct texts, as "crane"
    names a bird and a machine. The harness's own copy (conformance/data/imagenet_labels.txt),
    not the reference server's: the harness never imports the server."""
    text = (resources.files("conformance") / "data" / "imagenet_labels.txt").read_text("utf-8")
    labels = text.splitlines()
    if len(labels) != CLASSES:
        raise RuntimeError(f"imagenet_labels.txt holds {len(labels)} labels, expected {CLASSES}")
    return frozenset(labels)


def image_bytes(
    kind: str, fmt: str, size: tuple[int, int] = (96, 64), mode: str = "RGB", seed: int = 0
) -> bytes:
    """An encoded image: ``kind`` noise, gradient or flat; ``fmt`` PNG or JPEG; ``mode`` RGB,
    L (grey) or RGBA (PNG only)."""
    width, height = size
    rng = np.random.default_rng(seed)
    if kind == "gradient":
        ramp = np.linspace(0, 255, width, dtype=np.float64)[None, :, None]
        pixels = np.broadcast_to(ramp, (height, width, 3)) * np.array([1.0, 0.5, 0.2])
    elif kind == "flat":
        pixels = np.broadcast_to(rng.integers(0, 256, 3), (height, width, 3))
    else:
        pixels = rng.integers(0, 256, (height, width, 3))
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "RGB").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def request(images: list[bytes], method: str = METHOD) -> pb.PredictRequest:
    return make_request(SERVABLE, method, [{INPUT: codec.bytes_tensor(image)} for image in images])


# A servable name no server deploys: how the server answers it is how it says "unknown".
ABSENT = "resnet50-conformance-absent"
# Upstream's words for a servable (or version) it does not have (docs/protocol.md#error-texts).
UPSTREAM_UNKNOWN = "servable is not available"
INVALID_INPUTS = 2


def _only_error(reply: pb.PredictReply) -> tuple[int, str] | None:
    """(code, text) of a request-level error reply, else None."""
    if reply.instances or len(reply.error_msg) != 1 or reply.error_msg[0].error_code == 0:
        return None
    error = reply.error_msg[0]
    return error.error_code, bytes(error.error_msg).decode("utf-8", "replace")


def says_unknown(reply: pb.PredictReply, absent: pb.PredictReply | None) -> str | None:
    """Why ``reply`` (to a resnet50 request) means "no servable resnet50", or None if it does
    not. ``absent`` is the server's reply to the same request for the servable ABSENT."""
    error = _only_error(reply)
    if error is None:
        return None
    code, text = error
    if UPSTREAM_UNKNOWN in text:
        return f"answered ({code}, {text[:120]!r})"
    # Another server's own words: code 2 and the very text it gives a servable it lacks.
    other = None if absent is None else _only_error(absent)
    if other is None or code != INVALID_INPUTS or other[0] != code or ABSENT not in other[1]:
        return None
    if other[1].replace(ABSENT, SERVABLE) != text:
        return None
    return f"answered ({code}, {text[:120]!r}), as for any unknown servable"


def why_not_deployed(endpoint: Endpoint, timeout_s: float) -> str | None:
    """Why the server at ``endpoint`` does not deploy resnet50, or None if it may: the profile
    then runs (a broken resnet50 fails it; it is never "not applicable")."""
    probe = request([image_bytes("gradient", "PNG")])
    twin = pb.PredictRequest()
    twin.CopyFrom(probe)
    twin.servable_spec.name = ABSENT
    with Target(endpoint) as server:
        reply = server.call(probe, timeout_s, note=False)
        if isinstance(reply, RpcFailure) or _only_error(reply) is None:
            return None  # answered otherwise, or not at all: resnet50 runs and is judged
        absent = server.call(twin, timeout_s, note=False)
    return says_unknown(reply, None if isinstance(absent, RpcFailure) else absent)


__all__ = [
    "ABSENT",
    "INPUT",
    "INVALID_INPUTS",
    "METHOD",
    "METHODS",
    "METHOD_TOP5",
    "METHOD_V1",
    "OUTPUT",
    "SCORE",
    "SEPARATOR",
    "SERVABLE",
    "TIMEOUT_S",
    "UPSTREAM_UNKNOWN",
    "image_bytes",
    "imagenet_labels",
    "request",
    "says_unknown",
    "why_not_deployed",
]
