"""resnet: resnet50.classify_top1 (docs/protocol.md#kit-servables), on images made in memory."""

from __future__ import annotations

import pytest

from conformance.verify import assertions
from conformance.verify.marks import requirement
from conformance.verify.resnet import OUTPUT, TIMEOUT_S, image_bytes, imagenet_labels, request
from conformance.verify.wire import Target

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


def _label(instance: object, where: str) -> str:
    assert hasattr(instance, "items")
    label = assertions.assert_text_value(assertions.assert_output(instance, OUTPUT, where), where)  # type: ignore[arg-type]
    if label not in imagenet_labels():
        assertions.fail(f"{where}: {label!r} is not an ImageNet-1k label")
    return label


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
@pytest.mark.parametrize("broken", list(BROKEN))
def test_broken_image_alone(conformance_server: Target, broken: str) -> None:
    good = image_bytes("gradient", "PNG")
    reply = conformance_server.predict(request([good, BROKEN[broken](), good]), TIMEOUT_S)
    outcomes = assertions.assert_failure_pattern(
        reply, [False, True, False], f"a {broken} image in the middle"
    )
    for index in (0, 2):
        _label(outcomes[index], f"instance {index}")
