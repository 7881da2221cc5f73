"""One Predict call from request to reply, without gRPC: checks, queue limit, the method, reply.

Thread-safe: the gRPC servicer calls ``predict`` from many threads at once. The steps it takes
are its Behaviour's (reference_server.behaviour), the server's seam for variants.
"""

from __future__ import annotations

import logging
import threading

from protos import ms_service_pb2 as pb
from reference_server import checks, replies
from reference_server.behaviour import Behaviour
from reference_server.errors import FAILED, SYSTEM_ERROR, queue_full, stage_error_text
from reference_server.registry import InstanceError, Outcome, Registry
from reference_server.views import WireRequest
from reference_server.wire import Payloads

log = logging.getLogger(__name__)

DEFAULT_QUEUE_LIMIT = 10000  # upstream's default for requests in flight


class Dispatcher:
    """Answers PredictRequests from a registry; at most ``queue_limit`` requests at a time.

    A request that arrives while ``queue_limit`` others are being served is answered at once
    with request-level code 1, as upstream does when its queue is full.
    """

    def __init__(
        self,
        registry: Registry,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        behaviour: Behaviour | None = None,
    ) -> None:
        if queue_limit < 1:
            raise ValueError("queue_limit must be at least 1")
        self.behaviour = behaviour if behaviour is not None else Behaviour()
        self._registry = self.behaviour.deployed(registry)
        self.queue_limit = queue_limit
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        return self._registry

    @registry.setter
    def registry(self, registry: Registry) -> None:
        """Replaced whole by ReferenceServer.deploy(); read once per call."""
        self._registry = self.behaviour.deployed(registry)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def predict(self, request: pb.PredictRequest) -> pb.PredictReply:
        """The reply to ``request``: the behaviour's ``predict`` step (by default, answer())."""
        return self.behaviour.predict(self, request)

    def answer(
        self, request: pb.PredictRequest | WireRequest, payloads: Payloads | None = None
    ) -> pb.PredictReply:
        """The reference server's answer to ``request``, step by step.

        With ``payloads`` (the servicer's view path, taken only with the steps of
        ``Behaviour()`` as it is): ``request`` may be read by reference_server.views, the checks and
        the method read its payloads where they were received, and large output payloads go to
        ``payloads`` instead of the reply (reference_server.wire.serialize_reply writes them).
        """
        behaviour = self.behaviour
        spec = request.servable_spec
        registry = self._registry
        # protocol.md §3: lookup and input checks first; the queue limit is the last check.
        if payloads is None:
            # Without payloads the request is protobuf's (the Behaviour seam's type).
            checked = behaviour.check_request(request, registry)  # type: ignore[arg-type]
        else:
            checked = checks.check_request(request, registry)
        if isinstance(checked, checks.RequestError):
            return behaviour.error_reply(spec, checked.code, checked.message)
        with self._lock:
            full = self._in_flight >= self.queue_limit
            if not full:
                self._in_flight += 1
        if full:
            return behaviour.error_reply(spec, FAILED, queue_full(self.queue_limit))
        try:
            return self._run(spec, checked, registry, payloads)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _run(
        self,
        spec: pb.ServableSpec,
        checked: checks.CheckedRequest,
        registry: Registry,
        payloads: Payloads | None,
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
        if payloads is None:
            return self.behaviour.outcomes_reply(spec, method.outputs, outcomes)
        truncate = self.behaviour.truncate
        return replies.outcomes_reply(spec, method.outputs, outcomes, truncate, payloads)


__all__ = ["DEFAULT_QUEUE_LIMIT", "Dispatcher", "log"]
