#!/usr/bin/env python3
"""Derive the ImageNet-1k label files (server's and harness's) from timm's ImageNet data files.

The ImageNet-1k class order is the sorted list of the 1000 WordNet synset ids; timm ships that
list (``imagenet_synsets.txt``) and the lemma text of every synset
(``imagenet_synset_to_lemma.txt``). Line i of the output is the lemma text of class i
(index 281 is ``tabby, tabby cat``). It is written twice, to the same bytes: the reference
server's resnet50 answers from reference_server/servables/resnet50/imagenet_labels.txt, and the
harness checks answers against its own conformance/data/imagenet_labels.txt (it never imports
the server; tests/test_resnet_labels.py checks the two are equal).

This ran once to make the checked-in file; timm is not a run-time dependency. Usage:

    python scripts/derive_imagenet_labels.py                      # pip-downloads the timm wheel
    python scripts/derive_imagenet_labels.py --wheel timm-1.0.31-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence

SYNSETS = "timm/data/_info/imagenet_synsets.txt"
LEMMAS = "timm/data/_info/imagenet_synset_to_lemma.txt"
CLASSES = 1000
ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUTPUTS = (
    ROOT / "reference_server" / "servables" / "resnet50" / "imagenet_labels.txt",
    ROOT / "conformance" / "data" / "imagenet_labels.txt",
)


def labels_from_texts(synsets_text: str, lemmas_text: str) -> list[str]:
    """The class texts in class order; ValueError on anything unexpected in the inputs."""
    synsets = [line.strip() for line in synsets_text.splitlines() if line.strip()]
    if len(synsets) != CLASSES or len(set(synsets)) != CLASSES:
        raise ValueError(f"expected {CLASSES} distinct synsets, found {len(synsets)}")
    lemmas: dict[str, str] = {}
    for line in lemmas_text.splitlines():
        if not line.strip():
            continue
        synset, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"malformed lemma line: {line!r}")
        lemmas[synset.strip()] = text.strip()
    missing = [s for s in synsets if s not in lemmas]
    if missing:
        raise ValueError(f"no lemma for {len(missing)} synsets, e.g. {missing[0]}")
    return [lemmas[s] for s in synsets]


def labels_from_wheel(wheel: pathlib.Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        synsets = archive.read(SYNSETS).decode("utf-8")
        lemmas = archive.read(LEMMAS).decode("utf-8")
    return labels_from_texts(synsets, lemmas)


def download_timm_wheel(folder: pathlib.Path) -> pathlib.Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "timm", "-d", str(folder)]
    subprocess.run(command, check=True, timeout=300)
    wheels = sorted(folder.glob("timm-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip download left no timm wheel in {folder}")
    return wheels[-1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=pathlib.Path, help="a timm wheel (default: pip download)")
    parser.add_argument(
        "--output", type=pathlib.Path, help="write here only (default: both label files)"
    )
    args = parser.parse_args(argv)
    try:
        if args.wheel is not None:
            wheel = args.wheel
            labels = labels_from_wheel(wheel)
        else:
            with tempfile.TemporaryDirectory(prefix="timmwheel") as tmp:
                wheel = download_timm_wheel(pathlib.Path(tmp))
                labels = labels_from_wheel(wheel)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, subprocess.SubprocessError) as exc:
        print(f"derive_imagenet_labels: {exc}", file=sys.stderr)
        return 1
    for output in DEFAULT_OUTPUTS if args.output is None else (args.output,):
        output.write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
        print(f"wrote {len(labels)} labels from {wheel.name} to {output}")
    print(f"index 281: {labels[281]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
