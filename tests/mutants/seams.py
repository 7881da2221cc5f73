"""The seams a mutant breaks the reference server at, each replaced in place by a wrapper.

The reference server is built from small modules whose functions call each other through
module or class attributes (``checks.decode_tensor``, ``replies.truncate``,
``Dispatcher.predict``, ``servables.kit_registry`` ...), so a mutant replaces one attribute
with a wrapper around the original before the server starts. These helpers name the common
cases; ``around`` is the general one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from protos import ms_service_pb2 as pb
from reference_server import checks, servables
from reference_server.dispatch import Dispatcher
from reference_server.registry import BatchFunction, Method, Registry

Wrapper = Callable[..., Any]


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


def on_replies(edit: ReplyEdit) -> None:
    """Every reply passes through ``edit(dispatcher, request, reply)``: it edits the reply in
    place (returning None) or returns another one."""

    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        reply = original(self, request)
        edited = edit(self, request, reply)
        return reply if edited is None else edited


def on_requests(edit: Callable[[Dispatcher, pb.PredictRequest], None]) -> None:
    """The checks and the method see a copy of each request as ``edit`` changed it; the reply
    still echoes the spec the client sent."""

    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        changed = pb.PredictRequest()
        changed.CopyFrom(request)
        edit(self, changed)
        reply = original(self, changed)
        reply.servable_spec.CopyFrom(request.servable_spec)
        return reply


def on_echo_outputs(edit: Callable[[pb.Tensor], None]) -> None:
    """Output ``y`` of every conformance.echo reply instance is edited in place by ``edit``."""

    def edit_reply(_: Dispatcher, request: pb.PredictRequest, reply: pb.PredictReply) -> None:
        if is_call(request, "conformance", "echo"):
            for instance in reply.instances:
                if "y" in instance.items:
                    edit(instance.items["y"])

    on_replies(edit_reply)


def on_method(servable: str, method: str, wrap: Callable[[BatchFunction], BatchFunction]) -> None:
    """Every version of ``servable.method`` in the kit registry runs ``wrap(its run)``."""

    @around(servables, "kit_registry")
    def kit_registry(original: Wrapper, *args: Any, **kwargs: Any) -> Registry:
        registry: Registry = original(*args, **kwargs)
        found = registry.servable(servable)
        assert found is not None, f"the kit has no servable {servable}"
        for methods in found.versions.values():
            table: dict[str, Method] = methods  # type: ignore[assignment]  # built as a dict
            table[method] = dataclasses.replace(table[method], run=wrap(table[method].run))
        return registry


def on_decode(accept: Callable[[pb.Tensor, str], bool]) -> None:
    """A malformed input tensor whose problem (upstream's detail text) ``accept`` approves is
    taken as it is instead of rejecting the request."""

    @around(checks, "decode_tensor")
    def decode_tensor(original: Wrapper, tensor: pb.Tensor, *, keep_wire: bool = False) -> Any:
        try:
            return original(tensor, keep_wire=keep_wire)
        except checks.TensorProblem as problem:
            if keep_wire and accept(tensor, str(problem)):
                return tensor
            raise
