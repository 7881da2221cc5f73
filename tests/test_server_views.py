"""The reference server's view path (issue 21): a large request read by reference_server.views gets
the same reply, byte for byte once parsed, as the same request parsed by protobuf; only the
reference Behaviour takes it; a real server takes it for large bodies and answers correctly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from support.rpc import output, predict, raw_tensor, request, stub_for

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import ReferenceServer, servicer, views, wire
from reference_server.backend import ArrayBackend
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    Inputs,
    Method,
    Outcome,
    Registry,
    Servable,
    method_table,
)
from reference_server.servables import kit_registry

LARGE = wire.LARGE_TENSOR
BIG = np.arange(LARGE // 4 * 3, dtype=np.float32).reshape(3, -1)  # 3 large tensor payloads
UNKNOWN = b"\xb8\x06\x07"  # field 103, varint 7: in no message of the proto


def _bad_second_output(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
    """Instance 0: a large output, then one that cannot go on the wire (the instance fails
    after its large payload was set aside); instance 1: fine."""
    good: Outcome = {"a": np.ones(LARGE, np.uint8), "b": np.int64(1)}
    bad: Outcome = {"a": np.zeros(LARGE, np.uint8), "b": object()}
    return [bad, good][: len(batch)]


SEEN: list[dict[str, Any]] = []


def _record(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
    SEEN.extend(dict(inputs) for inputs in batch)
    return [{"y": np.int64(0)} for _ in batch]


REGISTRY = kit_registry()
REGISTRY.add(
    Servable("odd", {1: method_table(Method("m", ("x",), ("a", "b"), _bad_second_output))})
)
REGISTRY.add(Servable("record", {1: method_table(Method("m", ("s", "b", "n"), ("y",), _record))}))


def _with_unknown(tensor: pb.Tensor) -> pb.Tensor:
    tensor = pb.Tensor.FromString(tensor.SerializeToString() + UNKNOWN)
    return tensor


def _spec_with_unknown(message: pb.PredictRequest) -> pb.PredictRequest:
    message.servable_spec.MergeFromString(UNKNOWN)
    return message


CASES: dict[str, pb.PredictRequest] = {
    "echo uint8": request("conformance", "echo", [{"x": np.ones(LARGE * 2, np.uint8)}]),
    "echo float32 2-d, 3 instances": request("conformance", "echo", [{"x": BIG}] * 3),
    "echo big-endian dims": request("conformance", "echo", [{"x": BIG.astype(">f4")}]),
    "echo unknown fields": _spec_with_unknown(
        request("conformance", "echo", [{"x": _with_unknown(codec.array_to_tensor(BIG))}])
    ),
    "echo string": request("conformance", "echo", [{"x": "é" * LARGE}]),
    "echo bytes": request("conformance", "echo", [{"x": b"\x00\xff" * LARGE}]),
    "echo zero-size and large": request(
        "conformance", "echo", [{"x": np.zeros((4, 0), np.float64)}, {"x": BIG}]
    ),
    "fail: shape 3": request(
        "conformance",
        "fail",
        [{"x": BIG, "error": ""}, {"x": BIG, "error": "boom"}, {"x": BIG, "error": ""}],
    ),
    "fail: shape 2": request("conformance", "fail", [{"x": BIG, "error": "boom"}] * 2),
    "add_cast large": request("add", "add_cast", [{"x1": BIG, "x2": BIG.astype(np.int32)}]),
    "add_cast 2 instances": request("add", "add_cast", [{"x1": BIG, "x2": BIG}] * 2),
    "add_common: model size": request("add", "add_common", [{"x1": BIG, "x2": BIG}]),
    "missing input": request("add", "add_common", [{"x1": BIG}]),
    "bad data size": request(
        "add",
        "add_common",
        [{"x1": BIG, "x2": raw_tensor(pb.MS_FLOAT32, [3, 3], BIG.tobytes())}],
    ),
    "shared memory": request(
        "add", "add_common", [{"x1": BIG, "x2": pb.Tensor(dtype=pb.MS_FLOAT32, shm_data={})}]
    ),
    "bad text": request(
        "conformance",
        "echo",
        [{"x": raw_tensor(pb.MS_STRING, [1], bytes_val=[b"\xff" * LARGE])}],
    ),
    "unknown servable": request("nope", "echo", [{"x": BIG}]),
    "bad output after a large one": request("odd", "m", [{"x": BIG}, {"x": BIG}]),
}


# Each case's reply: (instances, error codes); the rest equal both ways.
SHAPES: dict[str, tuple[int, list[int]]] = {
    "echo uint8": (1, []),
    "echo float32 2-d, 3 instances": (3, []),
    "echo big-endian dims": (1, []),
    "echo unknown fields": (1, []),
    "echo string": (1, []),
    "echo bytes": (1, []),
    "echo zero-size and large": (2, []),
    "fail: shape 3": (3, [0, 3, 0]),
    "fail: shape 2": (0, [3]),
    "add_cast large": (1, []),
    "add_cast 2 instances": (2, []),
    "add_common: model size": (0, [2]),
    "missing input": (0, [2]),
    "bad data size": (0, [2]),
    "shared memory": (0, [2]),
    "bad text": (0, [2]),
    "unknown servable": (0, [2]),
    "bad output after a large one": (2, [3, 0]),
}


def _both_ways(message: pb.PredictRequest) -> tuple[bytes, bytes]:
    """The serialized reply through the protobuf path and through the view path."""
    body = message.SerializeToString()
    dispatcher = Dispatcher(REGISTRY)
    by_protobuf = wire.serialize_reply(dispatcher.answer(pb.PredictRequest.FromString(body)))
    view = views.read_request(body)
    assert view is not None
    payloads: wire.Payloads = {}
    by_view = wire.serialize_reply(dispatcher.answer(view, payloads), payloads)
    return by_protobuf, by_view


@pytest.mark.parametrize("case", CASES)
def test_view_path_replies_as_protobuf_path(case: str) -> None:
    by_protobuf, by_view = _both_ways(CASES[case])
    expected = pb.PredictReply.FromString(by_protobuf)
    got = pb.PredictReply.FromString(by_view)
    assert (len(got.instances), [e.error_code for e in got.error_msg]) == SHAPES[case]
    assert got == expected
    assert got.SerializeToString(deterministic=True) == expected.SerializeToString(
        deterministic=True
    )


def test_large_outputs_are_written_from_where_they_lie() -> None:
    """The echo's payload goes out as a view of the request's body; add's result as the array:
    neither is copied into the reply message."""
    found: dict[str, object] = {}
    for case in ("echo uint8", "add_cast large"):
        body = CASES[case].SerializeToString()
        view = views.read_request(body)
        assert view is not None
        payloads: wire.Payloads = {}
        reply = Dispatcher(REGISTRY).answer(view, payloads)
        assert reply.instances[0].items["y"].data == b""  # kept out of the message
        assert set(payloads) == {(0, "y")}
        payload = payloads[0, "y"]
        assert isinstance(payload, memoryview)
        found[case] = payload.obj
        if case == "echo uint8":
            assert payload.obj is body
    assert isinstance(found["add_cast large"], np.ndarray)


def test_decoded_inputs_are_as_documented() -> None:
    """A method without wire inputs gets str, bytes and a read-only array (registry.py), the
    array a view of the request's body."""
    data = np.arange(LARGE, dtype=np.int16)
    body = request("record", "m", [{"s": "é" * 9, "b": b"\xff" * 9, "n": data}]).SerializeToString()
    view = views.read_request(body)
    assert view is not None
    SEEN.clear()
    Dispatcher(REGISTRY).answer(view, {})
    (inputs,) = SEEN
    assert type(inputs["s"]) is str and inputs["s"] == "é" * 9
    assert type(inputs["b"]) is bytes and inputs["b"] == b"\xff" * 9
    array = inputs["n"]
    assert type(array) is np.ndarray and not array.flags.writeable
    np.testing.assert_array_equal(array, data)
    assert array.base is body  # numpy keeps the memoryview's owner


def test_variants_get_protobuf_messages() -> None:
    """Only the reference Behaviour takes the view path: a replaced step sees protobuf's types."""
    plain = servicer.PredictServicer(Dispatcher(REGISTRY))
    assert plain.takes_views()
    behaviour = Behaviour()
    behaviour.truncate = lambda text: text.encode()  # type: ignore[method-assign]
    assert not servicer.PredictServicer(Dispatcher(REGISTRY, behaviour=behaviour)).takes_views()

    class Sub(Behaviour):
        pass

    assert not servicer.PredictServicer(Dispatcher(REGISTRY, behaviour=Sub())).takes_views()


def test_steps_before_the_answer_keep_the_view_path() -> None:
    """``call`` and ``message_limits`` come before the answer: replacing them leaves the answer
    the reference server's, views included (the robustness and limits mutants rely on it)."""
    behaviour = Behaviour()
    behaviour.call = lambda serve, bodies, context: serve(bodies, context)  # type: ignore[method-assign]
    behaviour.message_limits = lambda max_msg_mb_size: (1, 1)  # type: ignore[method-assign]
    assert servicer.PredictServicer(Dispatcher(REGISTRY, behaviour=behaviour)).takes_views()
    behaviour.predict = lambda dispatcher, request: dispatcher.answer(request)  # type: ignore[method-assign]
    assert not servicer.PredictServicer(Dispatcher(REGISTRY, behaviour=behaviour)).takes_views()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    taken: list[int] = []
    read: Callable[..., Any] = views.read_request

    def counted(body: bytes, budget: int | None = None) -> Any:
        result = read(body, budget)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(views, "read_request", counted)
    return taken


def test_a_served_large_request_takes_the_view_path(
    start_server: Callable[..., ReferenceServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _counting(monkeypatch)
    server = start_server()
    with stub_for(server.address) as stub:
        reply = predict(stub, CASES["echo float32 2-d, 3 instances"])
        for index in range(3):
            np.testing.assert_array_equal(output(reply, index, "y"), BIG)
        reply = predict(stub, CASES["add_cast 2 instances"])
        np.testing.assert_array_equal(output(reply, 1, "y"), BIG + BIG)
        small = request("add", "add_cast", [{"x1": BIG[:, :4], "x2": BIG[:, :4]}])
        np.testing.assert_array_equal(output(predict(stub, small), 0, "y"), 2 * BIG[:, :4])
    assert taken == [True, True]  # the small one went to protobuf without a walk


def test_a_variant_server_sees_protobuf_requests(
    start_server: Callable[..., ReferenceServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[type] = []
    behaviour = Behaviour()
    check = behaviour.check_request

    def recording(message: pb.PredictRequest, registry: Registry) -> Any:
        seen.append(type(message))
        return check(message, registry)

    behaviour.check_request = recording  # type: ignore[method-assign,assignment]
    taken = _counting(monkeypatch)
    server = start_server(behaviour=behaviour)
    with stub_for(server.address) as stub:
        reply = predict(stub, CASES["echo uint8"])
    np.testing.assert_array_equal(output(reply, 0, "y"), np.ones(LARGE * 2, np.uint8))
    assert seen == [pb.PredictRequest]
    assert taken == []
