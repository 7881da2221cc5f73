"""robustness: what a network and an operator do to a server (docs/protocol.md#hostile-traffic).

Hostile well-formed requests and bodies that are not protobuf must each be answered within a
bound, and the server must answer a well-formed call afterwards; well-formed calls must be
answered while other clients stall mid-call or flood. With --server-cmd the harness also owns
the process: it must still run after every phase, its memory must stay bounded across thousands
of hostile calls, and SIGTERM with calls in flight should let them finish (a server of its own,
started for that check from the same command).

Every bound is in conformance.catalogue._robustness, stated in the requirements' sentences.
Each test reports what it measured (calls tried, worst latency, RSS growth) as figures.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import pytest
from hypothesis import assume, given

from conformance.catalogue import DEFAULT_READY_TIMEOUT_S, Level
from conformance.catalogue import robustness as bound
from conformance.drive import (
    Endpoint,
    RunContext,
    ServerProcess,
    ServerSettings,
    free_tcp_address,
    guard,
    is_running,
    predict_once,
    tree_rss_bytes,
    wait_ready,
)
from conformance.reporting import repro
from conformance.verify import assertions, hostile, hypo, oracle
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.oracle import MUST, SHOULD
from conformance.verify.wire import Target
from protos import ms_service_pb2 as pb

Figures = Callable[..., None]
MIB = 1 << 20
HOSTILE_EXAMPLES = 25
DEFECT_EXAMPLES = 10
BODY_EXAMPLES = 25
# Hostile traffic cheap to send by the thousand (floods, memory): the hand-made cases whose
# cost does not grow with their size, and the small hand-made bodies.
_HEAVY = ("100k", "50k", "5000", "long-name")
# MUST checks only: none of them meets an upstream defect (hostile.HANDMADE's level tags).
MUST_CASES = hostile.handmade(MUST)
DEFECT_CASES = hostile.handmade(SHOULD)
CHEAP_REQUESTS: tuple[bytes, ...] = tuple(
    request().SerializeToString()
    for name, request in MUST_CASES.items()
    if not any(heavy in name for heavy in _HEAVY)
)
CHEAP_GARBAGE = tuple(body for _, body in hostile.HANDMADE_BODIES if len(body) < 4096)
CHEAP_BODIES = CHEAP_REQUESTS + CHEAP_GARBAGE
# The memory check weighs bodies that are not protobuf double: a server that keeps something
# for each one it cannot decode is a known way to leak (issue 9).
MEMORY_MIX = CHEAP_REQUESTS + 2 * CHEAP_GARBAGE


@pytest.fixture(scope="module")
def robust(conformance_robustness: Target) -> Iterator[Endpoint]:
    """The endpoint of the profile's server (with --server-cmd, a server of its own)."""
    yield conformance_robustness.endpoint


@pytest.fixture(scope="module")
def channel(robust: Endpoint) -> Iterator[grpc.Channel]:
    with robust.open_channel() as opened:
        yield opened


class Phase:
    """What one test sent and how the answers came: its figures, its checks."""

    def __init__(self, context: RunContext, endpoint: Endpoint, figures: Figures) -> None:
        self.context, self.endpoint, self.figures = context, endpoint, figures
        self.calls = 0
        self.worst_s = 0.0
        self._lock = threading.Lock()
        hung = guard.hung(endpoint.address)
        if hung is not None:
            assertions.fail(hung)

    def count(self, answer: hostile.RawAnswer) -> None:
        with self._lock:
            self.calls += 1
            self.worst_s = max(self.worst_s, answer.seconds)

    def report(self, **more: float) -> None:
        self.figures(calls=self.calls, worst_latency_s=round(self.worst_s, 3), **more)

    def hostile(self, channel: grpc.Channel, body: bytes, what: str) -> None:
        """Send one hostile body; fail unless it is answered within the bound and a well-formed
        call is answered after it."""
        __tracebackhide__ = True
        answer = hostile.raw_call(channel, body, bound.ANSWER_S)
        self.count(answer)
        if not answer.answered:
            self.alive(f"after {what}")
            assertions.fail(f"{what}: {answer}; expected a PredictReply or a gRPC status")
        self.still_serves(channel, f"after {what} ({answer})")

    def still_serves(self, channel: grpc.Channel, when: str) -> None:
        __tracebackhide__ = True
        answer, right = hostile.well_formed_call(channel, bound.ANSWER_S)
        self.count(answer)
        if not right:
            self.alive(when)
            assertions.fail(f"a well-formed echo {when} got {answer}")
        self.alive(when)

    def alive(self, when: str) -> None:
        """With --server-cmd: the launched process still runs."""
        __tracebackhide__ = True
        pid = self.context.pid_of(self.endpoint.name)
        if pid is not None and not is_running(pid):
            assertions.fail(f"the server's process (pid {pid}) is gone {when}")


@pytest.fixture
def phase(conformance_context: RunContext, robust: Endpoint, conformance_figures: Figures) -> Phase:
    return Phase(conformance_context, robust, conformance_figures)


# -- hostile well-formed requests ---------------------------------------------------------


def _handmade(phase: Phase, channel: grpc.Channel, request: pb.PredictRequest, case: str) -> None:
    repro.record(phase.endpoint, request)
    try:
        phase.hostile(channel, request.SerializeToString(), f"the hostile request {case}")
    finally:
        phase.report()


def _generated(phase: Phase, channel: grpc.Channel, level: Level, count: int) -> None:
    # No shrinking: a server that dies fails every later example, and the first failing one
    # is the one that killed it.
    @hypo.examples(count, shrink=False)
    @given(request=hostile.hostile_requests(level))
    def one(request: pb.PredictRequest) -> None:
        if level == SHOULD:
            assume(oracle.upstream_defect(request) is not None)  # the others are MUST's
        repro.record(phase.endpoint, request)
        spec = request.servable_spec
        what = f"a hostile request to {spec.name[:40]!r}.{spec.method_name[:40]!r} with " + (
            f"{len(request.instances)} instances ({request.ByteSize()} bytes)"
        )
        phase.hostile(channel, request.SerializeToString(), what)

    try:
        one()
    finally:
        phase.report()


@requirement("ROBUSTNESS-HOSTILE-REQUESTS")
@pytest.mark.parametrize("case", list(MUST_CASES))
def test_handmade_hostile_request(phase: Phase, channel: grpc.Channel, case: str) -> None:
    _handmade(phase, channel, MUST_CASES[case](), case)


@requirement("ROBUSTNESS-HOSTILE-REQUESTS")
def test_generated_hostile_requests(phase: Phase, channel: grpc.Channel) -> None:
    _generated(phase, channel, MUST, HOSTILE_EXAMPLES)


# -- hostile requests that meet upstream's documented defects (SHOULD) ----------------------


@requirement("ROBUSTNESS-UPSTREAM-DEFECTS")
@pytest.mark.parametrize("case", list(DEFECT_CASES))
def test_handmade_upstream_defect(phase: Phase, channel: grpc.Channel, case: str) -> None:
    _handmade(phase, channel, DEFECT_CASES[case](), case)


@requirement("ROBUSTNESS-UPSTREAM-DEFECTS")
def test_generated_upstream_defects(phase: Phase, channel: grpc.Channel) -> None:
    _generated(phase, channel, SHOULD, DEFECT_EXAMPLES)


# -- bodies that are not protobuf -----------------------------------------------------------


@requirement("ROBUSTNESS-NOT-PROTOBUF")
@pytest.mark.parametrize("case", [name for name, _ in hostile.HANDMADE_BODIES])
def test_handmade_body(phase: Phase, channel: grpc.Channel, case: str) -> None:
    body = dict(hostile.HANDMADE_BODIES)[case]
    try:
        phase.hostile(channel, body, f"the body {case} ({len(body)} bytes)")
    finally:
        phase.report()


@requirement("ROBUSTNESS-NOT-PROTOBUF")
def test_generated_bodies(phase: Phase, channel: grpc.Channel) -> None:
    @hypo.examples(BODY_EXAMPLES, shrink=False)
    @given(body=hostile.garbage_bodies())
    def one(body: bytes) -> None:
        phase.hostile(channel, body, f"the body {body[:32]!r}... ({len(body)} bytes)")

    try:
        one()
    finally:
        phase.report()


@requirement("ROBUSTNESS-NOT-PROTOBUF")
def test_call_without_a_message(phase: Phase, channel: grpc.Channel) -> None:
    try:
        answer = hostile.no_message_call(channel, bound.ANSWER_S)
        phase.count(answer)
        if not answer.answered:
            assertions.fail(f"a call that half-closed without a message got {answer}")
        phase.still_serves(channel, "after a call without a message")
    finally:
        phase.report()


# -- liveness -------------------------------------------------------------------------------


def _timely_calls(phase: Phase, channel: grpc.Channel, while_what: str, count: int) -> None:
    """``count`` well-formed calls, each answered right within LIVENESS_S."""
    __tracebackhide__ = True
    for index in range(count):
        answer, right = hostile.well_formed_call(channel, bound.LIVENESS_S)
        phase.count(answer)
        if not right:
            phase.alive(while_what)
            assertions.fail(f"well-formed call {index + 1} {while_what} got {answer}")


@requirement("ROBUSTNESS-STALLED-CLIENTS")
def test_stalled_clients_do_not_stop_the_server(phase: Phase, robust: Endpoint) -> None:
    release = threading.Event()
    hold_s = bound.LIVENESS_S * 3 + 10
    stallers = hostile.open_channels(robust, bound.STALLED_CLIENTS)
    try:
        for staller in stallers:  # connected first: the stalled calls reach the server at once
            grpc.channel_ready_future(staller).result(timeout=bound.LIVENESS_S)
        stalled = [hostile.stall(staller, release, hold_s) for staller in stallers]
        time.sleep(0.5)  # their headers reach the server
        with robust.open_channel(isolated=True) as fresh:
            _timely_calls(phase, fresh, f"while {len(stalled)} calls stall", 3)
    finally:
        phase.report(stalled_calls=len(stallers))
        release.set()
        for staller in stallers:
            staller.close()
    phase.alive("after the stalled calls")


def _flood(endpoint: Endpoint, stop: threading.Event, phase: Phase) -> None:
    with endpoint.open_channel(isolated=True) as flooding:
        for body in itertools.cycle(CHEAP_BODIES):
            if stop.is_set():
                return
            phase.count(hostile.raw_call(flooding, body, bound.ANSWER_S))


@requirement("ROBUSTNESS-FLOOD")
def test_flooding_clients_do_not_stop_the_server(phase: Phase, robust: Endpoint) -> None:
    stop = threading.Event()
    good = 0
    with ThreadPoolExecutor(bound.FLOOD_CLIENTS) as pool, robust.open_channel(isolated=True) as me:
        flooders = [pool.submit(_flood, robust, stop, phase) for _ in range(bound.FLOOD_CLIENTS)]
        try:
            time.sleep(0.3)  # the flood is on
            end = time.monotonic() + bound.FLOOD_S
            while time.monotonic() < end:
                _timely_calls(phase, me, f"while {bound.FLOOD_CLIENTS} clients flood", 1)
                good += 1
                time.sleep(0.05)
        finally:
            stop.set()
            for flooder in flooders:
                flooder.result(timeout=bound.ANSWER_S + 5)
            phase.report(well_formed_calls=good)
    phase.alive("after the flood")


# -- the launched process: memory, SIGTERM ------------------------------------------------


def _pid(phase: Phase) -> int:
    pid = phase.context.pid_of(phase.endpoint.name)
    if pid is None:
        not_applicable("only with --server-cmd: the harness reads the server's memory from /proc")
    return pid


def _send_all(endpoint: Endpoint, bodies: Sequence[bytes], phase: Phase, workers: int = 4) -> None:
    """Every body, from ``workers`` clients; fail on the first one not answered in time."""

    def send(share: Sequence[bytes]) -> None:
        with endpoint.open_channel(isolated=True) as mine:
            for body in share:
                answer = hostile.raw_call(mine, body, bound.ANSWER_S)
                phase.count(answer)
                if not answer.answered:
                    phase.alive("during the memory check")
                    assertions.fail(f"a hostile call during the memory check got {answer}")

    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(send, bodies[i::workers]) for i in range(workers)]:
            done.result()


@requirement("ROBUSTNESS-MEMORY-BOUNDED")
def test_memory_stays_bounded(phase: Phase, robust: Endpoint, channel: grpc.Channel) -> None:
    pid = _pid(phase)
    cycle = itertools.cycle(MEMORY_MIX)
    try:
        _send_all(robust, [next(cycle) for _ in range(bound.MEMORY_WARMUP_CALLS)], phase)
        # A figure counts only for a server that served both before and after it was measured:
        # a process tree whose workers died has freed their memory, and shows a small RSS. The
        # echoes go on the connection opened before the readings, to the tree measured.
        phase.still_serves(channel, "right before the first RSS reading")
        before = tree_rss_bytes(pid)
        _send_all(robust, [next(cycle) for _ in range(bound.MEMORY_CALLS)], phase)
        time.sleep(0.2)  # what the last calls held is released
        after = tree_rss_bytes(pid)
        phase.still_serves(channel, "right after the last RSS reading")
    except BaseException:
        phase.report()
        raise
    growth = (after - before) / MIB
    phase.report(rss_before_mib=round(before / MIB, 1), rss_growth_mib=round(growth, 1) + 0.0)
    if growth >= bound.MEMORY_GROWTH_MIB:
        assertions.fail(
            f"the server's RSS grew {growth:.1f} MiB ({before / MIB:.1f} -> {after / MIB:.1f}) "
            f"across {bound.MEMORY_CALLS} hostile calls; the bound is {bound.MEMORY_GROWTH_MIB}"
        )


def _echo_of(mib: int) -> bytes:
    tensor = pb.Tensor(dtype=pb.MS_UINT8, data=bytes([0x5A]) * (mib * MIB))
    tensor.shape.dims.append(mib * MIB)
    return hostile.kit.echo_request([tensor]).SerializeToString()


def _outcome(future: grpc.Future, size: int, timeout_s: float) -> str:
    try:
        data = future.result(timeout=timeout_s)
    except grpc.RpcError as error:
        return str(error.code().name)
    except grpc.FutureTimeoutError:
        return "no answer"
    reply = pb.PredictReply.FromString(data)
    if reply.error_msg or len(reply.instances) != 1:
        return "an error reply"
    return "OK" if len(reply.instances[0].items["y"].data) == size else "a wrong reply"


@dataclass
class SigtermRound:
    """One SIGTERM with calls in transit: what the calls and the process did."""

    calls: int
    in_flight: int  # calls not yet answered when the signal went
    outcomes: list[str]
    status: int | None
    exit_s: float
    tail: str


def _sigterm_round(context: RunContext, grace: float) -> SigtermRound:
    settings = ServerSettings(free_tcp_address(), grace_s=grace)
    process = ServerProcess("robustness-sigterm", context.subject, settings, context.scratch)
    channels: list[grpc.Channel] = []
    go = threading.Event()
    try:
        endpoint = Endpoint("robustness-sigterm", settings.address)
        wait_ready(endpoint, time.monotonic() + DEFAULT_READY_TIMEOUT_S, process, predict_once)
        channels = hostile.open_channels(endpoint, bound.SIGTERM_CALLS)
        for opened in channels:  # connected first: the calls reach the server at once
            grpc.channel_ready_future(opened).result(timeout=bound.LIVENESS_S)
        body = _echo_of(bound.SIGTERM_CALL_MIB)
        wait_s = grace + bound.SIGTERM_SLACK_S
        half = len(channels) // 2
        # Half the calls send their headers well before the signal, so that they have surely
        # reached the server whatever the load; the other half's whole calls go out shortly
        # before the signal, and the first half's messages with it: those are surely still in
        # transit at SIGTERM, however fast the server (a fast one answers 4 MiB echoes sent
        # 0.1 s earlier before the signal).
        futures = [hostile.withheld(opened, body, go, wait_s + 10) for opened in channels[:half]]
        time.sleep(bound.SIGTERM_HEADERS_S - bound.SIGTERM_AFTER_S)
        futures += [
            opened.unary_unary(hostile.PREDICT_METHOD, None, None).future(body, timeout=wait_s + 10)
            for opened in channels[half:]
        ]
        time.sleep(bound.SIGTERM_AFTER_S)
        go.set()
        in_flight = sum(not future.done() for future in futures)
        process.terminate()
        signalled = time.monotonic()
        outcomes = [_outcome(f, bound.SIGTERM_CALL_MIB * MIB, wait_s + 10) for f in futures]
        status = process.wait(max(0.0, signalled + wait_s - time.monotonic()))
        exit_s = time.monotonic() - signalled
        return SigtermRound(len(futures), in_flight, outcomes, status, exit_s, process.tail())
    finally:
        go.set()
        for opened in channels:
            opened.close()
        process.stop()


@requirement("ROBUSTNESS-SIGTERM-IN-FLIGHT")
def test_sigterm_lets_calls_in_flight_finish(phase: Phase) -> None:
    _pid(phase)
    context = phase.context
    if context.grace_s is None:
        not_applicable("the server command has no {grace} placeholder: its grace is unknown")
    grace = context.grace_s
    # On a loaded machine the harness's own short sleep can overrun until every call is
    # answered before the signal goes: such a round proves nothing, so it is run again.
    for _attempt in range(bound.SIGTERM_ROUNDS):
        done = _sigterm_round(context, grace)
        if done.in_flight:
            break
    finished = done.outcomes.count("OK")
    phase.figures(
        calls=done.calls,
        calls_unanswered_at_sigterm=done.in_flight,
        calls_finished_ok=finished,
        exit_after_sigterm_s=round(done.exit_s, 2),
        rounds=_attempt + 1,
    )
    if not done.in_flight:
        assertions.fail(
            f"no call was still in flight at SIGTERM in {bound.SIGTERM_ROUNDS} rounds (each "
            f"answered within {bound.SIGTERM_AFTER_S:g} s of being sent, or the harness was "
            "held up): the server's handling of calls in flight could not be observed"
        )
    if finished != done.calls:
        counts = {o: done.outcomes.count(o) for o in sorted(set(done.outcomes))}
        assertions.fail(
            f"SIGTERM with {done.in_flight} of {done.calls} calls in flight: {counts} (every one "
            f"should finish OK within the {grace:g} s grace); server output:\n{done.tail[-1500:]}"
        )
    wait_s = grace + bound.SIGTERM_SLACK_S
    if done.status is None:
        assertions.fail(f"the server still ran {wait_s:g} s after SIGTERM (grace {grace:g} s)")
    if done.status != 0:
        assertions.fail(
            f"after SIGTERM the server exited with status {done.status}, not 0; server output:\n"
            f"{done.tail[-1500:]}"
        )


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
