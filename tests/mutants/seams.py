"""How a mutant breaks the reference server: through its Behaviour, the server's documented seam.

serve.py hands every mutant a fresh ``reference_server.behaviour.Behaviour``; the mutant replaces
one or more of its steps (``step`` is the general tool: the step becomes a wrapper around the
original), and the server runs with it. The helpers below name the common cases. Transport
mutants also wrap ``ReferenceServer.start`` (its public API) with ``around``. Small helpers on
requests and replies follow.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from protos import ms_service_pb2 as pb
from reference_server import checks
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    BatchFunction,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Registry,
)

Wrapper = Callable[..., Any]


def step(behaviour: Behaviour, name: str) -> Callable[[Wrapper], Wrapper]:
    """Decorator: the step ``name`` of ``behaviour`` becomes ``wrapper(original, *args,
    **kwargs)``, ``original`` being the step as it was (bound: no ``self``)."""
    return around(behaviour, name)


def around(owner: Any, attribute: str) -> Callable[[Wrapper], Wrapper]:
    """Decorator: ``owner.attribute`` becomes ``wrapper(original, *args, **kwargs)``."""

    def install(wrapper: Wrapper) -> Wrapper:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original, *args, **kwargs)

        setattr(owner, attribute, patched)
        return wrapper

    return install


def is_call(request: pb.PredictRequest, servable: str, method: str) -> bool:
    spec = request.servable_spec
    return spec.name == servable and spec.method_name == method


def is_request_error(reply: pb.PredictReply) -> bool:
    """Reply shape 2: no instance, one error entry."""
    return not reply.instances and len(reply.error_msg) == 1


ReplyEdit = Callable[[Dispatcher, pb.PredictRequest, pb.PredictReply], "pb.PredictReply | None"]


def on_replies(behaviour: Behaviour, edit: ReplyEdit) -> None:
    """Every reply passes through ``edit(dispatcher, request, reply)``: it edits the reply in
    place (returning None) or returns another one."""

    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        reply = original(dispatcher, request)
        edited = edit(dispatcher, request, reply)
        return reply if edited is None else edited


def on_requests(
    behaviour: Behaviour, edit: Callable[[Dispatcher, pb.PredictRequest], None]
) -> None:
    """The checks and the method see a copy of each request as ``edit`` changed it; the reply
    still echoes the spec the client sent."""

    @step(behaviour, "predict")
    def predict(original: Wrapper, dispatcher: Dispatcher, request: pb.PredictRequest) -> Any:
        changed = pb.PredictRequest()
        changed.CopyFrom(request)
        edit(dispatcher, changed)
        reply = original(dispatcher, changed)
        reply.servable_spec.CopyFrom(request.servable_spec)
        return reply


def on_echo_outputs(behaviour: Behaviour, edit: Callable[[pb.Tensor], None]) -> None:
    """Output ``y`` of every conformance.echo reply instance is edited in place by ``edit``."""

    def edit_reply(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo"):
            for instance in reply.instances:
                if "y" in instance.items:
                    edit(instance.items["y"])

    on_replies(behaviour, edit_reply)


def on_method(
    behaviour: Behaviour,
    servable: str,
    method: str,
    wrap: Callable[[BatchFunction], BatchFunction],
) -> None:
    """Every version of ``servable.method`` in the deployed registry runs ``wrap(its run)``."""

    @step(behaviour, "deployed")
    def deployed(original: Wrapper, registry: Registry) -> Registry:
        registry = original(registry)
        found = registry.servable(servable)
        assert found is not None, f"the kit has no servable {servable}"
        for methods in found.versions.values():
            table: dict[str, Method] = methods  # type: ignore[assignment]  # built as a dict
            table[method] = dataclasses.replace(table[method], run=wrap(table[method].run))
        return registry


def on_decode(behaviour: Behaviour, accept: Callable[[pb.Tensor, str], bool]) -> None:
    """A malformed input tensor whose problem (upstream's detail text) ``accept`` approves is
    taken as it is instead of rejecting the request."""

    @step(behaviour, "decode_tensor")
    def decode_tensor(original: Wrapper, tensor: pb.Tensor, *, keep_wire: bool = False) -> Any:
        try:
            return original(tensor, keep_wire=keep_wire)
        except checks.TensorProblem as problem:
            if keep_wire and accept(tensor, str(problem)):
                return tensor
            raise


RequestErrorEdit = Callable[[pb.PredictRequest, Registry, checks.RequestError], Any]


def on_request_errors(behaviour: Behaviour, edit: RequestErrorEdit) -> None:
    """A request the checks refuse is refused with ``edit(request, registry, error)`` instead
    (another RequestError, or None to keep it)."""

    @step(behaviour, "check_request")
    def check_request(original: Wrapper, request: pb.PredictRequest, registry: Registry) -> Any:
        checked = original(request, registry)
        if isinstance(checked, checks.RequestError):
            edited = edit(request, registry, checked)
            return checked if edited is None else edited
        return checked


def abort_errors(behaviour: Behaviour, code: grpc.StatusCode, *, request_level: bool) -> None:
    """One layer of errors ends the RPC with gRPC status ``code`` instead of a reply:
    request-level errors (``request_level``) or per-instance ones (a mixed reply)."""

    @step(behaviour, "respond")
    def respond(
        original: Wrapper,
        request: pb.PredictRequest,
        reply: pb.PredictReply,
        context: grpc.ServicerContext,
    ) -> Any:
        reply = original(request, reply, context)
        if is_request_error(reply) if request_level else is_mixed(reply):
            error = next(e for e in reply.error_msg if e.error_code)
            context.abort(code, bytes(error.error_msg).decode())
        return reply


# -- helpers on requests, replies and batch functions ------------------------------------


def is_mixed(reply: pb.PredictReply) -> bool:
    """Reply shape 3 with at least one failure."""
    return bool(reply.instances) and any(e.error_code for e in reply.error_msg)


def reorder(field: Any, order: Callable[[list[Any]], list[Any]]) -> None:
    """Replace a repeated message field's items by ``order`` of (copies of) them."""
    items = order([copy.deepcopy(item) for item in field])
    del field[:]
    field.extend(items)


def declared_inputs(registry: Registry, spec: pb.ServableSpec) -> Sequence[str]:
    """The inputs the requested method declares; none if it is not deployed."""
    methods = registry.methods(spec.name, spec.version_number) or {}
    method = methods.get(spec.method_name)
    return method.inputs if method is not None else ()


def whole_request_fails(run: BatchFunction) -> BatchFunction:
    """One failing instance fails every instance of its request (a batch-level failure)."""

    def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
        outcomes = run(inputs, backend)
        failed = [o for o in outcomes if isinstance(o, InstanceError)]
        return [failed[0]] * len(outcomes) if failed else outcomes

    return batch
