"""Behaviour: the steps of answering one Predict call, and the server's one seam for variants.

``ReferenceServer(registry, behaviour=...)``, ``Dispatcher(registry, behaviour=...)`` and
``reference_server.cli.main(argv, behaviour=...)`` take one; the reference server uses
``Behaviour()`` as it is. A variant of the server (tests/mutants builds deliberately broken
servers this way, to prove the conformance harness catches each) subclasses it or replaces steps
on one instance (``behaviour.truncate = my_truncate``, often wrapping the step it replaces). Each
step is a method and the steps call each other through ``self``, so a replaced step is used
everywhere the server uses it. Nothing else of the server's module layout is part of this seam.

The steps, in the order a call meets them:

* ``deployed(registry)``: the registry actually served, each time one is deployed;
* ``message_limits(max_msg_mb_size)``: the receive and send limits in bytes, at each start;
* ``call(serve, bodies, context)``: the gRPC call as it arrives, before its request is read;
  the default is ``serve(bodies, context)`` (wait for the body, parse or view it, answer). A
  step that replaces it may read the body first (handing ``serve`` an iterator over it), wait,
  or answer the call itself with a reply;
* ``predict(dispatcher, request)``: the whole call, lookup to reply; the default is
  ``dispatcher.answer(request)`` (a step that replaces it sees the request first and the reply
  last, and may read ``dispatcher.registry``);
* ``check_request(request, registry)``: protocol.md §3's checks, the first failure or the decoded
  instances; it decodes every input tensor with ``decode_tensor(tensor, keep_wire=...)``;
* ``outcomes_reply(spec, outputs, outcomes)`` and ``error_reply(spec, code, text)``: the reply's
  shape (protocol.md §2); every error text passes through ``truncate(text)``, which gives
  the bytes sent;
* ``respond(request, reply, context)``: last, in the gRPC handler, with the call's context (a
  variant may end the call with a gRPC status there instead of the reply).

The steps after ``call`` always see protobuf messages. The reference server as it is
(``Behaviour()`` with no step replaced) answers a large request without them: read in place by
reference_server.views, checked and answered by the same code (reference_server.servicer,
``Dispatcher.answer`` with payloads); a variant with a step of the answer replaced (any but
``call`` and ``message_limits``, which come before it) is never given that path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import grpc

from protos import ms_service_pb2 as pb
from reference_server import checks, errors, replies
from reference_server.registry import Outcome, Registry


class Answerer(Protocol):
    """What the ``predict`` step is handed: the server's answer to a request, and the registry
    it answers from. reference_server.dispatch.Dispatcher is the one the server hands over;
    this module names only what the step uses, so that the seam does not depend on it."""

    @property
    def registry(self) -> Registry: ...

    def answer(self, request: pb.PredictRequest) -> pb.PredictReply: ...


MEGABYTE = 1 << 20  # max_msg_mb_size counts MiB, as upstream does

# The handler that answers one gRPC call from its request bodies (a reply, or None when the
# call is gone); handed to the ``call`` step.
Serve = Callable[[Iterator[bytes], grpc.ServicerContext], Any]


class Behaviour:
    """The reference server's behaviour, step by step (see the module docstring)."""

    def deployed(self, registry: Registry) -> Registry:
        return registry

    def message_limits(self, max_msg_mb_size: int) -> tuple[int, int]:
        """The largest message received and sent, in bytes."""
        limit = max_msg_mb_size * MEGABYTE
        return limit, limit

    def call(self, serve: Serve, bodies: Iterator[bytes], context: grpc.ServicerContext) -> Any:
        return serve(bodies, context)

    def predict(self, dispatcher: Answerer, request: pb.PredictRequest) -> pb.PredictReply:
        return dispatcher.answer(request)

    def check_request(
        self, request: pb.PredictRequest, registry: Registry
    ) -> checks.CheckedRequest | checks.RequestError:
        decode = self.decode_tensor
        if getattr(decode, "__func__", None) is Behaviour.decode_tensor:
            decode = checks.decode_tensor  # the step as it is: one call less per input
        return checks.check_request(request, registry, decode)

    def decode_tensor(self, tensor: pb.Tensor, *, keep_wire: bool = False) -> Any:
        return checks.decode_tensor(tensor, keep_wire=keep_wire)

    def outcomes_reply(
        self, spec: pb.ServableSpec, outputs: Sequence[str], outcomes: Sequence[Outcome]
    ) -> pb.PredictReply:
        return replies.outcomes_reply(spec, outputs, outcomes, self.truncate)

    def error_reply(self, spec: pb.ServableSpec, code: int, text: str) -> pb.PredictReply:
        return replies.error_reply(spec, code, text, self.truncate)

    def truncate(self, text: str) -> bytes:
        return errors.truncate(text)

    def respond(
        self, request: pb.PredictRequest, reply: pb.PredictReply, context: grpc.ServicerContext
    ) -> pb.PredictReply:
        return reply


__all__ = ["MEGABYTE", "Answerer", "Behaviour", "Serve"]
