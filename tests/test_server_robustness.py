"""The reference server under hostile traffic and at shutdown (issue 9): undecodable bodies,
stalled clients, calls in flight at SIGTERM, repeated signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from support.rpc import CHANNEL_OPTIONS, output, predict, request, stub_for
from support.servers import EXIT_TIMEOUT_S, READY_TIMEOUT_S

from protos import ms_service_pb2 as pb
from reference_server import ReferenceServer
from reference_server.servicer import NO_MESSAGE, PREDICT_METHOD, UNDECODABLE

ECHO = request("conformance", "echo", [{"x": np.arange(3, dtype=np.int16)}])
SLOW_SERVER = os.path.join(os.path.dirname(__file__), "support", "slow_server.py")
WAIT_S = 10.0


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def _raw_status(channel: grpc.Channel, body: bytes) -> tuple[grpc.StatusCode, str]:
    try:
        channel.unary_unary(PREDICT_METHOD, None, None)(body, timeout=WAIT_S)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


# -- undecodable bodies ---------------------------------------------------------------------


def test_undecodable_bodies_are_internal_and_keep_no_memory(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server()
    with grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS) as channel:
        # grpcio's own status for a body its deserializer refuses, as before.
        assert _raw_status(channel, b"\xff\xff") == (grpc.StatusCode.INTERNAL, UNDECODABLE)
        for _ in range(300):  # warm-up: threads, arenas
            _raw_status(channel, b"\x0a\x05")
        before = _rss_mb()
        for _ in range(2000):  # a raising deserializer kept ~19 KB each: +37 MB
            _raw_status(channel, b"\x0a\x05")
        growth = _rss_mb() - before
        good = channel.unary_unary(PREDICT_METHOD, None, None)(
            ECHO.SerializeToString(), timeout=WAIT_S
        )
    assert growth < 10.0, f"RSS grew {growth:.1f} MB over 2000 undecodable bodies"
    assert good  # and the server still answers


def _no_messages() -> Iterator[bytes]:
    return iter(())


def test_a_call_without_a_message_is_unimplemented(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server()
    with (
        grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        channel.stream_unary(PREDICT_METHOD, None, None)(_no_messages(), timeout=WAIT_S)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == NO_MESSAGE


# -- stalled clients ------------------------------------------------------------------------


def _stalling(release: threading.Event) -> Iterator[bytes]:
    """Request messages that never come: the call's headers go out, then nothing."""
    release.wait(WAIT_S * 3)
    return
    yield


def test_stalled_clients_do_not_stop_the_server(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server(max_workers=4)
    stallers = 24  # well over max_workers: before, 16 of them held every worker
    release = threading.Event()
    channels = [grpc.insecure_channel(server.address) for _ in range(stallers)]
    try:
        stalled = [
            channel.stream_unary(PREDICT_METHOD, None, None).future(
                _stalling(release), timeout=WAIT_S * 3
            )
            for channel in channels
        ]
        _wait_until(lambda: server.active_calls >= stallers)
        with stub_for(server.address) as stub:
            for _ in range(3):
                reply = predict(stub, ECHO, timeout=5.0)
                assert list(output(reply, 0, "y")) == [0, 1, 2]
        assert not any(future.done() for future in stalled)
    finally:
        release.set()
        for channel in channels:
            channel.close()


def test_a_stalled_call_is_cancelled_after_the_receive_timeout(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server(receive_timeout=0.3)
    release = threading.Event()
    try:
        with grpc.insecure_channel(server.address) as channel:
            call = channel.stream_unary(PREDICT_METHOD, None, None).future(
                _stalling(release), timeout=WAIT_S
            )
            with pytest.raises(grpc.RpcError) as caught:
                call.result(timeout=WAIT_S)
            assert caught.value.code() == grpc.StatusCode.CANCELLED
    finally:
        release.set()
    assert server.receive_timeouts == 1
    _wait_until(lambda: server.active_calls == 0)
    with stub_for(server.address) as stub:
        assert not predict(stub, ECHO).error_msg  # a call that sends its request is served


def test_stalled_calls_are_cancelled_after_served_ones_and_after_an_idle_spell(
    start_server: Callable[..., ReferenceServer],
) -> None:
    """The watchdog sleeps through served calls and idles when nothing waits (issue 12): a
    call that stalls behind served ones, and one that stalls after the server sat idle past
    the timeout, are each still cancelled, and no served call is."""
    server = start_server(receive_timeout=0.3)
    release = threading.Event()
    try:
        with grpc.insecure_channel(server.address) as channel, stub_for(server.address) as stub:
            stall = channel.stream_unary(PREDICT_METHOD, None, None)
            first = stall.future(_stalling(release), timeout=WAIT_S)
            for _ in range(20):  # served while the stalled call waits: each watched, released
                assert not predict(stub, ECHO).error_msg
            with pytest.raises(grpc.RpcError) as caught:
                first.result(timeout=WAIT_S)
            assert caught.value.code() == grpc.StatusCode.CANCELLED
            time.sleep(0.6)  # twice the timeout with nothing waiting: the watchdog idles
            second = stall.future(_stalling(release), timeout=WAIT_S)
            with pytest.raises(grpc.RpcError) as caught:
                second.result(timeout=WAIT_S)
            assert caught.value.code() == grpc.StatusCode.CANCELLED
            assert not predict(stub, ECHO).error_msg
    finally:
        release.set()
    assert server.receive_timeouts == 2


# -- signals --------------------------------------------------------------------------------


class SlowCLI:
    """tests/support/slow_server.py: the CLI with ``slow.sleep`` taking ``seconds``."""

    def __init__(self, seconds: float, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, SLOW_SERVER, str(seconds), "--address", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "no_proxy": "*", "NO_PROXY": "*"},
        )
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(self.process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if not line or not line[0]:
            self.process.kill()
            raise RuntimeError(f"no ready line: {self.process.communicate()[1]}")
        self.address = line[0].split(" serving on ", 1)[1].rsplit(" (", 1)[0]

    def exit(self) -> tuple[int, str, float]:
        """Wait for the exit: status, stderr, seconds waited."""
        start = time.monotonic()
        try:
            _, stderr = self.process.communicate(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate(timeout=EXIT_TIMEOUT_S)
        return self.process.returncode, stderr, time.monotonic() - start

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=EXIT_TIMEOUT_S)


@pytest.fixture
def slow_cli() -> Iterator[Callable[..., SlowCLI]]:
    started: list[SlowCLI] = []

    def start(seconds: float, *args: str) -> SlowCLI:
        started.append(SlowCLI(seconds, *args))
        return started[-1]

    yield start
    for cli in started:
        cli.kill()


SLEEP = request("slow", "sleep", [{"x": np.arange(3, dtype=np.int16)}])


def _outcome(future: grpc.Future) -> str:
    try:
        reply = future.result(timeout=WAIT_S * 2)
    except grpc.RpcError as error:
        return str(error.code().name)
    return "OK" if not reply.error_msg else "error reply"


@pytest.mark.parametrize("kind", ["slow calls", "large requests"])
def test_sigterm_lets_every_call_in_flight_finish(
    slow_cli: Callable[..., SlowCLI], kind: str
) -> None:
    """20 calls in flight at SIGTERM all end OK: 1.5 s calls (more than the 16 workers, so
    some wait for one), or 4 MiB echoes still in transit (before: about half CANCELLED)."""
    cli = slow_cli(1.5, "--grace", "5")
    calls = 20
    if kind == "slow calls":
        call = SLEEP
    else:
        call = request("conformance", "echo", [{"x": np.zeros(4 << 20, np.uint8)}])
    body = call.SerializeToString()
    channels = [grpc.insecure_channel(cli.address, options=CHANNEL_OPTIONS) for _ in range(calls)]
    try:
        for channel in channels:  # connected first: the calls reach the server at once
            grpc.channel_ready_future(channel).result(timeout=WAIT_S)
        futures = [
            channel.unary_unary(PREDICT_METHOD, None, pb.PredictReply.FromString).future(
                body, timeout=WAIT_S * 2
            )
            for channel in channels
        ]
        time.sleep(0.3)
        cli.process.send_signal(signal.SIGTERM)
        outcomes = [_outcome(future) for future in futures]
        status, stderr, _ = cli.exit()
    finally:
        for channel in channels:
            channel.close()
    assert outcomes == ["OK"] * calls
    assert status == 0, stderr
    assert "Traceback" not in stderr


def test_exit_within_the_grace_while_handlers_still_compute(
    slow_cli: Callable[..., SlowCLI],
) -> None:
    cli = slow_cli(60, "--grace", "0.5")
    with stub_for(cli.address) as stub:
        futures = [stub.Predict.future(SLEEP, timeout=WAIT_S * 2) for _ in range(4)]
        time.sleep(0.5)
        cli.process.send_signal(signal.SIGTERM)
        status, stderr, waited = cli.exit()
        outcomes = {_outcome(future) for future in futures}
    # Before: the process waited for its handlers (here 60 s) whatever the grace.
    assert waited < 20.0, stderr  # the grace (0.5 s), however busy the machine; not 60 s
    assert status == 0, stderr
    assert outcomes <= {"CANCELLED", "UNAVAILABLE"}


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_second_signal_during_the_grace_is_absorbed(
    slow_cli: Callable[..., SlowCLI], second: signal.Signals
) -> None:
    cli = slow_cli(2.0, "--grace", "8")
    with stub_for(cli.address) as stub:
        future = stub.Predict.future(SLEEP, timeout=WAIT_S * 2)
        time.sleep(0.5)
        cli.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        cli.process.send_signal(second)  # before: KeyboardInterrupt, or killed by SIGTERM
        assert _outcome(future) == "OK"
        status, stderr, _ = cli.exit()
    assert status == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_stop_with_nothing_in_flight_is_quick(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with stub_for(server.address) as stub:
        assert not predict(stub, ECHO).error_msg
    start = time.monotonic()
    server.stop(grace=30.0)
    assert time.monotonic() - start < 10.0  # not the grace: nothing to wait for
    assert server.active_calls == 0


def test_calls_arriving_early_in_the_grace_are_served(
    start_server: Callable[..., ReferenceServer],
) -> None:
    """Until the server is quiet, stop() still admits calls: one whose headers gRPC had not
    handed over yet when stop() began is served, not cancelled."""
    from test_server_limits import Gate

    gate = Gate()
    server = start_server(gate.registry())
    with stub_for(server.address) as stub, ThreadPoolExecutor(2) as pool:
        first = pool.submit(predict, stub, request("gate", "wait", [{"x": "a"}]))
        assert gate.entered.acquire(timeout=WAIT_S)
        stopping = pool.submit(server.stop, 4.0)
        time.sleep(0.1)
        assert server.running  # still admitting: a call is in flight
        second = stub.Predict.future(request("gate", "wait", [{"x": "b"}]), timeout=WAIT_S)
        assert gate.entered.acquire(timeout=WAIT_S)
        gate.open.set()
        assert not first.result(WAIT_S).error_msg
        assert not second.result(WAIT_S).error_msg
        stopping.result(WAIT_S)
