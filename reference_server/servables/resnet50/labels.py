"""The 1000 ImageNet-1k class texts, in class-index order (index 281: ``tabby, tabby cat``).

The resnet50 servable's ``label`` output is one of these texts. Shipped beside this module as
imagenet_labels.txt, derived once from timm's data files by scripts/derive_imagenet_labels.py.
The harness checks answers against its own copy (conformance/data/imagenet_labels.txt): it never
imports the server, and a server whose labels drifted is caught like any other.
tests/test_conformance_catalogue.py checks that the two files are the same.
"""

from __future__ import annotations

import functools
from importlib import resources

CLASSES = 1000


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    text = (resources.files(__package__) / "imagenet_labels.txt").read_text(encoding="utf-8")
    labels = tuple(text.splitlines())
    if len(labels) != CLASSES:
        raise RuntimeError(f"imagenet_labels.txt holds {len(labels)} labels, expected {CLASSES}")
    return labels


__all__ = ["CLASSES", "imagenet_labels"]
