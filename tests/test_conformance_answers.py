"""What the harness credits, against real servers in process: a refusal only from a server that
then serves a well-formed echo (kit.refused, issue 18), and a status for a body that is not
a PredictRequest in either transport's words (hostile.RawAnswer: upstream's C++ server says
INTERNAL `Unable to parse request`, grpcio's Python servers `Exception deserializing
request!`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from conformance.drive import Endpoint
from conformance.reporting import repro
from conformance.verify import hostile, kit
from conformance.verify.wire import Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import ReferenceServer, replies
from reference_server.behaviour import Answerer, Behaviour
from reference_server.registry import INVALID_INPUTS

UPSTREAM_WORDS = "Unable to parse request"  # MindSpore Serving 2.0.2's C++ gRPC server


def _malformed_echo() -> pb.PredictRequest:
    x = pb.Tensor(dtype=pb.MS_FLOAT32, data=b"\x00" * 3)  # 3 bytes: no float32 count
    x.shape.dims.append(1)
    return kit.echo_request([x])


class DyingWorker(Behaviour):
    """Refuses the first request it gets properly, then answers every call code 2 `servable
    is not available`, as an upstream whose worker died does."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, dispatcher: Answerer, request: pb.PredictRequest) -> pb.PredictReply:
        self.calls += 1
        if self.calls == 1:
            return super().predict(dispatcher, request)
        text = "Request servable(conformance) method(echo) , servable is not available"
        return replies.error_reply(request.servable_spec, INVALID_INPUTS, text)


def _target(server: ReferenceServer) -> Target:
    return Target(Endpoint("core", server.address), isolated=True)


def test_a_refusal_from_a_server_that_serves_is_credited(kit_server: ReferenceServer) -> None:
    request = _malformed_echo()
    with _target(kit_server) as server:
        error = kit.refused(server, server.predict(request), "3 bytes of float32")
    assert error.code == INVALID_INPUTS and "check failed" in error.text
    # The echo after it is not what a failure report reproduces: the refused request is.
    snippet = repro.last_snippet()
    assert snippet is not None and 'data: "\\000\\000\\000"' in snippet


def test_a_refusal_from_a_dying_server_is_not_credited(
    start_server: Callable[..., ReferenceServer],
) -> None:
    with _target(start_server(behaviour=DyingWorker())) as server:
        reply = server.predict(_malformed_echo())
        with pytest.raises(AssertionError, match="right after the refusal of 3 bytes") as caught:
            kit.refused(server, reply, "3 bytes of float32")
    assert "servable is not available" in str(caught.value)


class ZeroedEcho(Behaviour):
    """Refuses as it should, and answers echo with the data zeroed."""

    def predict(self, dispatcher: Answerer, request: pb.PredictRequest) -> pb.PredictReply:
        reply = super().predict(dispatcher, request)
        for instance in reply.instances:
            y = instance.items["y"]
            y.data = bytes(len(y.data))
        return reply


def test_a_wrong_echo_after_a_refusal_is_not_credited(
    start_server: Callable[..., ReferenceServer],
) -> None:
    with _target(start_server(behaviour=ZeroedEcho())) as server:
        request = make_request("no-such-servable", kit.ECHO, [{"x": codec.text_tensor("x")}])
        with pytest.raises(AssertionError, match="sent MS_FLOAT32"):
            kit.refused(server, server.predict(request), "an unknown servable")


# -- a body that is not a PredictRequest, answered in upstream's words ----------------------


def _upstream_words(bodies: Iterator[bytes], context: grpc.ServicerContext) -> Any:
    for _ in bodies:  # whatever came, as upstream's transport answers it
        pass
    context.abort(grpc.StatusCode.INTERNAL, UPSTREAM_WORDS)


@pytest.fixture
def speaks_upstream() -> Iterator[grpc.Channel]:
    """A channel to a gRPC server that answers every Predict call as upstream's C++ transport
    answers a body it cannot parse."""
    handler = grpc.method_handlers_generic_handler(
        "mindspore.serving.proto.MSService",
        {"Predict": grpc.stream_unary_rpc_method_handler(_upstream_words)},
    )
    server = grpc.server(ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(None)


def test_upstreams_words_for_a_body_that_is_not_protobuf_are_an_answer(
    speaks_upstream: grpc.Channel,
) -> None:
    answers = [
        hostile.raw_call(speaks_upstream, b"\xff\xff", 5.0),
        hostile.no_message_call(speaks_upstream, 5.0),
    ]
    for answer in answers:
        assert (answer.code, answer.details) == (grpc.StatusCode.INTERNAL, UPSTREAM_WORDS)
        assert answer.answered, answer


@pytest.mark.parametrize(
    ("code", "details"),
    [
        (grpc.StatusCode.INTERNAL, UPSTREAM_WORDS),
        (grpc.StatusCode.INTERNAL, "Exception deserializing request!"),
        (
            grpc.StatusCode.UNIMPLEMENTED,
            '"/mindspore.serving.proto.MSService/Predict" requires exactly one request message.',
        ),
    ],
    ids=["upstream", "grpcio-body", "grpcio-no-message"],
)
def test_either_transports_words_are_an_answer(code: grpc.StatusCode, details: str) -> None:
    assert hostile.RawAnswer(code, details, 0.01).answered


@pytest.mark.parametrize(
    "answer",
    [
        hostile.RawAnswer(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", 10.0),
        hostile.RawAnswer(grpc.StatusCode.UNAVAILABLE, "Socket closed", 0.1),
        hostile.RawAnswer(grpc.StatusCode.OK, "", 0.1, None, 2),  # bytes that are no PredictReply
    ],
    ids=["deadline", "gone", "not-a-reply"],
)
def test_no_answer_is_not_an_answer(answer: hostile.RawAnswer) -> None:
    assert not answer.answered
