"""What a correct reply looks like: assertion helpers with messages a server author can act on.

The protocol allows exactly three reply shapes (all OK; one request-level error; mixed). These
helpers read a reply against the request it answers and raise AssertionError saying what was
expected and what came back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from google.protobuf import text_format
from google.protobuf.message import Message

from conformance.verify.oracle import text_of
from protos import codec
from protos import ms_service_pb2 as pb

# The code of every request-level error (unknown servable, version or method; missing input;
# malformed tensor: docs/protocol.md#request-handling) and of a model input's size or dtype
# mismatch (docs/protocol.md#step-method-runs).
INVALID_INPUTS = 2


def _error_text(error: pb.ErrorMsg) -> str:
    return text_of(bytes(error.error_msg))  # lossless: a cut may split a character


def describe(reply: pb.PredictReply) -> str:
    """A one-line summary of a reply for assertion messages."""
    errors = ", ".join(f"({e.error_code}, {_error_text(e)[:120]!r})" for e in reply.error_msg)
    return (
        f"reply with {len(reply.instances)} instances and {len(reply.error_msg)} errors [{errors}]"
    )


def one_line(message: Message) -> str:
    return text_format.MessageToString(message, as_one_line=True)


def fail(message: str) -> NoReturn:
    __tracebackhide__ = True
    raise AssertionError(message)


@dataclass(frozen=True)
class Failed:
    """One instance's error as the reply reported it."""

    code: int
    text: str


InstanceResult = pb.Instance | Failed


def assert_reply_shape(reply: pb.PredictReply, count: int) -> list[InstanceResult]:
    """Per request instance: its reply Instance, or Failed. Any shape the protocol allows is
    accepted; anything else is an AssertionError."""
    __tracebackhide__ = True
    instances, errors = reply.instances, reply.error_msg
    if not errors:
        if len(instances) != count:
            fail(f"{count} instances sent, {describe(reply)}: expected {count} instances")
        return list(instances)
    if len(errors) == 1 and not instances:
        if errors[0].error_code == 0:
            fail(f"a reply with no instances carries error code 0: {describe(reply)}")
        return [Failed(errors[0].error_code, _error_text(errors[0]))] * count
    if len(errors) != count or len(instances) != count:
        fail(
            f"{count} instances sent, {describe(reply)}: a reply has 0 errors, or 1 error and "
            f"no instances, or {count} errors and {count} instances"
        )
    result: list[InstanceResult] = []
    for index, (instance, error) in enumerate(zip(instances, errors, strict=True)):
        if error.error_code == 0:
            if error.error_msg:
                fail(
                    f"instance {index} is OK (code 0) but its error text is {_error_text(error)!r}"
                )
            result.append(instance)
        else:
            if instance.items:
                fail(f"instance {index} failed (code {error.error_code}) but carries outputs")
            result.append(Failed(error.error_code, _error_text(error)))
    return result


def assert_request_error(reply: pb.PredictReply, what: str) -> Failed:
    """The request-level error of ``reply``: 0 instances, 1 error, non-zero code."""
    __tracebackhide__ = True
    if reply.instances or len(reply.error_msg) != 1 or reply.error_msg[0].error_code == 0:
        fail(
            f"{what}: expected a request-level error (0 instances, 1 non-zero error), got "
            f"{describe(reply)}"
        )
    error = reply.error_msg[0]
    return Failed(error.error_code, _error_text(error))


def assert_invalid_inputs(reply: pb.PredictReply, what: str) -> Failed:
    """The request-level error of ``reply``, which must carry code 2 (INVALID_INPUTS)."""
    __tracebackhide__ = True
    error = assert_request_error(reply, what)
    if error.code != INVALID_INPUTS:
        fail(
            f"{what}: a request-level error with code {INVALID_INPUTS} (INVALID_INPUTS) is "
            f"expected, got ({error.code}, {error.text!r})"
        )
    return error


def assert_all_ok(reply: pb.PredictReply, count: int, what: str) -> list[pb.Instance]:
    __tracebackhide__ = True
    if reply.error_msg or len(reply.instances) != count:
        fail(f"{what}: expected {count} instances and no errors, got {describe(reply)}")
    return list(reply.instances)


def assert_failure_pattern(
    reply: pb.PredictReply, failing: Sequence[bool], what: str
) -> list[InstanceResult]:
    """Exactly the instances flagged in ``failing`` failed (non-zero code)."""
    __tracebackhide__ = True
    got = assert_reply_shape(reply, len(failing))
    for index, (outcome, should_fail) in enumerate(zip(got, failing, strict=True)):
        if should_fail and not isinstance(outcome, Failed):
            fail(f"{what}: instance {index} should have failed; {describe(reply)}")
        if not should_fail and isinstance(outcome, Failed):
            fail(
                f"{what}: instance {index} should have succeeded but failed with "
                f"({outcome.code}, {outcome.text!r})"
            )
    return got


def assert_output(instance: pb.Instance, name: str, where: str) -> pb.Tensor:
    __tracebackhide__ = True
    if name not in instance.items:
        fail(f"{where}: assert_output {name!r} missing (outputs: {sorted(instance.items)})")
    return instance.items[name]


def tensor_summary(tensor: pb.Tensor) -> str:
    dtype = codec.BY_CODE.get(tensor.dtype)
    name = dtype.name if dtype else f"dtype {tensor.dtype}"
    body = (
        f"data {tensor.data[:32].hex()}{'...' if len(tensor.data) > 32 else ''} "
        f"({len(tensor.data)} bytes)"
        if not tensor.bytes_val
        else f"bytes_val {[bytes(v)[:40] for v in tensor.bytes_val]}"
    )
    return f"{name} dims {list(tensor.shape.dims)} {body}"


def assert_same_tensor(got: pb.Tensor, sent: pb.Tensor, where: str) -> None:
    """Bit-exact: dtype, dims and bytes; for string/bytes the one value, dims [] or [1]."""
    __tracebackhide__ = True
    text_like = sent.dtype in (codec.STRING.code, codec.BYTES.code)
    same = got.dtype == sent.dtype
    if text_like:
        same = same and list(got.bytes_val) == list(sent.bytes_val)
        same = same and list(got.shape.dims) in ([], [1])
    else:
        same = same and list(got.shape.dims) == list(sent.shape.dims) and got.data == sent.data
    if not same:
        fail(f"{where}: sent {tensor_summary(sent)}, got back {tensor_summary(got)}")


def assert_int64_scalar(tensor: pb.Tensor, where: str) -> int:
    __tracebackhide__ = True
    if tensor.dtype != codec.BY_CODE[pb.MS_INT64].code or list(tensor.shape.dims) != []:
        fail(f"{where}: expected an MS_INT64 tensor with dims [], got {tensor_summary(tensor)}")
    if len(tensor.data) != 8:
        fail(f"{where}: an MS_INT64 scalar carries 8 bytes, got {len(tensor.data)}")
    return int.from_bytes(tensor.data, "little", signed=True)


def assert_text_value(tensor: pb.Tensor, where: str) -> str:
    __tracebackhide__ = True
    if tensor.dtype != pb.MS_STRING or len(tensor.bytes_val) != 1:
        fail(f"{where}: expected one MS_STRING value, got {tensor_summary(tensor)}")
    try:
        return codec.tensor_to_text(tensor)
    except UnicodeDecodeError:
        fail(f"{where}: the MS_STRING value is not UTF-8: {bytes(tensor.bytes_val[0])[:60]!r}")
        raise


__all__ = [
    "INVALID_INPUTS",
    "Failed",
    "InstanceResult",
    "assert_all_ok",
    "assert_failure_pattern",
    "assert_int64_scalar",
    "assert_invalid_inputs",
    "assert_output",
    "assert_reply_shape",
    "assert_request_error",
    "assert_same_tensor",
    "assert_text_value",
    "describe",
    "fail",
    "one_line",
    "tensor_summary",
]
