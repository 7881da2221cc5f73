"""A server that stops answering costs the run one deadline, not one per call; the whole run is
bounded by --run-timeout. Against an in-process generic-handler server that hangs on ``fail``."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from conformance.drive import Endpoint, guard
from conformance.verify import kit
from conformance.verify.wire import RpcFailure, Target
from protos import codec
from protos import ms_service_pb2 as pb

DEADLINE_S = 0.5


class HangingServer:
    """Answers every Predict with an empty reply, except ``fail``: never (until closed)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.calls = 0
        handler = grpc.method_handlers_generic_handler(
            "mindspore.serving.proto.MSService",
            {"Predict": grpc.unary_unary_rpc_method_handler(self._predict)},
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(4), options=[("grpc.so_reuseport", 0)])
        self.server.add_generic_rpc_handlers((handler,))
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def _predict(self, request_bytes: bytes, context: Any) -> bytes:
        self.calls += 1
        request = pb.PredictRequest.FromString(request_bytes)
        if request.servable_spec.method_name == kit.FAIL:
            self.released.wait(30)
        return pb.PredictReply(servable_spec=request.servable_spec).SerializeToString()

    def close(self) -> None:
        self.released.set()
        self.server.stop(grace=None).wait(5)


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[Path]:
    guard.configure(str(tmp_path))
    yield tmp_path
    guard.configure(None)


def _fail() -> pb.PredictRequest:
    return kit.fail_request([codec.text_tensor("x")] * 3, ["boom"] * 3)


def test_a_hung_server_costs_one_deadline(hanging: HangingServer, marks: Path) -> None:
    with Target(Endpoint("core", hanging.address)) as server:
        first = server.call(_fail(), DEADLINE_S)
        assert isinstance(first, RpcFailure) and first.sent
        assert first.code == grpc.StatusCode.DEADLINE_EXCEEDED
        calls = hanging.calls
        again = server.call(_fail(), DEADLINE_S)
        assert isinstance(again, RpcFailure) and not again.sent
        with pytest.raises(AssertionError) as caught:
            server.predict(kit.echo_request([codec.text_tensor("after")]), DEADLINE_S)
        assert hanging.calls == calls, "a call was sent to a server marked as hung"
    message = str(caught.value)
    assert "not sent: the server at" in message and "hung on an earlier request" in message
    assert "conformance.fail, 3 instances" in message and "every later call" in message
    # Another process of the same run (an xdist worker) sees the mark through the folder.
    assert guard.hung(hanging.address) is not None
    assert [p.name.startswith("hung-") for p in marks.iterdir()] == [True]


@pytest.mark.parametrize("call", ["infer", "infer_async"])
def test_a_reference_client_call_that_hangs_marks_the_server(
    hanging: HangingServer, marks: Path, call: str
) -> None:
    # The client suite's calls take part too: infer returns its error dict, while
    # infer_async(...).result() raises the grpc.RpcError (as upstream's client does).
    from conformance.suites.test_client import GuardedClient
    from reference_client import Client

    instance = {"x": "x", "error": "boom"}
    with Client(hanging.address, kit.CONFORMANCE, kit.FAIL, timeout=DEADLINE_S) as client:
        guarded = GuardedClient(client, Endpoint("core", hanging.address))
        if call == "infer":
            result = guarded.infer(instance)
            assert isinstance(result, dict) and "Grpc Error" in result["error"], result
        else:
            with pytest.raises(grpc.RpcError) as raised:
                guarded.infer_async(instance).result()
            assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert guard.hung(hanging.address) is not None
        calls = hanging.calls
        with pytest.raises(AssertionError, match="hung on an earlier request"):
            guarded.infer(instance)
        assert hanging.calls == calls, "a call was sent to a server marked as hung"


def test_the_first_timeout_says_so(hanging: HangingServer, marks: Path) -> None:
    expected = r"got no answer within 0.5 s \(gRPC DEADLINE_EXCEEDED\); later calls"
    with Target(Endpoint("core", hanging.address)) as server, pytest.raises(AssertionError) as e:
        server.predict(_fail(), DEADLINE_S)
    assert re.search(expected, str(e.value)), str(e.value)


def test_other_failures_and_other_servers_are_not_marked(
    hanging: HangingServer, marks: Path
) -> None:
    dead = Endpoint("dead", "127.0.0.1:1")
    with Target(dead) as server:
        refused = server.call(
            kit.echo_request([codec.text_tensor("x")]), DEADLINE_S, wait_for_ready=False
        )
    assert isinstance(refused, RpcFailure) and refused.code == grpc.StatusCode.UNAVAILABLE
    assert guard.hung(dead.address) is None and guard.hung(hanging.address) is None
    with Target(Endpoint("core", hanging.address)) as server:
        assert not isinstance(server.call(kit.echo_request([codec.text_tensor("x")])), RpcFailure)


def test_without_a_run_nothing_is_marked(hanging: HangingServer) -> None:
    # The start-up probes run before the plugin configures the guard: a slow probe marks nothing.
    with Target(Endpoint("core", hanging.address)) as server:
        assert isinstance(server.call(_fail(), DEADLINE_S), RpcFailure)
        assert not isinstance(server.call(kit.echo_request([codec.text_tensor("x")])), RpcFailure)


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt), as the command installs it, restored
    after: what the process inherited varies (a shell that starts a run in the background
    leaves SIGINT ignored, and Python then installs no handler), and so does what earlier tests
    in the same xdist worker left."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_run_timer_interrupts_the_main_thread(python_sigint: None) -> None:
    timer = guard.RunTimer(0.2)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        timer.start()  # inside: however late a busy machine fires it, the wait is ready
        threading.Event().wait(10)  # a real SIGINT ends even a blocking wait
    assert timer.expired.is_set() and time.monotonic() - started < 5
    cancelled = guard.RunTimer(0.1)
    cancelled.start()
    cancelled.cancel()
    time.sleep(0.3)
    assert not cancelled.expired.is_set()
