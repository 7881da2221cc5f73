"""The resnet profile is "not applicable" only when the server says it has no servable resnet50;
a resnet50 that is there but broken (wrong answers, other errors, no answer) runs the profile
and fails it. Probed against in-process generic-handler servers, one behaviour each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from conformance.drive import Endpoint
from conformance.verify.resnet import ABSENT, SERVABLE, says_unknown, why_not_deployed
from protos import codec
from protos import ms_service_pb2 as pb

Behaviour = Callable[[pb.PredictRequest, Any], pb.PredictReply]


def _error(request: pb.PredictRequest, code: int, text: str) -> pb.PredictReply:
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    reply.error_msg.add(error_code=code, error_msg=text.encode())
    return reply


def upstream_unknown(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    spec = request.servable_spec
    text = f"Request servable({spec.name}) method({spec.method_name}) , servable is not available"
    return _error(request, 2, text)


def own_words_unknown(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    return _error(request, 2, f"no servable named {request.servable_spec.name!r} here")


def missing_input(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    # resnet50 deployed, but declaring another input name: a broken resnet50.
    if request.servable_spec.name == SERVABLE:
        return _error(request, 2, "input 'images' is missing")
    return own_words_unknown(request, context)


def model_error(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    if request.servable_spec.name == SERVABLE:
        return _error(request, 3, "resnet50 failed to load its weights")
    return upstream_unknown(request, context)


def bad_label(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    reply.instances.add().items["label"].CopyFrom(codec.text_tensor("not an ImageNet label"))
    return reply


def status_error(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    context.abort(grpc.StatusCode.INTERNAL, "model crashed")
    raise AssertionError("unreachable")


class GenericServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.released = threading.Event()
        self.behaviour = behaviour

        def predict(request_bytes: bytes, context: Any) -> bytes:
            request = pb.PredictRequest.FromString(request_bytes)
            if self.behaviour is hangs:
                self.released.wait(30)
            return self.behaviour(request, context).SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "mindspore.serving.proto.MSService",
            {"Predict": grpc.unary_unary_rpc_method_handler(predict)},
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(2), options=[("grpc.so_reuseport", 0)])
        self.server.add_generic_rpc_handlers((handler,))
        self.endpoint = Endpoint(
            "core", f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        )
        self.server.start()

    def close(self) -> None:
        self.released.set()
        self.server.stop(grace=None).wait(5)


def hangs(request: pb.PredictRequest, context: Any) -> pb.PredictReply:
    return upstream_unknown(request, context)  # after GenericServer's wait


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], Endpoint]]:
    started: list[GenericServer] = []

    def start(behaviour: Behaviour) -> Endpoint:
        started.append(GenericServer(behaviour))
        return started[-1].endpoint

    yield start
    for server in started:
        server.close()


@pytest.mark.parametrize("behaviour", [upstream_unknown, own_words_unknown])
def test_an_unknown_servable_is_not_applicable(
    serve: Callable[[Behaviour], Endpoint], behaviour: Behaviour
) -> None:
    why = why_not_deployed(serve(behaviour), 10.0)
    assert why is not None and "answered (2, " in why


@pytest.mark.parametrize("behaviour", [missing_input, model_error, bad_label, status_error, hangs])
def test_a_broken_resnet50_runs_the_profile(
    serve: Callable[[Behaviour], Endpoint], behaviour: Behaviour
) -> None:
    assert why_not_deployed(serve(behaviour), 1.0) is None


def test_says_unknown_reads_replies() -> None:
    request = pb.PredictRequest(servable_spec=pb.ServableSpec(name=SERVABLE))
    absent = pb.PredictRequest(servable_spec=pb.ServableSpec(name=ABSENT))
    upstream = upstream_unknown(request, None)
    assert says_unknown(upstream, None) is not None  # upstream's words suffice
    own = own_words_unknown(request, None)
    assert says_unknown(own, None) is None  # other words: only if the same as for ABSENT
    assert says_unknown(own, own_words_unknown(absent, None)) is not None
    assert says_unknown(own, upstream_unknown(absent, None)) is None
    with_code_1 = _error(request, 1, f"no servable named {SERVABLE!r} here")
    assert says_unknown(with_code_1, own_words_unknown(absent, None)) is None
    per_instance = pb.PredictReply()
    per_instance.instances.add()
    per_instance.error_msg.add(error_code=2, error_msg=b"servable is not available")
    assert says_unknown(per_instance, None) is None  # not a request-level error
