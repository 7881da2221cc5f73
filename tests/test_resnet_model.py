"""The whole network against an independent reference, and the servable's batch behaviour."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from reference_server.backend import NUMPY_BACKEND
from reference_server.registry import SYSTEM_ERROR, InstanceError, Method, stage_error_text
from reference_server.servables.resnet50 import cache, resnet50_servable, servable
from reference_server.servables.resnet50.cache import seeded_host_model
from reference_server.servables.resnet50.labels import imagenet_labels
from reference_server.servables.resnet50.model import ResNet50, fold_resnet50
from reference_server.servables.resnet50.preprocess import preprocess
from reference_server.servables.resnet50.weights import STAGES, seeded_state_dict

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "examples" / "test_image"
CHELSEA = (IMAGES / "chelsea.jpg").read_bytes()
COFFEE = (IMAGES / "coffee.png").read_bytes()


# --- an independent float64 NCHW reference, written from torchvision's module structure ---


def ref_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    n, _, h, wd = x.shape
    cout, _, k, _ = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, cout, ho, wo))
    for i in range(k):
        for j in range(k):
            patch = padded[
                :, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride
            ]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j], optimize=True)
    return out


def ref_bn(x: np.ndarray, state: dict[str, np.ndarray], name: str) -> np.ndarray:
    def per_channel(suffix: str) -> np.ndarray:
        return state[f"{name}.{suffix}"].astype(np.float64)[None, :, None, None]

    normed = (x - per_channel("running_mean")) / np.sqrt(per_channel("running_var") + 1e-5)
    return normed * per_channel("weight") + per_channel("bias")


def ref_forward(state: dict[str, np.ndarray], images_nhwc: np.ndarray) -> np.ndarray:
    relu = lambda a: np.maximum(a, 0)  # noqa: E731

    def conv_bn(x: np.ndarray, conv: str, bn: str, stride: int, pad: int) -> np.ndarray:
        return ref_bn(
            ref_conv(x, state[f"{conv}.weight"].astype(np.float64), stride, pad), state, bn
        )

    x = images_nhwc.transpose(0, 3, 1, 2).astype(np.float64)
    x = relu(conv_bn(x, "conv1", "bn1", 2, 3))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    side = (x.shape[2] - 1) // 2 + 1
    x = np.max(
        [
            padded[:, :, i : i + 2 * side - 1 : 2, j : j + 2 * side - 1 : 2]
            for i in range(3)
            for j in range(3)
        ],
        axis=0,
    )
    for stage, (blocks, _, stride) in enumerate(STAGES, start=1):
        for b in range(blocks):
            p, s = f"layer{stage}.{b}", stride if b == 0 else 1
            y = relu(conv_bn(x, f"{p}.conv1", f"{p}.bn1", 1, 0))
            y = relu(conv_bn(y, f"{p}.conv2", f"{p}.bn2", s, 1))
            y = conv_bn(y, f"{p}.conv3", f"{p}.bn3", 1, 0)
            short = conv_bn(x, f"{p}.downsample.0", f"{p}.downsample.1", s, 0) if b == 0 else x
            x = relu(y + short)
    pooled = x.mean(axis=(2, 3))
    return pooled @ state["fc.weight"].T.astype(np.float64) + state["fc.bias"]


def test_network_matches_reference_with_real_batch_norm_statistics() -> None:
    # Non-trivial BN statistics everywhere, so folding and every stage's stride are exercised;
    # 32x32 inputs keep the float64 reference fast (layer4 ends at 1x1).
    rng = np.random.default_rng(11)
    state = seeded_state_dict(seed=5)
    for name, values in state.items():
        if ".bn" in name or "bn1" in name or "downsample.1" in name:
            if name.endswith("running_var"):
                state[name] = rng.uniform(0.5, 2.0, values.shape).astype(np.float32)
            elif name.endswith("weight"):
                state[name] = rng.uniform(0.5, 1.5, values.shape).astype(np.float32)
            else:
                state[name] = rng.normal(0, 0.2, values.shape).astype(np.float32)
    images = rng.standard_normal((2, 32, 32, 3)).astype(np.float32)
    got = fold_resnet50(state).logits(images)
    want = ref_forward(state, images)
    assert got.shape == (2, 1000) and got.dtype == np.float32
    relative = np.abs(got - want).max() / np.abs(want).max()
    assert relative < 1e-4
    assert np.array_equal(got.argmax(1), want.argmax(1))
    assert not np.allclose(got[0], got[1])


# --- the seeded model on the shipped test images ---


@pytest.fixture(scope="module")
def model() -> ResNet50:
    return seeded_host_model()


def test_test_images_get_pinned_labels_and_logits(model: ResNet50) -> None:
    batch = np.stack([preprocess(CHELSEA), preprocess(COFFEE)])
    logits = model.logits(batch)
    labels = [imagenet_labels()[i] for i in model.top1(batch)]
    # The seeded, untrained network: arbitrary but fixed answers (numpy's PCG64 stream).
    assert labels == ["power drill", "power drill"]
    np.testing.assert_allclose(logits[:, 740], [30.627, 51.927], rtol=1e-3)
    # Batch composition does not change an image's result.
    np.testing.assert_allclose(model.logits(batch[1:]), logits[1:], rtol=1e-5, atol=1e-4)


def classify(method: Method, *images: object) -> list:
    return list(method.run([{"image": image} for image in images], NUMPY_BACKEND))


@pytest.fixture(scope="module")
def method() -> Method:
    return resnet50_servable().versions[1]["classify_top1"]


def test_servable_declaration(method: Method) -> None:
    s = resnet50_servable()
    assert (s.name, s.latest_version, list(s.versions[1])) == (
        "resnet50",
        1,
        ["classify_top1", "classify_top1_v1", "classify_top5"],
    )
    assert (method.inputs, method.outputs) == (("image",), ("label",))


def preprocess_error(detail: str) -> str:
    return stage_error_text("resnet50", "preprocess", "classify_top1", 1, detail)


def test_bad_images_fail_alone_in_a_batch(method: Method) -> None:
    bomb = bytearray(CHELSEA)  # the frame header now claims 9000 x 9000 (81 Mpx)
    marker = bomb.index(b"\xff\xc0")
    bomb[marker + 5 : marker + 9] = (9000).to_bytes(2, "big") * 2
    outcomes = classify(method, CHELSEA, b"", COFFEE, CHELSEA[:3000], bytes(bomb), "text", CHELSEA)
    assert [o["label"] for o in (outcomes[0], outcomes[2], outcomes[6])] == ["power drill"] * 3
    errors = [outcomes[i] for i in (1, 3, 4, 5)]
    assert all(isinstance(e, InstanceError) and e.code == SYSTEM_ERROR for e in errors)
    assert errors[0].message == preprocess_error("cannot decode image: empty input")
    assert errors[1].message.startswith(
        preprocess_error("cannot decode image: image file is truncated")
    )
    assert errors[2].message.startswith(
        preprocess_error("image too large: 9000x9000 is 81000000 pixels")
    )
    assert errors[3].message == preprocess_error("image must be bytes (MS_BYTES), got str")


def test_a_request_of_only_bad_images_never_builds_a_batch(method: Method) -> None:
    outcomes = classify(method, b"x", b"")
    assert all(isinstance(o, InstanceError) for o in outcomes) and len(outcomes) == 2


def test_large_requests_run_in_chunks(method: Method, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servable, "MAX_BATCH", 2)
    outcomes = classify(method, CHELSEA, b"", COFFEE, CHELSEA, COFFEE)
    assert isinstance(outcomes[1], InstanceError)
    assert [o["label"] for i, o in enumerate(outcomes) if i != 1] == ["power drill"] * 4


# --- weights from a file: lazy, thread-safe, same answers as the seeded model ---


@pytest.fixture(scope="module")
def seeded_npz() -> Iterator[pathlib.Path]:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="rn", dir="/tmp"))
    path = folder / "seeded.npz"
    np.savez(path, **seeded_state_dict())  # type: ignore[arg-type]
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def test_weights_file_builds_once_under_concurrency(
    seeded_npz: pathlib.Path, model: ResNet50
) -> None:
    cache = servable.ModelCache(seeded_npz)
    assert cache.built() == ()
    barrier = threading.Barrier(6)
    got: list[ResNet50] = []

    def first_call() -> None:
        barrier.wait(timeout=10)
        got.append(cache.model(NUMPY_BACKEND))

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(got) == 6 and all(m is got[0] for m in got)
    assert cache.built() == ("numpy",)
    batch = preprocess(CHELSEA)[None]
    np.testing.assert_array_equal(got[0].logits(batch), model.logits(batch))


def test_weights_are_read_on_first_call_not_at_construction(seeded_npz: pathlib.Path) -> None:
    copy = seeded_npz.with_name("copy.npz")
    shutil.copyfile(seeded_npz, copy)
    start = time.perf_counter()
    method = resnet50_servable(copy).versions[1]["classify_top1"]
    # Headers only (the whole file takes seconds); the missing file below is what proves it,
    # this bound only that nothing slow runs at construction, however busy the machine.
    assert time.perf_counter() - start < 2.0
    copy.unlink()  # after the start-up check, before the first call
    outcomes = classify(method, CHELSEA, b"")
    assert isinstance(outcomes[0], InstanceError) and outcomes[0].code == SYSTEM_ERROR
    assert outcomes[0].message == stage_error_text(
        "resnet50", "top1", "classify_top1", 2, f"ValueError: resnet50 weights {copy}: no such file"
    )
    assert outcomes[1].message == preprocess_error("cannot decode image: empty input")


def test_bad_weights_file_is_refused_at_construction(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match=r"^resnet50 weights .*: no such file$"):
        resnet50_servable(tmp_path / "absent.npz")


def test_folded_model_cache_round_trips(tmp_path: pathlib.Path) -> None:
    built: list[int] = []

    def build() -> ResNet50:
        built.append(1)
        return seeded_host_model()

    first = cache.cached_model("k", build, tmp_path)
    again = cache.cached_model("k", build, tmp_path)
    assert built == [1]  # the second came from the file
    stored, loaded = cache.to_arrays(first), cache.to_arrays(again)
    assert stored.keys() == loaded.keys()
    assert all(np.array_equal(stored[name], loaded[name]) for name in stored)
    assert [p.name for p in tmp_path.iterdir()] == ["resnet50-folded-k.npz"]
    # A file that is not a folded model is rebuilt and replaced, never trusted.
    (tmp_path / "resnet50-folded-k.npz").write_bytes(b"not a zip")
    cache.cached_model("k", build, tmp_path)
    assert built == [1, 1]
    assert cache.cached_model("k", build, tmp_path) is not None and built == [1, 1]


def test_cache_key_changes_with_the_weights() -> None:
    assert cache.model_key(b"a") != cache.model_key(b"b")
    assert cache.cache_dir({"REFERENCE_SERVER_CACHE_DIR": ""}) is None
    assert cache.cache_dir({"XDG_CACHE_HOME": "/x"}) == pathlib.Path("/x/mindspore-serving-kit")
