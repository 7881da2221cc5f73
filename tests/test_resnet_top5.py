"""resnet50's classify_top5 and classify_top1_v1 (protocol §6, conformance-kit §1).

classify_top5: ``label`` is the five best label texts joined by ``;`` best first, ``score`` a
float32 ``[5]`` tensor of their scores in the same (descending) order. classify_top1_v1: the
same label as classify_top1. Checked against the model's logits ranked here independently (pure
Python), in the servable alone and over gRPC.
"""

from __future__ import annotations

import itertools
import pathlib
from typing import Any

import numpy as np
import pytest
from support.rpc import errors, predict, request

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_client.arrays import gpu_problem
from reference_server.backend import NUMPY_BACKEND, select_backend
from reference_server.registry import SYSTEM_ERROR, InstanceError, Method, stage_error_text
from reference_server.servables.resnet50 import resnet50_servable, servable
from reference_server.servables.resnet50.cache import seeded_host_model
from reference_server.servables.resnet50.labels import imagenet_labels
from reference_server.servables.resnet50.model import top_k
from reference_server.servables.resnet50.preprocess import preprocess

IMAGES = pathlib.Path(__file__).resolve().parent.parent / "examples" / "test_image"
CHELSEA = (IMAGES / "chelsea.jpg").read_bytes()
COFFEE = (IMAGES / "coffee.png").read_bytes()
METHODS = ("classify_top1", "classify_top1_v1", "classify_top5")


def _ranked(row: np.ndarray) -> list[int]:
    """The five best class indices of one row of logits: descending score, ties by index."""
    return sorted(range(len(row)), key=lambda index: (-float(row[index]), index))[:5]


# --- the pure ranking -------------------------------------------------------------------------


def test_top_k_orders_best_first_and_breaks_ties_by_index() -> None:
    logits = np.array([[0.5, 3.0, -1.0, 3.0, 2.0, 0.5, 7.0]], np.float32)
    indices, scores = top_k(logits, 5)
    assert indices.tolist() == [[6, 1, 3, 4, 0]]
    assert scores.dtype == np.float32 and scores.shape == (1, 5)
    assert scores.tolist() == [[7.0, 3.0, 3.0, 2.0, 0.5]]


def test_top_k_agrees_with_argmax_and_an_independent_ranking() -> None:
    rng = np.random.default_rng(5)
    # Rounded to a few values so that many rows hold ties among their best scores.
    logits = np.round(rng.normal(size=(64, 1000)), 1).astype(np.float32)
    indices, scores = top_k(logits, 5)
    assert indices[:, 0].tolist() == np.argmax(logits, axis=1).tolist()
    for row, got, got_scores in zip(logits, indices, scores, strict=True):
        assert got.tolist() == _ranked(row)
        assert got_scores.tolist() == row[got].tolist()


# --- the servable -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def methods() -> dict[str, Method]:
    return dict(resnet50_servable().versions[1])


def _run(method: Method, *images: object) -> list[Any]:
    return list(method.run([{"image": image} for image in images], NUMPY_BACKEND))


def test_servable_declares_upstreams_three_methods(methods: dict[str, Method]) -> None:
    assert sorted(methods) == sorted(METHODS)
    assert {name: (m.inputs, m.outputs) for name, m in methods.items()} == {
        "classify_top1": (("image",), ("label",)),
        "classify_top1_v1": (("image",), ("label",)),
        "classify_top5": (("image",), ("label", "score")),
    }
    assert not any(";" in label for label in imagenet_labels())  # the join is unambiguous


@pytest.fixture(scope="module")
def top5(methods: dict[str, Method]) -> list[Any]:
    # chelsea twice: the same image in one batch must get the same answer.
    return _run(methods["classify_top5"], CHELSEA, COFFEE, CHELSEA)


def test_top5_is_the_models_five_best_in_descending_order(top5: list[Any]) -> None:
    logits = seeded_host_model().logits(np.stack([preprocess(CHELSEA), preprocess(COFFEE)]))
    labels = imagenet_labels()
    for outcome, row in zip(top5[:2], logits, strict=True):
        assert set(outcome) == {"label", "score"}
        expected = _ranked(row)
        assert outcome["label"].split(";") == [labels[i] for i in expected]
        score = outcome["score"]
        assert isinstance(score, np.ndarray) and score.dtype == np.float32 and score.shape == (5,)
        np.testing.assert_allclose(score, row[expected], rtol=1e-5)
        assert all(a >= b for a, b in itertools.pairwise(score.tolist()))
        assert len(set(expected)) == 5


# The same float32 sums in another row of a batch, or in a batch of another size, may round
# differently in the last bit: how BLAS splits a product among its threads depends on the sizes
# and on what else the process computes at the time. A few ulps, not one bit for bit.
SAME_RTOL = 1e-6


def test_same_image_same_top5(top5: list[Any]) -> None:
    assert top5[0]["label"] == top5[2]["label"]
    assert top5[0]["score"].dtype == top5[2]["score"].dtype == np.float32
    np.testing.assert_allclose(top5[0]["score"], top5[2]["score"], rtol=SAME_RTOL)


def test_top1_and_top1_v1_agree_with_top5s_first_label(
    methods: dict[str, Method], top5: list[Any]
) -> None:
    firsts = [outcome["label"].split(";")[0] for outcome in top5[:2]]
    for name in ("classify_top1", "classify_top1_v1"):
        assert [o["label"] for o in _run(methods[name], CHELSEA, COFFEE)] == firsts


@pytest.mark.parametrize("name", METHODS)
def test_a_bad_image_fails_alone_naming_its_method(methods: dict[str, Method], name: str) -> None:
    outcomes = _run(methods[name], b"", COFFEE)
    assert isinstance(outcomes[0], InstanceError) and outcomes[0].code == SYSTEM_ERROR
    assert outcomes[0].message == stage_error_text(
        "resnet50", "preprocess", name, 1, "cannot decode image: empty input"
    )
    assert isinstance(outcomes[1], dict) and "label" in outcomes[1]


@pytest.mark.parametrize(
    ("name", "function"), [("classify_top1_v1", "top1"), ("classify_top5", "top5")]
)
def test_a_model_failure_names_the_methods_stage_two(
    name: str, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_cache: object, _backend: object) -> None:
        raise MemoryError("out of device memory")

    monkeypatch.setattr(servable.ModelCache, "model", broken)
    [outcome] = _run(resnet50_servable().versions[1][name], COFFEE)
    assert isinstance(outcome, InstanceError)
    assert outcome.message == stage_error_text(
        "resnet50", function, name, 2, "MemoryError: out of device memory"
    )


# --- over gRPC ----------------------------------------------------------------------------------


def test_top5_on_the_wire(kit_stub: ms_service_pb2_grpc.MSServiceStub, top5: list[Any]) -> None:
    reply = predict(
        kit_stub, request("resnet50", "classify_top5", [{"image": CHELSEA}, {"image": COFFEE}]), 60
    )
    assert errors(reply) == [] and len(reply.instances) == 2
    for instance, expected in zip(reply.instances, top5[:2], strict=True):
        label, score = instance.items["label"], instance.items["score"]
        assert label.dtype == pb.MS_STRING and list(label.shape.dims) == []
        assert [bytes(v).decode() for v in label.bytes_val] == [expected["label"]]
        assert score.dtype == pb.MS_FLOAT32 and list(score.shape.dims) == [5]
        got = np.frombuffer(score.data, "<f4")
        assert got.shape == (5,)
        np.testing.assert_allclose(got, expected["score"], rtol=SAME_RTOL)


@pytest.mark.gpu
@pytest.mark.skipif(gpu_problem() is not None, reason=f"no GPU: {gpu_problem()}")
def test_top5_on_cupy_answers_as_numpy(methods: dict[str, Method], top5: list[Any]) -> None:
    # The logits cross to the host and are ranked there: host float32 scores on every backend.
    batch = [{"image": image} for image in (CHELSEA, COFFEE)]
    on_gpu: list[Any] = list(methods["classify_top5"].run(batch, select_backend("gpu")))
    for got, expected in zip(on_gpu, top5[:2], strict=True):
        assert got["label"] == expected["label"]
        assert type(got["score"]) is np.ndarray and got["score"].dtype == np.float32
        np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-4)
