"""The 1000 ImageNet-1k class texts, in class-index order (index 281: ``tabby, tabby cat``).

Shipped as reference_server/data/imagenet_labels.txt, derived once from timm's data files by
scripts/derive_imagenet_labels.py.
"""

from __future__ import annotations

import functools
from importlib import resources

CLASSES = 1000


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    text = (resources.files("reference_server") / "data" / "imagenet_labels.txt").read_text(
        encoding="utf-8"
    )
    labels = tuple(text.splitlines())
    if len(labels) != CLASSES:
        raise RuntimeError(f"imagenet_labels.txt holds {len(labels)} labels, expected {CLASSES}")
    return labels
