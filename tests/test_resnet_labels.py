"""The shipped ImageNet-1k labels, and the script that derived them from timm's data files."""

from __future__ import annotations

import importlib.util
import pathlib
import zipfile

import pytest

from reference_server.servables.resnet50.labels import imagenet_labels

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_shipped_labels() -> None:
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[281] == "tabby, tabby cat"
    assert labels[0] == "tench, Tinca tinca"
    assert labels[999] == "toilet tissue, toilet paper, bathroom tissue"
    assert all(label and label == label.strip() and "\t" not in label for label in labels)
    # ImageNet-1k has two "crane" classes (bird 134, machine 517): texts are not all unique.
    assert labels[134] == labels[517] == "crane"
    assert len(set(labels)) == 999


def derive_module():
    path = ROOT / "scripts" / "derive_imagenet_labels.py"
    spec = importlib.util.spec_from_file_location("derive_imagenet_labels", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_timm_wheel(folder: pathlib.Path, drop_lemma: bool = False) -> pathlib.Path:
    """A wheel-shaped zip with the two data files: synsets in class order, lemmas unordered."""
    synsets = [f"n{index:08d}" for index in range(1000)]
    lemmas = [f"{s}\tclass {i}, the {i}th" for i, s in enumerate(synsets)]
    lemmas.append("n99999999\tnot an ImageNet-1k class")
    if drop_lemma:
        lemmas.pop(5)
    wheel = folder / "timm-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("timm/data/_info/imagenet_synsets.txt", "\n".join(synsets) + "\n")
        archive.writestr(
            "timm/data/_info/imagenet_synset_to_lemma.txt", "\n".join(reversed(lemmas))
        )
    return wheel


def test_derive_script_orders_lemmas_by_synset(tmp_path: pathlib.Path) -> None:
    derive = derive_module()
    output = tmp_path / "labels.txt"
    assert derive.main(["--wheel", str(fake_timm_wheel(tmp_path)), "--output", str(output)]) == 0
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1000
    assert lines[281] == "class 281, the 281th"


def test_derive_script_refuses_incomplete_data(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    derive = derive_module()
    output = tmp_path / "labels.txt"
    wheel = fake_timm_wheel(tmp_path, drop_lemma=True)
    assert derive.main(["--wheel", str(wheel), "--output", str(output)]) == 1
    assert "no lemma for 1 synsets, e.g. n00000005" in capsys.readouterr().err
    assert not output.exists()
