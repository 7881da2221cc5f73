"""resnet: resnet50's classify_top1, classify_top1_v1 and classify_top5
(docs/protocol.md#kit-resnet50), on images made in memory."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conformance.verify import assertions
from conformance.verify.marks import requirement
from conformance.verify.resnet import (
    METHOD,
    METHOD_TOP5,
    METHOD_V1,
    METHODS,
    OUTPUT,
    SCORE,
    SEPARATOR,
    TIMEOUT_S,
    image_bytes,
    imagenet_labels,
    request,
)
from conformance.verify.wire import Target
from protos import ms_service_pb2 as pb

IMAGES = {
    "png-rgb-gradient": lambda: image_bytes("gradient", "PNG"),
    "jpeg-rgb-noise": lambda: image_bytes("noise", "JPEG", size=(300, 200)),
    "png-grey": lambda: image_bytes("gradient", "PNG", size=(50, 70), mode="L"),
    "png-rgba": lambda: image_bytes("flat", "PNG", size=(40, 40), mode="RGBA"),
}
BROKEN = {
    "not-an-image": lambda: b"this is not an image",
    "truncated-png": lambda: image_bytes("noise", "PNG")[:60],
    "empty": lambda: b"",
}
Top5 = tuple[list[str], list[float]]


def _label(instance: object, where: str) -> str:
    assert hasattr(instance, "items")
    label = assertions.assert_text_value(assertions.assert_output(instance, OUTPUT, where), where)  # type: ignore[arg-type]
    if label not in imagenet_labels():
        assertions.fail(f"{where}: {label!r} is not an ImageNet-1k label")
    return label


def _top5(instance: object, where: str) -> Top5:
    """(five labels, five scores) of one classify_top5 instance, or a failure naming why."""
    assert isinstance(instance, pb.Instance)
    text = assertions.assert_text_value(assertions.assert_output(instance, OUTPUT, where), where)
    labels = text.split(SEPARATOR)
    if len(labels) != 5:
        assertions.fail(f"{where}: label {text!r} holds {len(labels)} ';'-joined labels, not 5")
    # Repeated texts are allowed: ImageNet-1k names two classes "crane".
    unknown = [label for label in labels if label not in imagenet_labels()]
    if unknown:
        assertions.fail(f"{where}: {unknown!r} are not ImageNet-1k label texts")
    score = assertions.assert_output(instance, SCORE, where)
    if score.dtype != pb.MS_FLOAT32 or list(score.shape.dims) != [5] or len(score.data) != 20:
        assertions.fail(
            f"{where}: score must be MS_FLOAT32 dims [5], got {assertions.tensor_summary(score)}"
        )
    values: list[float] = np.frombuffer(score.data, "<f4").tolist()
    if not all(math.isfinite(v) for v in values):
        assertions.fail(f"{where}: score holds non-finite values {values}")
    return labels, values


def _labels_of(images: list[bytes], method: str, server: Target) -> list[str]:
    reply = server.predict(request(images, method), TIMEOUT_S)
    return [
        _label(instance, f"{method} of image {i}")
        for i, instance in enumerate(assertions.assert_all_ok(reply, len(images), method))
    ]


def _top5_of(images: list[bytes], server: Target) -> list[Top5]:
    reply = server.predict(request(images, METHOD_TOP5), TIMEOUT_S)
    return [
        _top5(instance, f"{METHOD_TOP5} of image {i}")
        for i, instance in enumerate(assertions.assert_all_ok(reply, len(images), METHOD_TOP5))
    ]


@requirement("RESNET-LABEL-IN-IMAGENET")
def test_label_in_imagenet(conformance_server: Target) -> None:
    names = list(IMAGES)
    reply = conformance_server.predict(request([IMAGES[n]() for n in names]), TIMEOUT_S)
    for name, instance in zip(
        names, assertions.assert_all_ok(reply, len(names), "classify_top1"), strict=True
    ):
        _label(instance, f"classify_top1 of {name}")


@requirement("RESNET-SAME-IMAGE-SAME-LABEL")
def test_same_image_same_label(conformance_server: Target) -> None:
    image = image_bytes("noise", "JPEG", seed=7)
    reply = conformance_server.predict(request([image, image]), TIMEOUT_S)
    first, second = (
        _label(instance, f"instance {i}")
        for i, instance in enumerate(assertions.assert_all_ok(reply, 2, "the same image twice"))
    )
    assert first == second, f"the same image got {first!r} and {second!r}"


@requirement("RESNET-BROKEN-IMAGE-ALONE")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("broken", list(BROKEN))
def test_broken_image_alone(conformance_server: Target, broken: str, method: str) -> None:
    good = image_bytes("gradient", "PNG")
    reply = conformance_server.predict(request([good, BROKEN[broken](), good], method), TIMEOUT_S)
    outcomes = assertions.assert_failure_pattern(
        reply, [False, True, False], f"{method}: a {broken} image in the middle"
    )
    for index in (0, 2):
        if method == METHOD_TOP5:
            _top5(outcomes[index], f"{method} instance {index}")
        else:
            _label(outcomes[index], f"{method} instance {index}")


@requirement("RESNET-TOP1-V1-SAME-LABEL")
def test_top1_v1_same_label(conformance_server: Target) -> None:
    images = [make() for make in IMAGES.values()]
    top1 = _labels_of(images, METHOD, conformance_server)
    v1 = _labels_of(images, METHOD_V1, conformance_server)
    assert v1 == top1, f"classify_top1_v1 answered {v1!r}, classify_top1 {top1!r}"


@requirement("RESNET-TOP5-OUTPUTS")
def test_top5_outputs(conformance_server: Target) -> None:
    _top5_of([make() for make in IMAGES.values()], conformance_server)


@requirement("RESNET-TOP5-ORDER")
def test_top5_order(conformance_server: Target) -> None:
    images = [make() for make in IMAGES.values()]
    top1 = _labels_of(images, METHOD, conformance_server)
    for name, best, (labels, scores) in zip(
        IMAGES, top1, _top5_of(images, conformance_server), strict=True
    ):
        if any(a < b for a, b in itertools.pairwise(scores)):
            assertions.fail(f"classify_top5 of {name}: scores {scores} are not descending")
        tied = [label for label, score in zip(labels, scores, strict=True) if score == scores[0]]
        if best not in tied:
            assertions.fail(
                f"classify_top5 of {name}: best label(s) {tied!r}, but classify_top1 says {best!r}"
            )


@requirement("RESNET-TOP5-SAME-IMAGE")
def test_top5_same_image(conformance_server: Target) -> None:
    image = image_bytes("noise", "JPEG", seed=7)
    (labels_a, scores_a), (labels_b, scores_b) = _top5_of([image, image], conformance_server)
    assert labels_a == labels_b, f"the same image got {labels_a!r} and {labels_b!r}"
    np.testing.assert_allclose(scores_b, scores_a, rtol=1e-4, err_msg="the same image's scores")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
