"""gRPC health checking (grpc.health.v1) and server reflection, which upstream serves neither:
on by default, off on request (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from support.rpc import predict, request, stub_for
from test_server_limits import Gate

from reference_server import ReferenceServer, Registry, kit_registry
from reference_server.servicer import SERVICE_NAME

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
WAIT_S = 10.0


def health_of(address: str, service: str = "") -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=WAIT_S
        )
    return int(reply.status)


def test_serving_for_the_server_and_its_service(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server()
    assert health_of(server.address) == SERVING
    assert health_of(server.address, SERVICE_NAME) == SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health_of(server.address, "no.such.Service")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_not_serving_until_servables_are_deployed(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server(Registry())
    assert health_of(server.address) == NOT_SERVING
    server.deploy(kit_registry())
    assert health_of(server.address) == SERVING


def test_not_serving_during_shutdown(start_server: Callable[..., ReferenceServer]) -> None:
    gate = Gate()
    server = start_server(gate.registry())
    address = server.address
    with stub_for(address) as stub, ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(predict, stub, request("gate", "wait", [{"x": "a"}]))
        assert gate.entered.acquire(timeout=WAIT_S)
        assert health_of(address) == SERVING
        stopping = pool.submit(server.stop, 5.0)
        try:
            assert any(health_of(address) == NOT_SERVING for _ in range(200))
        finally:
            gate.open.set()
        assert not in_flight.result(WAIT_S).error_msg
        stopping.result(WAIT_S)


def test_reflection_lists_and_describes_the_services(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server()
    with grpc.insecure_channel(server.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {SERVICE_NAME, "grpc.health.v1.Health"} <= services
        described = database.FindFileContainingSymbol(SERVICE_NAME)
    assert described.package == "mindspore.serving.proto"
    assert "MSService" in [service.name for service in described.service]


def test_both_can_be_turned_off(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(health=False, reflection=False)
    with pytest.raises(grpc.RpcError) as caught:
        health_of(server.address)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with (
        grpc.insecure_channel(server.address) as channel,
        pytest.raises(grpc.RpcError) as listing,
    ):
        ProtoReflectionDescriptorDatabase(channel).get_services()
    assert listing.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with stub_for(server.address) as stub:  # Predict is unaffected
        assert not predict(stub, request("conformance", "echo", [{"x": "a"}])).error_msg


def test_the_module_api_serves_health_unless_told_not_to() -> None:
    import socket

    from reference_server import api

    api.stop()
    try:
        api.start_servables()
        for health in (True, False):
            with socket.socket() as probe:  # the module API refuses port 0, as upstream
                probe.bind(("127.0.0.1", 0))
                address = f"127.0.0.1:{probe.getsockname()[1]}"
            api.start_grpc_server(address, health=health)
            if health:
                assert health_of(address) == SERVING
            else:
                with pytest.raises(grpc.RpcError) as caught:
                    health_of(address)
                assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
            api.stop()
            api.start_servables()
    finally:
        api.stop()
