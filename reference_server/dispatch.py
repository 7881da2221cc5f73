"""One Predict call from request to reply, without gRPC: checks, queue limit, the method, reply.

Thread-safe: the gRPC servicer calls ``predict`` from many threads at once.
"""

from __future__ import annotations

import logging
import threading

from protos import ms_service_pb2 as pb
from reference_server import checks, replies
from reference_server.errors import FAILED, SYSTEM_ERROR, queue_full, stage_error_text
from reference_server.registry import InstanceError, Outcome, Registry

log = logging.getLogger(__name__)

DEFAULT_QUEUE_LIMIT = 10000  # upstream's default for requests in flight


class Dispatcher:
    """Answers PredictRequests from a registry; at most ``queue_limit`` requests at a time.

    A request that arrives while ``queue_limit`` others are being served is answered at once
    with request-level code 1, as upstream does when its queue is full.
    """

    def __init__(self, registry: Registry, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        if queue_limit < 1:
            raise ValueError("queue_limit must be at least 1")
        self.registry = registry  # replaced whole by start_servables(); read once per call
        self.queue_limit = queue_limit
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def predict(self, request: pb.PredictRequest) -> pb.PredictReply:
        spec = request.servable_spec
        registry = self.registry
        # protocol.md §3: lookup and input checks first; the queue limit is the last check.
        checked = checks.check_request(request, registry)
        if isinstance(checked, checks.RequestError):
            return replies.error_reply(spec, checked.code, checked.message)
        with self._lock:
            full = self._in_flight >= self.queue_limit
            if not full:
                self._in_flight += 1
        if full:
            return replies.error_reply(spec, FAILED, queue_full(self.queue_limit))
        try:
            return self._run(spec, checked, registry)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _run(
        self, spec: pb.ServableSpec, checked: checks.CheckedRequest, registry: Registry
    ) -> pb.PredictReply:
        method = checked.method
        count = len(checked.instances)
        try:
            outcomes: list[Outcome] = list(method.run(checked.instances, registry.backend))
            if len(outcomes) != count:
                raise RuntimeError(
                    f"the method returned {len(outcomes)} results for {count} instances"
                )
        except Exception as exc:
            # A failing batch function fails every instance of this request (and only this one).
            log.exception("method %s of servable %s raised", method.name, checked.servable)
            detail = f"{type(exc).__name__}: {exc}"
            text = stage_error_text(checked.servable, method.name, method.name, 1, detail)
            outcomes = [InstanceError(SYSTEM_ERROR, text)] * count
        return replies.outcomes_reply(spec, method.outputs, outcomes)
