"""limits: max_msg_mb_size is enforced both ways (docs/protocol.md#transport).

Every message is sized from the declared limit and sent over a channel with no limit of its
own, so any declared limit (1 to 512 MiB) is tested as such: a RESOURCE_EXHAUSTED can only be
the server's.
"""

from __future__ import annotations

import grpc

from conformance.verify import assertions, kit
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.tls import assert_served
from conformance.verify.wire import RpcFailure, Target
from protos import ms_service_pb2 as pb

MIB = 1 << 20
MARGIN = 4096  # bytes under or over the limit: far from it in protobuf terms, close in MiB


def _limit_bytes(server: Target) -> int:
    if server.endpoint.max_msg_mb_size is None:
        not_applicable("the server's max_msg_mb_size is not known")
    return server.endpoint.max_msg_mb_size * MIB


def _uint8(count: int, fill: int = 0x5A) -> pb.Tensor:
    tensor = pb.Tensor(dtype=pb.MS_UINT8, data=bytes([fill]) * count)
    tensor.shape.dims.append(count)
    return tensor


def echo_of_size(total: int) -> pb.PredictRequest:
    """An echo request whose serialized size is exactly ``total`` bytes (or a byte more)."""
    count = total
    for _ in range(4):  # the length prefixes grow with the payload: converge in a few steps
        request = kit.echo_request([_uint8(count)])
        count += total - request.ByteSize()
    return kit.echo_request([_uint8(max(0, count))])


def _assert_exhausted(outcome: pb.PredictReply | RpcFailure, what: str) -> None:
    __tracebackhide__ = True
    if not isinstance(outcome, RpcFailure):
        assertions.fail(f"{what}: expected RESOURCE_EXHAUSTED, the call was served")
    if outcome.code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        assertions.fail(f"{what}: expected RESOURCE_EXHAUSTED, got {outcome}")


@requirement("LIMITS-UNDER-LIMIT-OK")
def test_under_limit(conformance_limits: Target) -> None:
    limit = _limit_bytes(conformance_limits)
    request = echo_of_size(limit - MARGIN)
    x = request.instances[0].items["x"]
    reply = conformance_limits.call(request, 60.0)
    if isinstance(reply, RpcFailure):
        assertions.fail(
            f"a {request.ByteSize()}-byte request under the {limit}-byte limit got {reply}"
        )
    y = assertions.assert_output(
        assertions.assert_all_ok(reply, 1, "echo under the limit")[0], "y", "echo"
    )
    assert y.data == x.data and y.dtype == x.dtype, "echo under the limit changed the payload"


@requirement("LIMITS-REQUEST-OVER-LIMIT")
def test_request_over_limit(conformance_limits: Target) -> None:
    limit = _limit_bytes(conformance_limits)
    request = echo_of_size(limit + MARGIN)
    _assert_exhausted(
        conformance_limits.call(request, 60.0), f"a request {MARGIN} bytes over the limit"
    )
    assert_served(conformance_limits.endpoint, "after a request over the limit")


def reply_over_limit_count(limit: int) -> int:
    """n for add_cast's two int8 inputs of n elements (2n bytes: about half of ``limit``),
    whose float32 output of n elements (4n bytes) is just over ``limit``."""
    return (limit + MARGIN) // 4 + 1


def reply_over_limit_request(limit: int) -> pb.PredictRequest:
    """An add_cast request well under ``limit`` bytes whose reply is just over it."""
    count = reply_over_limit_count(limit)
    x = pb.Tensor(dtype=pb.MS_INT8, data=bytes(count))
    x.shape.dims.append(count)
    return kit.add_request(kit.ADD_CAST, [(x, x)])


@requirement("LIMITS-REPLY-OVER-LIMIT")
def test_reply_over_limit(conformance_limits: Target) -> None:
    # The request is well under the limit and the reply just over it; the harness's channel to
    # this server has no limit of its own (endpoints.UNLIMITED), so RESOURCE_EXHAUSTED can only
    # be the server refusing to send the reply.
    request = reply_over_limit_request(_limit_bytes(conformance_limits))
    _assert_exhausted(conformance_limits.call(request, 60.0), "a reply over the limit")
    assert_served(conformance_limits.endpoint, "after a reply over the limit")


__all__ = [
    "MARGIN",
    "MIB",
    "echo_of_size",
    "reply_over_limit_count",
    "reply_over_limit_request",
]
