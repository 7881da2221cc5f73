"""The resnet profile's material: test images made in memory, the ImageNet-1k label texts, and
the probe that decides whether a server deploys resnet50 at all."""

from __future__ import annotations

import functools
import io
from importlib import resources

import numpy as np
from PIL import Image

from conformance.endpoints import Endpoint
from conformance.wire import RpcFailure, Server, make_request
from protos import codec
from protos import ms_service_pb2 as pb

SERVABLE, METHOD, INPUT, OUTPUT = "resnet50", "classify_top1", "image", "label"
TIMEOUT_S = 120.0  # a CPU ResNet-50 may build its model on the first call


@functools.cache
def imagenet_labels() -> frozenset[str]:
    """The ImageNet-1k label texts (a copy shipped with the harness): 1000 lines, 999 distinct
    texts, as "crane" names both a bird and a machine."""
    text = resources.files("conformance").joinpath("data/imagenet_labels.txt").read_text("utf-8")
    labels = [line for line in text.splitlines() if line]
    if len(labels) != 1000:
        raise RuntimeError(f"conformance/data/imagenet_labels.txt has {len(labels)} labels")
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


def request(images: list[bytes]) -> pb.PredictRequest:
    return make_request(SERVABLE, METHOD, [{INPUT: codec.bytes_tensor(image)} for image in images])


def probe_classify(endpoint: Endpoint, timeout_s: float) -> str | None:
    """None if classify_top1 labels one generated PNG; else why not."""
    with Server(endpoint) as server:
        reply = server.call(request([image_bytes("gradient", "PNG")]), timeout_s, note=False)
    if isinstance(reply, RpcFailure):
        return str(reply)
    if reply.error_msg or len(reply.instances) != 1 or OUTPUT not in reply.instances[0].items:
        errors = [bytes(e.error_msg).decode("utf-8", "replace")[:100] for e in reply.error_msg]
        return f"no label in the reply; errors {errors}"
    return None
