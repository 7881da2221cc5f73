"""The servable registry: a servable is a few declarative lines.

A method declares its input and output names and one *batch function*. The server decodes and
checks a request first (reference_server.checks), then calls the batch function once per request
with every instance's decoded inputs:

* numeric tensors arrive as read-only host numpy arrays with the shape as sent;
* MS_STRING arrives as ``str``, MS_BYTES as ``bytes``;
* a method declared with ``wire_inputs=True`` gets the checked ``protos.ms_service_pb2.Tensor``
  objects instead (for an echo that must keep the wire form, e.g. a string's dims).

The function returns one outcome per instance, in order: a mapping output name -> value (numpy or
cupy arrays, numpy or Python scalars, ``str``, ``bytes``, or a ``Tensor`` copied verbatim), or an
``InstanceError`` for an instance that failed alone. An exception escaping the batch function
fails every instance with code 3.

``per_instance`` adapts a function of one instance, turning what it raises into that instance's
code-3 error with upstream's stage text; ``InstanceError`` raised inside passes through as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reference_server.backend import NUMPY_BACKEND, ArrayBackend

# The codes and the stage text, for servable authors; they live in reference_server.errors.
from reference_server.errors import (
    FAILED,
    INVALID_INPUTS,
    SERVABLE_UNAVAILABLE,
    SUCCESS,
    SYSTEM_ERROR,
    stage_error_text,
)

__all__ = [
    "FAILED",
    "INVALID_INPUTS",
    "SERVABLE_UNAVAILABLE",
    "SUCCESS",
    "SYSTEM_ERROR",
    "BatchFunction",
    "Inputs",
    "InstanceError",
    "Method",
    "Outcome",
    "Outputs",
    "Registry",
    "Servable",
    "method_table",
    "per_instance",
    "stage_error_text",
]

Inputs = Mapping[str, Any]
Outputs = Mapping[str, Any]


class InstanceError(Exception):
    """One instance failed; the others of its request are unaffected."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Outcome = Outputs | InstanceError
BatchFunction = Callable[[Sequence[Inputs], ArrayBackend], Sequence[Outcome]]


@dataclass(frozen=True)
class Method:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: BatchFunction
    # True: the batch function gets each input as its checked wire Tensor, not decoded.
    wire_inputs: bool = False


@dataclass(frozen=True)
class Servable:
    name: str
    # version number -> method name -> Method
    versions: Mapping[int, Mapping[str, Method]] = field(default_factory=dict)

    @property
    def latest_version(self) -> int:
        return max(self.versions)


def method_table(*methods: Method) -> dict[str, Method]:
    """Methods keyed by their names, for ``Servable(versions={1: method_table(...)})``."""
    return {method.name: method for method in methods}


def per_instance(
    servable: str,
    method: str,
    function: Callable[[Inputs, ArrayBackend], Outputs],
    stage: int = 1,
) -> BatchFunction:
    """A batch function that calls ``function`` on each instance alone."""

    def run(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for inputs in batch:
            try:
                outcomes.append(function(inputs, backend))
            except InstanceError as exc:
                outcomes.append(exc)
            except Exception as exc:
                text = stage_error_text(servable, function.__name__, method, stage, str(exc))
                outcomes.append(InstanceError(SYSTEM_ERROR, text))
        return outcomes

    return run


class Registry:
    """The servables a server deploys, looked up by exact name and version (0 = latest).

    A servable's version numbers are read when it is added (its method tables at each lookup).

    ``backend`` is where the batch functions compute (passed to every call).
    """

    def __init__(
        self, servables: Sequence[Servable] = (), backend: ArrayBackend = NUMPY_BACKEND
    ) -> None:
        self.backend = backend
        self._servables: dict[str, Servable] = {}
        self._latest: dict[str, int] = {}  # read per request: computed once (issue 12)
        for servable in servables:
            self.add(servable)

    def add(self, servable: Servable) -> None:
        if not servable.versions:
            raise ValueError(f"servable {servable.name!r} declares no version")
        if servable.name in self._servables:
            raise ValueError(f"servable {servable.name!r} is already registered")
        self._servables[servable.name] = servable
        self._latest[servable.name] = servable.latest_version

    def servable(self, name: str) -> Servable | None:
        return self._servables.get(name)

    def names(self) -> list[str]:
        return sorted(self._servables)

    def methods(self, name: str, version: int) -> Mapping[str, Method] | None:
        """The methods of ``name`` at ``version`` (0 = the highest deployed); None if absent."""
        servable = self._servables.get(name)
        if servable is None:
            return None
        if version == 0:
            version = self._latest[name]
        return servable.versions.get(version)
