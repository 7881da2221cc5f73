"""Profile resnet: the optional resnet50 servable: classify_top1, classify_top1_v1, classify_top5.

Its declaration: needs, endpoints, suites, mutants and requirements (see
conformance.catalogue.declare)."""

from __future__ import annotations

from conformance.catalogue.declare import ALWAYS, Profile, Requirement, server_requirement
from conformance.catalogue.profiles.core import CORE

_r = server_requirement  # called once per row below

REQUIREMENTS: tuple[Requirement, ...] = (
    _r("RESNET-LABEL-IN-IMAGENET", "MUST", "resnet", "kit-servables, kit-resnet50",
       "classify_top1 answers a decodable PNG or JPEG with an MS_STRING label that is one of the "
       "1000 ImageNet-1k label texts."),
    _r("RESNET-SAME-IMAGE-SAME-LABEL", "MUST", "resnet", "kit-servables, kit-resnet50",
       "the same image twice in one request gets the same label twice."),
    _r("RESNET-BROKEN-IMAGE-ALONE", "MUST", "resnet", "kit-servables, kit-resnet50",
       "an undecodable image fails its own instance only, in each of classify_top1, "
       "classify_top1_v1 and classify_top5; the other instances get their outputs."),
    _r("RESNET-TOP1-V1-SAME-LABEL", "MUST", "resnet", "kit-resnet50",
       "classify_top1_v1 answers each decodable image with the same MS_STRING label as "
       "classify_top1."),
    _r("RESNET-TOP5-OUTPUTS", "MUST", "resnet", "kit-resnet50",
       "classify_top5 answers a decodable image with `label`, one MS_STRING value made of exactly "
       "five ImageNet-1k label texts joined by ';', and `score`, an MS_FLOAT32 tensor with dims "
       "[5] of finite values."),
    _r("RESNET-TOP5-ORDER", "MUST", "resnet", "kit-resnet50",
       "classify_top5's scores are in descending order and its first label is classify_top1's "
       "label for the same image (when several of the five share the best score, classify_top1's "
       "label is one of theirs)."),
    _r("RESNET-TOP5-SAME-IMAGE", "MUST", "resnet", "kit-resnet50",
       "the same image twice in one classify_top5 request gets the same five labels and the same "
       "scores (within 1e-4 relative) twice."),
)  # fmt: skip

PROFILE = Profile(
    "resnet",
    "the optional resnet50 servable: classify_top1, classify_top1_v1, classify_top5",
    {"server-cmd": ALWAYS, "target": ALWAYS},
    (CORE,),
    ("test_resnet",),
    applies_if="conformance.verify.resnet:why_not_deployed",
    not_applicable_prefix="the server does not deploy resnet50: a probe ",
    note="unless named, only when resnet50 answers a probe",
    requirements=REQUIREMENTS,
    order=70,
)

__all__ = ["PROFILE"]
