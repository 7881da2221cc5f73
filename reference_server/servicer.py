"""The gRPC face of the server: one unary method, Predict, handed to the Dispatcher.

Predict is served by a generic handler rather than the generated ``add_..._to_server`` so that
hostile traffic costs little (issue 9):

* The body arrives as raw bytes and is parsed here: grpcio keeps about 16 KB for good for every
  request whose deserializer raises, so a body that is not a PredictRequest is reported by the
  handler instead, with the status grpcio itself gives (INTERNAL, "Exception deserializing
  request!").
* A sync grpcio server hands a call to a worker thread at its headers, before the message.
  The handler is request-streaming on our side (the wire is the same as unary) so it holds the
  call's context while it waits, and a watchdog cancels a call whose message has not arrived
  within ``receive_timeout``. Waiting calls hold a thread of a large pool; only ``max_workers``
  of them compute at once.
* Every Predict call is counted from its headers (``CallActivity``), so that stopping can
  first refuse new calls (UNAVAILABLE) and wait until those accepted are done: grpcio's
  ``stop(grace)`` cancels calls it has not handed to the application yet.

A body of ``VIEW_MIN`` bytes or more is read in place by reference_server.views (issue 21): its
tensors' payloads stay in the received bytes, the checks and the servable read them there, and large
output payloads go to the reply's bytes straight from where they lie (reference_server.wire), one
copy in all. protobuf parses smaller bodies (faster for them), bodies the walker declines, and every
body of a server whose Behaviour has a step of the answer replaced (those steps get protobuf
messages).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_server import memory, views, wire
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.errors import SYSTEM_ERROR, internal_error
from reference_server.views import WireRequest
from reference_server.wire import Payloads

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MSService"].full_name
PREDICT_METHOD = f"/{SERVICE_NAME}/Predict"
# grpcio's own texts for these failures, kept so that clients see what they saw before.
UNDECODABLE = "Exception deserializing request!"
NO_MESSAGE = f'"{PREDICT_METHOD}" requires exactly one request message.'
STOPPING = "Serving Error: the server is stopping"
# From this size a request is read by reference_server.views rather than parsed by protobuf: below
# it, protobuf's parse costs less than the walk (bench/bench_request_path.py, docs/benchmarks.md).
VIEW_MIN = 1 << 17


class PredictServicer(ms_service_pb2_grpc.MSServiceServicer):
    """Every application outcome travels in the reply with gRPC status OK (protocol.md §2)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    def takes_views(self) -> bool:
        """Whether requests may be answered from reference_server.views: only where the server
        answers as the reference server does (``Behaviour()`` with no step replaced, this class's
        Predict, the Dispatcher's own predict). A variant gets protobuf messages, always."""
        behaviour = self._dispatcher.behaviour
        dispatcher = self._dispatcher
        return (
            type(behaviour) is Behaviour
            and not vars(behaviour).keys() - _BEFORE_THE_ANSWER
            and type(self) is PredictServicer
            and PredictServicer.Predict is _PREDICT
            and "Predict" not in vars(self)
            and type(dispatcher) is Dispatcher
            and not {"predict", "answer"} & vars(dispatcher).keys()
        )

    def answer_view(self, request: WireRequest) -> tuple[pb.PredictReply, Payloads]:
        """Predict for a request view: the reply, and the large payloads it is written with."""
        payloads: Payloads = {}
        try:
            reply = self._dispatcher.answer(request, payloads)
        except Exception as exc:  # as in Predict
            log.exception("Predict failed")
            payloads.clear()
            reply = self._dispatcher.behaviour.error_reply(
                request.servable_spec, SYSTEM_ERROR, internal_error(exc)
            )
        return reply, payloads

    def Predict(self, request: pb.PredictRequest, context: grpc.ServicerContext) -> pb.PredictReply:
        behaviour = self._dispatcher.behaviour
        try:
            reply = self._dispatcher.predict(request)
        except Exception as exc:  # a bug of ours: still an answer, not a gRPC UNKNOWN
            log.exception("Predict failed")
            reply = behaviour.error_reply(request.servable_spec, SYSTEM_ERROR, internal_error(exc))
        # Outside the try: a variant's respond step may end the call with context.abort().
        return behaviour.respond(request, reply, context)


_PREDICT = PredictServicer.Predict
# Behaviour steps that run before the answer (around the call, at start): replacing them leaves
# the answer as the reference server's, so the view path stays open.
_BEFORE_THE_ANSWER = frozenset({"call", "message_limits"})


class CallActivity:
    """Predict calls seen (at their headers) and still inside the handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._last_start = float("-inf")
        self._closed = False

    @property
    def active(self) -> int:
        return self._active

    def close(self) -> None:
        """From now on, calls are refused at their headers."""
        with self._lock:
            self._closed = True

    def admit(self) -> bool:
        """A call's headers arrived: False if it must be refused (closed)."""
        with self._lock:
            if self._closed:
                return False
            self._last_start = time.monotonic()
            return True

    # enter/leave rather than a context manager: they run on every call (issue 12).
    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1

    def wait_quiet(self, deadline: float, settle: float, poll: float = 0.02) -> bool:
        """Wait until no call is in the handler and none started for ``settle`` seconds, or
        until ``deadline`` (time.monotonic()); True if quiet."""
        while True:
            now = time.monotonic()
            with self._lock:
                if self._active == 0 and now - self._last_start >= settle:
                    return True
            if now >= deadline:
                return False
            time.sleep(min(poll, deadline - now))


class ReceiveWatchdog:
    """Cancels calls whose request message has not arrived within ``timeout`` seconds of
    ``watch`` (one thread for every call, started on first use).

    Every call gets the same timeout, so deadlines come in the order calls are watched: the
    dict of waiting calls (insertion-ordered) is the queue, its first entry the next deadline.
    A call costs a dict entry and two lock round trips; the thread is not woken for it (issue
    12). The thread sleeps until the first entry's deadline (a call added meanwhile is due
    later), and when there is none, until ``watch`` wakes it.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[float, grpc.ServicerContext]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._idle = False  # the thread waits for _wake with nothing to watch
        self._wake = threading.Event()
        self.cancelled = 0

    def watch(self, context: grpc.ServicerContext) -> int:
        with self._lock:  # deadlines enter the dict in order
            ticket = next(self._ids)
            self._waiting[ticket] = (time.monotonic() + self.timeout, context)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="reference-server-receive-watchdog", daemon=True
                )
                self._thread.start()
            elif self._idle:
                self._idle = False
                self._wake.set()
            return ticket

    def release(self, ticket: int) -> None:
        with self._lock:
            self._waiting.pop(ticket, None)

    def _run(self) -> None:
        while True:
            expired: list[grpc.ServicerContext] = []
            delay: float | None = None
            with self._lock:
                now = time.monotonic()
                while self._waiting:
                    ticket = next(iter(self._waiting))
                    due, context = self._waiting[ticket]
                    if due > now:
                        delay = due - now
                        break
                    del self._waiting[ticket]
                    expired.append(context)
                self.cancelled += len(expired)
                if delay is None:
                    self._idle = True
                    self._wake.clear()
            for context in expired:
                log.info("a Predict call sent no request within its bound: cancelled")
                context.cancel()
            if delay is None:
                self._wake.wait()
            else:
                time.sleep(delay)


class PredictHandler(grpc.GenericRpcHandler):
    """Serves ``/mindspore.serving.proto.MSService/Predict`` (see the module docstring)."""

    def __init__(
        self,
        servicer: PredictServicer,
        *,
        max_workers: int,
        activity: CallActivity,
        watchdog: ReceiveWatchdog,
    ) -> None:
        self._servicer = servicer
        self._dispatcher = servicer.dispatcher
        self._compute: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(max_workers):
            self._compute.put(slot)
        self._activity = activity
        self._watchdog = watchdog
        self._handler = grpc.stream_unary_rpc_method_handler(
            self._predict,
            request_deserializer=None,  # raw bytes: never raises
            response_serializer=_serialize,
        )
        self._refusal = grpc.stream_unary_rpc_method_handler(_refuse)

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        if handler_call_details.method != PREDICT_METHOD:
            return None
        return self._handler if self._activity.admit() else self._refusal

    def _predict(self, bodies: Iterator[bytes], context: grpc.ServicerContext) -> Any:
        # The Behaviour's call step, looked up per call as every step is; by default _serve.
        return self._dispatcher.behaviour.call(self._serve, bodies, context)

    def _serve(self, bodies: Iterator[bytes], context: grpc.ServicerContext) -> Any:
        activity = self._activity
        activity.enter()
        try:
            watchdog = self._watchdog
            ticket = watchdog.watch(context)
            try:
                body = next(bodies, None)
            except grpc.RpcError:  # cancelled (by the client or the watchdog): nobody listens
                return None
            finally:
                watchdog.release(ticket)
            if body is None:
                context.abort(grpc.StatusCode.UNIMPLEMENTED, NO_MESSAGE)
            size = len(body)
            large = size >= wire.LARGE_TENSOR
            if large:
                ended = memory.large_payload(size)
                if ended is not None and not context.add_callback(ended):
                    ended()  # the call has already ended
            servicer = self._servicer
            # A large body is read in place when the walker takes it (reference_server.views); else,
            # and for a small body (faster through protobuf), protobuf parses it.
            view = views.read_request(body) if size >= VIEW_MIN and servicer.takes_views() else None
            if view is None:
                try:
                    request = pb.PredictRequest.FromString(body)
                except Exception:  # DecodeError, or anything else the parser raises on garbage
                    context.abort(grpc.StatusCode.INTERNAL, UNDECODABLE)
            # At most max_workers compute at once: a token from a C-level queue, cheaper per
            # call than threading's semaphores (written in Python).
            slot = self._compute.get()
            try:
                if view is not None:
                    return _LargeReply(*servicer.answer_view(view))
                reply = servicer.Predict(request, context)
            finally:
                self._compute.put(slot)
            # A large request (an echo, an image) is where a large reply comes from.
            return _LargeReply(reply, None) if large else reply
        finally:
            activity.leave()


class _LargeReply:
    """A reply to serialize with reference_server.wire (fewer copies of large tensors), and the
    payloads it holds outside protobuf (views of the request's body, output arrays)."""

    __slots__ = ("payloads", "reply")

    def __init__(self, reply: pb.PredictReply, payloads: Payloads | None) -> None:
        self.reply = reply
        self.payloads = payloads


def _serialize(reply: Any) -> bytes:
    if type(reply) is _LargeReply:
        encoded = wire.serialize_reply(reply.reply, reply.payloads)
        # grpcio holds the reply object while the bytes are sent: let go of the request's
        # body (the views) now, so that it is not kept alongside them.
        reply.payloads = None
        return encoded
    return pb.PredictReply.SerializeToString(reply)  # as grpcio's serializer was


def _refuse(bodies: Iterator[bytes], context: grpc.ServicerContext) -> Any:
    context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING)


def add_to_server(
    server: grpc.Server,
    dispatcher: Dispatcher,
    *,
    max_workers: int = 16,
    receive_timeout: float = 30.0,
    activity: CallActivity | None = None,
    watchdog: ReceiveWatchdog | None = None,
) -> PredictHandler:
    handler = PredictHandler(
        PredictServicer(dispatcher),
        max_workers=max_workers,
        activity=activity if activity is not None else CallActivity(),
        watchdog=watchdog if watchdog is not None else ReceiveWatchdog(receive_timeout),
    )
    server.add_generic_rpc_handlers((handler,))
    return handler


__all__ = [
    "NO_MESSAGE",
    "PREDICT_METHOD",
    "SERVICE_NAME",
    "STOPPING",
    "UNDECODABLE",
    "VIEW_MIN",
    "CallActivity",
    "PredictHandler",
    "PredictServicer",
    "ReceiveWatchdog",
    "add_to_server",
    "log",
]
