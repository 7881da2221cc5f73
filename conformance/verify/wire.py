"""Raw protobuf requests and the suite's handle on a server under test.

Requests are built here from ``protos.codec`` tensors and sent through the generated stub, so
nothing between the suite and the server interprets a value. Every request sent is recorded
for the failure report (conformance.reporting.repro). A call that gets no answer in time marks its
server as hung (conformance.drive.guard): later calls to it fail at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import grpc

from conformance.drive import Endpoint, guard
from conformance.reporting import repro
from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc

RPC_TIMEOUT_S = 20.0
PREDICT = "/mindspore.serving.proto.MSService/Predict"

InstanceItems = Mapping[str, pb.Tensor]


def make_request(
    servable: str,
    method: str,
    instances: Iterable[InstanceItems],
    version: int = 0,
) -> pb.PredictRequest:
    request = pb.PredictRequest(
        servable_spec=pb.ServableSpec(name=servable, method_name=method, version_number=version)
    )
    for items in instances:
        instance = request.instances.add()
        for name, tensor in items.items():
            instance.items[name].CopyFrom(tensor)
    return request


@dataclass(frozen=True)
class RpcFailure:
    """A Predict that ended with a non-OK gRPC status."""

    code: grpc.StatusCode
    details: str
    sent: bool = (
        True  # False: not sent at all, the server having hung earlier (conformance.drive.guard)
    )

    def __str__(self) -> str:
        return f"gRPC {self.code.name}: {self.details}"


class Target:
    """A channel to one endpoint; ``predict`` sends raw requests and records them."""

    def __init__(self, endpoint: Endpoint, *, isolated: bool = False) -> None:
        self.endpoint = endpoint
        self._channel = endpoint.open_channel(isolated=isolated)
        self._stub = ms_service_pb2_grpc.MSServiceStub(self._channel)

    def call(
        self,
        request: pb.PredictRequest,
        timeout_s: float = RPC_TIMEOUT_S,
        *,
        note: bool = True,
        wait_for_ready: bool = True,
    ) -> pb.PredictReply | RpcFailure:
        """The reply, or the RpcFailure when the gRPC status is not OK. ``wait_for_ready``: a
        connection that fails before the request is sent (a loaded machine's slow accept or
        handshake) is retried within the deadline instead of failing with UNAVAILABLE; a
        request the server dropped after it was sent still fails. Off for a check that expects
        the connection itself to be refused."""
        address = self.endpoint.address
        hung = guard.hung(address)
        if hung is not None:  # not recorded either: no snippet for a request never sent
            return RpcFailure(grpc.StatusCode.DEADLINE_EXCEEDED, hung, sent=False)
        repro.record(self.endpoint, request, note=note)
        try:
            return self._stub.Predict(request, timeout=timeout_s, wait_for_ready=wait_for_ready)
        except grpc.RpcError as exc:
            failure = RpcFailure(exc.code(), exc.details() or "")
        if failure.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            spec = request.servable_spec
            guard.mark_hung(
                address,
                f"not sent: the server at {address} hung on an earlier request "
                f"({spec.name}.{spec.method_name}, {len(request.instances)} instances: no answer "
                f"within {timeout_s:g} s); every later call to it fails at once",
            )
        return failure

    def predict(
        self, request: pb.PredictRequest, timeout_s: float = RPC_TIMEOUT_S, *, note: bool = True
    ) -> pb.PredictReply:
        """The reply; an AssertionError if the gRPC status is not OK (the protocol answers every
        application-level outcome with status OK)."""
        outcome = self.call(request, timeout_s, note=note)
        if isinstance(outcome, RpcFailure):
            where = f"Predict to {self.endpoint.describe()}"
            if not outcome.sent:
                message = f"{where} {outcome.details}"
            elif outcome.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                message = (
                    f"{where} got no answer within {timeout_s:g} s (gRPC DEADLINE_EXCEEDED); "
                    "later calls to this server fail at once"
                )
            else:
                message = (
                    f"{where} ended with {outcome}; every application-level outcome must come "
                    "back with gRPC status OK"
                )
            raise AssertionError(message)  # one place: hypothesis sees one kind of failure
        return outcome

    def pipeline(
        self, request: pb.PredictRequest, count: int, window: int, budget_s: float
    ) -> Iterator[tuple[int, pb.PredictReply | RpcFailure]]:
        """Send ``request`` ``count`` times with at most ``window`` calls in flight, and yield
        (call index, outcome) in call order. Serialized once and sent as bytes, so that the
        harness's own CPU stays small beside the server's. Stops early (TimeoutError) once
        ``budget_s`` has passed; every call has ``RPC_TIMEOUT_S`` too."""
        hung = guard.hung(self.endpoint.address)
        if hung is not None:
            raise AssertionError(hung)
        repro.record(self.endpoint, request)
        body = request.SerializeToString()
        send = self._channel.unary_unary(PREDICT, None, None)  # bytes in, bytes out
        deadline = time.monotonic() + budget_s
        pending: deque[tuple[int, grpc.Future]] = deque()
        sent = 0
        try:
            while sent < count or pending:
                while sent < count and len(pending) < window:
                    pending.append((sent, send.future(body, timeout=RPC_TIMEOUT_S)))
                    sent += 1
                index, future = pending[0]
                try:
                    answer = future.result(timeout=max(deadline - time.monotonic(), 0.0))
                except grpc.FutureTimeoutError:
                    answered = f"{index} of {count} calls answered within {budget_s:g} s"
                    raise TimeoutError(answered) from None
                except grpc.RpcError as exc:
                    pending.popleft()
                    yield index, RpcFailure(exc.code(), exc.details() or "")
                    continue
                pending.popleft()
                yield index, pb.PredictReply.FromString(answer)
        finally:  # a timeout, or a caller that stopped at a wrong reply: nothing left running
            for _, left in pending:
                left.cancel()

    def close(self) -> None:
        self._channel.close()

    def __repr__(self) -> str:
        return f"Target({self.endpoint.name}: {self.endpoint.describe()})"

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "PREDICT",
    "RPC_TIMEOUT_S",
    "InstanceItems",
    "RpcFailure",
    "Target",
    "make_request",
]
