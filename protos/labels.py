"""The 1000 ImageNet-1k class texts, in class-index order (index 281: ``tabby, tabby cat``).

The resnet50 servable's ``label`` output is one of these texts, so both sides of the wire read
them from here: the reference server to answer, the harness to check an answer (it must not
import the server). Shipped as protos/data/imagenet_labels.txt, derived once from timm's data
files by scripts/derive_imagenet_labels.py.
"""

from __future__ import annotations

import functools
from importlib import resources

CLASSES = 1000


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    text = (resources.files("protos") / "data" / "imagenet_labels.txt").read_text(encoding="utf-8")
    labels = tuple(text.splitlines())
    if len(labels) != CLASSES:
        raise RuntimeError(f"imagenet_labels.txt holds {len(labels)} labels, expected {CLASSES}")
    return labels
