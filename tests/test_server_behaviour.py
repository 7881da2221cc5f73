"""The Behaviour seam (reference_server.behaviour): a replaced step is used everywhere the server
uses it, over a real gRPC connection."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from support.rpc import errors, predict, raw_tensor, request, status_of, stub_for

from protos import ms_service_pb2 as pb
from protos.ms_service_pb2_grpc import MSServiceStub
from reference_server import checks
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import Registry
from reference_server.servables import kit_registry
from reference_server.server import ReferenceServer

M = np.ones((2, 2), np.float32)


class Variant(Behaviour):
    """Short texts, a refused request ends the call with FAILED_PRECONDITION, and a malformed
    shape is taken as it is."""

    def __init__(self) -> None:
        self.deployed_registries: list[Registry] = []

    def deployed(self, registry: Registry) -> Registry:
        self.deployed_registries.append(registry)
        return registry

    def truncate(self, text: str) -> bytes:
        return text[:10].encode()

    def decode_tensor(self, tensor: pb.Tensor, *, keep_wire: bool = False) -> object:
        try:
            return super().decode_tensor(tensor, keep_wire=keep_wire)
        except checks.TensorProblem:
            if keep_wire and any(d < 0 for d in tensor.shape.dims):
                return tensor
            raise

    def respond(
        self, request: pb.PredictRequest, reply: pb.PredictReply, context: grpc.ServicerContext
    ) -> pb.PredictReply:
        if request.servable_spec.name == "abort":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "aborted by the variant")
        return reply


@pytest.fixture(scope="module")
def variant_stub() -> Iterator[tuple[MSServiceStub, Variant]]:
    behaviour = Variant()
    with ReferenceServer(kit_registry(), behaviour=behaviour) as server:
        address = server.start("127.0.0.1:0")
        with stub_for(address) as stub:
            yield stub, behaviour


def test_the_truncate_step_cuts_every_error_text(
    variant_stub: tuple[MSServiceStub, Variant],
) -> None:
    stub, _ = variant_stub
    reply = predict(stub, request("nope", "echo", [{"x": M}]))
    assert errors(reply) == [(2, "Request se")]


def test_the_decode_step_is_the_one_the_checks_use(
    variant_stub: tuple[MSServiceStub, Variant],
) -> None:
    stub, _ = variant_stub
    bad = raw_tensor(pb.MS_FLOAT32, [-1], b"")
    reply = predict(stub, request("conformance", "echo", [{"x": bad}]))
    assert not reply.error_msg
    assert list(reply.instances[0].items["y"].shape.dims) == [-1]


def test_the_respond_step_may_end_the_call_with_a_status(
    variant_stub: tuple[MSServiceStub, Variant],
) -> None:
    stub, _ = variant_stub
    assert status_of(stub, request("abort", "echo", [{"x": M}])) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )


def test_the_deployed_step_sees_every_registry() -> None:
    behaviour = Variant()
    first, second = Registry(), kit_registry()
    dispatcher = Dispatcher(first, behaviour=behaviour)
    dispatcher.registry = second
    assert behaviour.deployed_registries == [first, second]
    assert dispatcher.registry is second


def test_the_default_behaviour_is_the_reference_servers() -> None:
    reply = Dispatcher(kit_registry()).predict(request("nope", "echo", [{"x": M}]))
    assert errors(reply) == [(2, "Request servable(nope) method(echo) , servable is not available")]
