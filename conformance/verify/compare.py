"""A real reply against the oracle's expectation, in full.

``difference(expected, reply)`` walks the whole reply (servable_spec, the reply's shape, every
error entry's code and text, every instance's output names and each output's dtype, dims, data
and bytes_val, output_buffers) and returns the first field that differs as a ``Difference``
(path, expected, got), honouring exactly the freedoms conformance.oracle declares. ``check``
raises it as an AssertionError; the request itself is in the failure report already
(conformance.repro records every request sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from conformance.catalogue import Level
from conformance.verify import oracle
from conformance.verify.oracle import Error, Expected, ExpectedOutputs, FailFrame, TensorOut
from protos import codec
from protos import ms_service_pb2 as pb

_TEXT_DTYPES = (codec.STRING.code, codec.BYTES.code)


@dataclass(frozen=True)
class Difference:
    path: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, got {self.got}"


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dtype_name(code: int) -> str:
    dtype = codec.BY_CODE.get(code)
    return dtype.name if dtype else f"dtype {code}"


def _spec(expected: pb.ServableSpec, got: pb.ServableSpec) -> Difference | None:
    for name in ("name", "method_name", "version_number"):
        want, have = getattr(expected, name), getattr(got, name)
        if want != have:
            return Difference(f"servable_spec.{name}", _short(want), _short(have))
    return None


def _error(want: Error, got: pb.ErrorMsg, path: str) -> Difference | None:
    if not want.admits_code(got.error_code):
        return Difference(f"{path}.error_code", want.describe_code(), str(got.error_code))
    text = oracle.text_of(bytes(got.error_msg))  # a cut may split a character: still a text
    if not want.text.admits(text):
        return Difference(f"{path}.error_msg", str(want.text), _short(text))
    return None


def _tensor(want: TensorOut, got: pb.Tensor, path: str) -> Difference | None:
    if got.dtype != want.dtype:
        return Difference(f"{path}.dtype", _dtype_name(want.dtype), _dtype_name(got.dtype))
    dims = tuple(got.shape.dims)
    if got.WhichOneof("tensor_data") == "shm_data":
        return Difference(f"{path}.shm_data", "no shared memory (outputs travel inline)", "set")
    if want.is_text:
        if dims not in ((), (1,)):
            return Difference(f"{path}.shape.dims", "[] or [1]", str(list(dims)))
        texts = [bytes(v) for v in got.bytes_val]
        if texts != [want.value]:
            return Difference(f"{path}.bytes_val", _short([want.value]), _short(texts))
        if got.data:
            return Difference(f"{path}.data", "b'' (a text travels in bytes_val)", _short(got.data))
        return None
    if dims != want.dims:
        return Difference(f"{path}.shape.dims", str(list(want.dims)), str(list(dims)))
    if got.bytes_val:
        return Difference(f"{path}.bytes_val", "[] (a numeric tensor)", _short(list(got.bytes_val)))
    if want.data is not None and got.data != want.data:
        return _first_byte(want.data, got.data, f"{path}.data")
    if want.values is not None:
        expected = want.values.ravel()
        if len(got.data) != expected.nbytes:
            return Difference(f"{path}.data", f"{expected.nbytes} bytes", f"{len(got.data)} bytes")
        values = np.frombuffer(got.data, expected.dtype)
        if not np.array_equal(values, expected, equal_nan=True):
            at = int(
                np.flatnonzero(~((values == expected) | (np.isnan(values) & np.isnan(expected))))[0]
            )
            return Difference(
                f"{path}.data[element {at}]", repr(expected[at].item()), repr(values[at].item())
            )
    return None


def _first_byte(want: bytes, got: bytes, path: str) -> Difference:
    if len(want) != len(got):
        return Difference(path, f"{len(want)} bytes", f"{len(got)} bytes")
    at = next(i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b)
    return Difference(f"{path}[byte {at}]", f"0x{want[at]:02x}", f"0x{got[at]:02x}")


def _outputs(want: ExpectedOutputs, got: pb.Instance, path: str) -> Difference | None:
    names, expected = sorted(got.items), sorted(want.tensors)
    if names != expected:
        return Difference(f"{path}.items", f"outputs {expected}", f"outputs {names}")
    if got.output_buffers:
        return Difference(f"{path}.output_buffers", "none", f"{sorted(got.output_buffers)}")
    for name in expected:
        found = _tensor(want.tensors[name], got.items[name], f"{path}.items[{name!r}]")
        if found:
            return found
    return None


def _count(path: str, want: int, got: int, what: str) -> Difference:
    return Difference(path, f"{want} {what}", f"{got} {what}")


def _one(expected: Expected, reply: pb.PredictReply) -> Difference | None:
    found = _spec(expected.spec, reply.servable_spec)
    if found:
        return found
    instances, errors = reply.instances, reply.error_msg
    if expected.error is not None:  # a request-level error
        if instances:
            return _count("instances", 0, len(instances), "instances (a request-level error)")
        if len(errors) != 1:
            return _count("error_msg", 1, len(errors), "error entries (a request-level error)")
        return _error(expected.error, errors[0], "error_msg[0]")
    wants = expected.instances
    count = len(wants)
    failing = [isinstance(w, Error) for w in wants]
    if not any(failing):  # every instance succeeded
        if errors:
            return _count("error_msg", 0, len(errors), "error entries (every instance succeeds)")
        if len(instances) != count:
            return _count("instances", count, len(instances), "instances")
        return _instances(wants, instances, errors)
    collapsed = not instances and len(errors) == 1
    if all(failing) and expected.collapse != "never" and (collapsed or expected.collapse == "must"):
        if instances:
            return _count("instances", 0, len(instances), "instances (identical failures collapse)")
        if len(errors) != 1:
            return _count(
                "error_msg", 1, len(errors), "error entries (identical failures collapse)"
            )
        for index, want in enumerate(wants):  # the one error stands for every instance
            assert isinstance(want, Error)
            found = _error(want, errors[0], "error_msg[0]")
            if found:
                return Difference(f"{found.path} (for instance {index})", found.expected, found.got)
        return None
    if len(instances) != count:
        return _count("instances", count, len(instances), "instances (one per request instance)")
    if len(errors) != count:
        return _count("error_msg", count, len(errors), "error entries (one per instance)")
    return _instances(wants, instances, errors)


def _instances(
    wants: Sequence[oracle.InstanceExpectation],
    instances: Sequence[pb.Instance],
    errors: Sequence[pb.ErrorMsg],
) -> Difference | None:
    for index, want in enumerate(wants):
        path = f"instances[{index}]"
        if isinstance(want, Error):
            found = _error(want, errors[index], f"error_msg[{index}]")
            if found:
                return found
            if instances[index].items or instances[index].output_buffers:
                return Difference(
                    path, "an empty Instance (failed)", f"outputs {sorted(instances[index].items)}"
                )
            continue
        if errors:
            entry = errors[index]
            if entry.error_code != 0:
                return Difference(
                    f"error_msg[{index}].error_code", "0 (instance succeeds)", str(entry.error_code)
                )
            if entry.error_msg:
                return Difference(
                    f"error_msg[{index}].error_msg",
                    "b'' (instance succeeds)",
                    _short(bytes(entry.error_msg)),
                )
        found = _outputs(want, instances[index], path)
        if found:
            return found
    return None


def difference(expected: Expected, reply: pb.PredictReply) -> Difference | None:
    """The first field of ``reply`` that differs from ``expected`` (or from every alternative:
    then the difference from the primary expectation), or None."""
    first = _one(expected, reply)
    if first is None:
        return None
    if any(_one(alternative, reply) is None for alternative in expected.alternatives):
        return None
    return first


def check(
    request: pb.PredictRequest,
    reply: pb.PredictReply,
    what: str = "reply",
    *,
    level: Level = oracle.MUST,
    frame: FailFrame | None = None,
) -> None:
    """AssertionError naming the first field of ``reply`` that differs from what the oracle
    expects for ``request`` (nothing to check for a request the oracle does not model)."""
    __tracebackhide__ = True
    try:
        expected = oracle.expect(request, level, frame)
    except oracle.OutsideModel:
        return
    found = difference(expected, reply)
    if found is not None:
        raise AssertionError(
            f"{what}: the reply differs from the kit's model at {found.path}: expected "
            f"{found.expected}, got {found.got}"
        )


__all__ = [
    "Difference",
    "check",
    "difference",
]
