"""The limits profile tests the server's declared limit as such, whatever it is (1 to 512 MiB):
its messages are sized from the limit, and the harness's channel adds no limit of its own, so a
RESOURCE_EXHAUSTED can only be the server's."""

from __future__ import annotations

import pytest

from conformance.catalogue import MAX_MSG_MB_SIZE
from conformance.drive import MAX_MESSAGE_BYTES, Endpoint
from conformance.suites.test_limits import (
    MARGIN,
    MIB,
    echo_of_size,
    reply_over_limit_count,
    reply_over_limit_request,
)
from protos import ms_service_pb2 as pb


def _reply_bytes(request: pb.PredictRequest) -> int:
    """The size of add_cast's reply: y float32 with x1's element count."""
    x1 = request.instances[0].items["x1"]
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    y = reply.instances.add().items["y"]
    y.dtype, y.data = pb.MS_FLOAT32, bytes(4 * len(x1.data))
    y.shape.dims.extend(x1.shape.dims)
    return reply.ByteSize()


def test_a_small_limit_gets_a_small_request_and_a_reply_just_over() -> None:
    limit = 1 * MIB
    request = reply_over_limit_request(limit)
    assert request.ByteSize() < limit * 0.6
    assert limit < _reply_bytes(request) <= limit + MARGIN + 64


@pytest.mark.parametrize("megabytes", [1, 100, 320, MAX_MSG_MB_SIZE])
def test_every_declared_limit_is_testable(megabytes: int) -> None:
    limit = megabytes * MIB
    # Without building the messages: add_cast's two int8 inputs of n elements, float32 out.
    count = reply_over_limit_count(limit)
    request_bytes, reply_bytes = 2 * count, 4 * count
    assert request_bytes < limit < reply_bytes  # only the reply is over the limit ...
    # ... and it is well over the harness's usual 512 MiB channel limit for the largest limit,
    # which is why the channel to a limits server has none.
    if megabytes == MAX_MSG_MB_SIZE:
        assert reply_bytes > MAX_MESSAGE_BYTES
    limits = Endpoint("limits", "127.0.0.1:1", max_msg_mb_size=megabytes)
    options = dict(limits.channel_options())
    assert options["grpc.max_receive_message_length"] == -1
    assert options["grpc.max_send_message_length"] == -1


def test_other_channels_keep_upstream_clients_limit() -> None:
    options = dict(Endpoint("core", "127.0.0.1:1").channel_options(isolated=True))
    assert options["grpc.max_receive_message_length"] == MAX_MESSAGE_BYTES
    assert options["grpc.use_local_subchannel_pool"] == 1


def test_request_sizes_are_exact() -> None:
    for total in (1000, MIB - MARGIN, MIB + MARGIN):
        assert echo_of_size(total).ByteSize() in (total, total + 1)
