"""The weights table, the seeded initialisation, .npz validation/loading, and the converter."""

from __future__ import annotations

import importlib.util
import pathlib
import zipfile
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from reference_server.servables.resnet50 import validate_weights_file
from reference_server.servables.resnet50.weights import (
    EXPECTED_SHAPES,
    check_state_dict,
    load_weights_file,
    seeded_state_dict,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_is_torchvisions_resnet50() -> None:
    # 25,557,032 trainable parameters, 267 non-counter state_dict entries (320 with the 53
    # num_batches_tracked counters).
    trainable = sum(
        int(np.prod(shape)) for name, shape in EXPECTED_SHAPES.items() if "running_" not in name
    )
    assert trainable == 25_557_032
    assert len(EXPECTED_SHAPES) == 267
    assert EXPECTED_SHAPES["conv1.weight"] == (64, 3, 7, 7)
    assert EXPECTED_SHAPES["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert EXPECTED_SHAPES["layer2.0.conv2.weight"] == (128, 128, 3, 3)
    assert EXPECTED_SHAPES["layer3.5.bn3.running_var"] == (1024,)
    assert EXPECTED_SHAPES["layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    assert "layer2.1.downsample.0.weight" not in EXPECTED_SHAPES
    assert EXPECTED_SHAPES["fc.weight"] == (1000, 2048)


@pytest.fixture(scope="session")
def seeded() -> dict[str, np.ndarray]:
    return seeded_state_dict()


def test_seeded_init_is_deterministic_and_kaiming(seeded: dict[str, np.ndarray]) -> None:
    again = seeded_state_dict()
    assert all(np.array_equal(seeded[n], again[n]) for n in ("conv1.weight", "fc.bias"))
    assert all(a.dtype == np.float32 for a in seeded.values())
    # kaiming-normal, fan_out: std sqrt(2 / (Cout * kh * kw)).
    w = seeded["layer3.0.conv2.weight"]
    assert float(w.std()) == pytest.approx(np.sqrt(2 / (256 * 9)), rel=0.02)
    assert abs(float(w.mean())) < 1e-3
    assert np.all(seeded["bn1.weight"] == 1) and np.all(seeded["bn1.bias"] == 0)
    assert np.all(seeded["bn1.running_mean"] == 0) and np.all(seeded["bn1.running_var"] == 1)
    bound = 1 / np.sqrt(2048)
    assert float(np.abs(seeded["fc.weight"]).max()) <= bound
    assert float(np.abs(seeded["fc.weight"]).max()) > 0.99 * bound


def save_zeros(
    folder: pathlib.Path, edit: Callable[[dict[str, np.ndarray]], None] = lambda s: None
) -> pathlib.Path:
    """A compressed .npz of zeros with the right names and shapes, after ``edit``."""
    state = {name: np.zeros(shape, np.float16) for name, shape in EXPECTED_SHAPES.items()}
    edit(state)
    path = folder / "weights.npz"
    np.savez_compressed(path, **state)  # type: ignore[arg-type]
    return path


def test_valid_file_passes_and_counters_are_ignored(tmp_path: pathlib.Path) -> None:
    def add_counter(state: dict[str, np.ndarray]) -> None:
        state["bn1.num_batches_tracked"] = np.array(5, np.int64)

    path = save_zeros(tmp_path, add_counter)
    validate_weights_file(path)
    validate_weights_file(str(path))
    loaded = load_weights_file(path)
    assert set(loaded) == set(EXPECTED_SHAPES)
    assert loaded["conv1.weight"].dtype == np.float32


def _drop(name: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(state: dict[str, np.ndarray]) -> None:
        del state[name]

    return edit


def _set(name: str, value: np.ndarray) -> Callable[[dict[str, np.ndarray]], None]:
    return lambda state: state.__setitem__(name, value)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_drop("layer2.3.bn2.running_mean"), "missing arrays: layer2.3.bn2.running_mean"),
        (_set("layer5.0.conv1.weight", np.zeros(1)), "unexpected arrays: layer5.0.conv1.weight"),
        (
            _set("fc.weight", np.zeros((10, 2048), np.float32)),
            "array fc.weight has shape (10, 2048), expected (1000, 2048)",
        ),
        (
            _set("bn1.bias", np.zeros(64, np.int32)),
            "array bn1.bias has dtype int32, expected a floating type",
        ),
    ],
    ids=["missing", "extra", "shape", "dtype"],
)
def test_bad_names_shapes_and_dtypes_are_one_line_errors(
    tmp_path: pathlib.Path, edit: Callable[[dict[str, np.ndarray]], None], problem: str
) -> None:
    path = save_zeros(tmp_path, edit)
    with pytest.raises(ValueError) as info:
        validate_weights_file(path)
    assert str(info.value) == f"resnet50 weights {path}: {problem}"


def test_many_missing_names_are_summarised(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "few.npz"
    np.savez(path, **{"conv1.weight": np.zeros((64, 3, 7, 7), np.float32)})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"missing arrays: bn1\.weight, .* \(and 262 more\)$"):
        validate_weights_file(path)


def test_missing_file_and_non_archives(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match=r"^resnet50 weights .*nope\.npz: no such file$"):
        validate_weights_file(tmp_path / "nope.npz")
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match=r": not a NumPy \.npz archive \("):
        validate_weights_file(text)
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'readme.txt' is not an \.npy array"):
        validate_weights_file(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="no such file"):
        validate_weights_file(tmp_path)  # a directory


def test_non_finite_weights_refused_at_load(tmp_path: pathlib.Path) -> None:
    path = save_zeros(tmp_path, _set("fc.bias", np.full(1000, np.nan, np.float16)))
    validate_weights_file(path)  # headers are fine
    with pytest.raises(ValueError, match=r"array fc\.bias holds NaN or infinite values"):
        load_weights_file(path)


def test_converter_arrays_from_a_wrapped_prefixed_state_dict(
    seeded: dict[str, np.ndarray],
) -> None:
    convert = load_script("convert_resnet_weights")
    state: dict[str, object] = {f"module.{n}": a.astype(np.float64) for n, a in seeded.items()}
    state["module.bn1.num_batches_tracked"] = np.array(3)
    arrays = convert.state_dict_to_arrays({"state_dict": state, "epoch": 90})
    assert set(arrays) == set(EXPECTED_SHAPES)
    assert arrays["layer1.0.conv1.weight"].dtype == np.float32
    np.testing.assert_array_equal(arrays["fc.weight"], seeded["fc.weight"])
    check_state_dict(arrays)
    del state["module.fc.bias"]
    with pytest.raises(ValueError, match=r"missing arrays: fc\.bias$"):
        convert.state_dict_to_arrays(state)


def test_converter_without_torch_is_a_clear_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    convert = load_script("convert_resnet_weights")
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    assert convert.main([str(tmp_path / "in.pth"), str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convert_resnet_weights: needs PyTorch to read a checkpoint")
    assert err.count("\n") == 1
    assert not (tmp_path / "out.npz").exists()


def test_converter_needs_exactly_one_source(tmp_path: pathlib.Path) -> None:
    convert = load_script("convert_resnet_weights")
    with pytest.raises(SystemExit) as info:
        convert.main([str(tmp_path / "out.npz")])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        convert.main(["--torchvision", "in.pth", str(tmp_path / "out.npz")])
