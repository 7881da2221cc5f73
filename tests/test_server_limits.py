"""Limits over the wire: requests in flight (queue limit) and message size."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from support.rpc import errors, predict, request, status_of, stub_for

from reference_server import ReferenceServer
from reference_server.backend import ArrayBackend
from reference_server.registry import Inputs, Method, Outcome, Registry, Servable, method_table

WAIT_S = 10.0


class Gate:
    """A servable whose calls wait until the test opens the gate."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Semaphore(0)

    def run(self, batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
        self.entered.release()
        assert self.open.wait(WAIT_S)
        return [{"y": 1} for _ in batch]

    def registry(self) -> Registry:
        return Registry(
            [Servable("gate", {1: method_table(Method("wait", ("x",), ("y",), self.run))})]
        )


def test_queue_limit_refuses_with_code_1_while_full(
    start_server: Callable[..., ReferenceServer],
) -> None:
    gate = Gate()
    server = start_server(gate.registry(), queue_limit=2, max_workers=8)
    blocked = request("gate", "wait", [{"x": "a"}])
    with stub_for(server.address) as stub, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(predict, stub, blocked) for _ in range(2)]
        try:
            for _ in held:
                assert gate.entered.acquire(timeout=WAIT_S)
            refused = predict(stub, request("gate", "wait", [{"x": "b"}], version=1))
            assert errors(refused) == [
                (1, "Serving Error: enqueued requests count exceeds the limit 2")
            ]
            assert not refused.instances
            assert refused.servable_spec.version_number == 1
        finally:
            gate.open.set()
        for future in held:
            assert not future.result(WAIT_S).error_msg
        # Freed slots serve again.
        assert not predict(stub, blocked).error_msg


def _floats(megabytes: float) -> np.ndarray:
    return np.zeros(int(megabytes * 2**20) // 4, np.float32)


def test_request_over_the_limit_is_resource_exhausted(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server(max_msg_mb_size=1)
    with stub_for(server.address) as stub:
        too_big = request("conformance", "echo", [{"x": _floats(1.01)}])
        assert status_of(stub, too_big) == grpc.StatusCode.RESOURCE_EXHAUSTED
        fits = request("conformance", "echo", [{"x": _floats(0.9)}])
        assert not predict(stub, fits).error_msg


def test_reply_over_the_limit_is_resource_exhausted(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server(max_msg_mb_size=1)
    # add_cast turns int8 inputs into a float32 output four times their size.
    small = np.zeros(200 * 1024, np.int8)
    with stub_for(server.address) as stub:
        grows = request("add", "add_cast", [{"x1": small, "x2": small}])  # ~0.4 MB in, 0.8 out
        assert not predict(stub, grows).error_msg
        larger = np.zeros(300 * 1024, np.int8)  # ~0.6 MB in, 1.2 MB out
        overflows = request("add", "add_cast", [{"x1": larger, "x2": larger}])
        assert status_of(stub, overflows) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert not predict(stub, grows).error_msg  # still serving


@pytest.mark.parametrize("megabytes", [0, 513, 1.5, True, "100"])
def test_max_msg_mb_size_must_be_an_int_in_1_512(megabytes: object) -> None:
    with pytest.raises(RuntimeError, match="Parameter 'max_msg_mb_size' should be"):
        ReferenceServer().start("127.0.0.1:0", megabytes)  # type: ignore[arg-type]


def test_stop_lets_calls_in_flight_finish_and_refuses_new_ones(
    start_server: Callable[..., ReferenceServer],
) -> None:
    gate = Gate()
    server = start_server(gate.registry())
    address = server.address
    with stub_for(address) as stub, ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(predict, stub, request("gate", "wait", [{"x": "a"}]))
        assert gate.entered.acquire(timeout=WAIT_S)
        stopping = pool.submit(server.stop, 5.0)
        try:
            _wait_until(lambda: not server.running)
            with stub_for(address) as late:
                # Refused, whichever way gRPC words it during shutdown.
                status = status_of(late, request("gate", "wait", [{"x": "b"}]), 5.0)
                assert status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
        finally:
            gate.open.set()
        assert not in_flight.result(WAIT_S).error_msg
        stopping.result(WAIT_S)


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)
