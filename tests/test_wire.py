"""reference_server.wire: large tensors serialized around their data parse back to the same
message."""

import numpy as np
import pytest

from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import wire

LARGE = wire.LARGE_TENSOR


def _reply(sizes: list[int]) -> pb.PredictReply:
    reply = pb.PredictReply()
    reply.servable_spec.name = "conformance"
    reply.servable_spec.method_name = "echo"
    reply.servable_spec.version_number = 2
    for index, size in enumerate(sizes):
        items = reply.instances.add().items
        data = np.arange(size, dtype=np.uint8) ^ index
        codec.fill_array_tensor(items["y"], data.reshape(1, size))
        codec.fill_array_tensor(items["version"], np.asarray(2, np.int64))
        items["note"].CopyFrom(codec.text_tensor("é" * 3))
    reply.error_msg.add(error_code=0)
    reply.error_msg.add(error_code=3, error_msg=b"x" * 200)
    return reply


@pytest.mark.parametrize("sizes", [[LARGE], [LARGE, 5, 300_000], [LARGE - 1 + 2**14, 2**21]])
def test_large_reply_round_trips(sizes: list[int]) -> None:
    reply = _reply(sizes)
    encoded = wire.serialize_reply(reply)
    assert encoded != reply.SerializeToString()  # the walked path, not protobuf's
    assert pb.PredictReply.FromString(encoded) == reply
    assert len(encoded) == len(reply.SerializeToString())


def test_large_request_round_trips_byte_for_byte() -> None:
    request = pb.PredictRequest()
    request.servable_spec.name = "add"
    codec.fill_array_tensor(request.instances.add().items["x"], np.ones(LARGE * 3, np.float32))
    # One map entry and fields in number order: the same bytes as protobuf's.
    assert wire.serialize_request(request) == request.SerializeToString()


def test_small_messages_are_protobufs_own_bytes() -> None:
    reply = _reply([LARGE - 100])
    assert wire.serialize_reply(reply) == reply.SerializeToString()


def test_unknown_fields_are_kept() -> None:
    tensor = pb.Tensor(dtype=pb.MS_UINT8, data=b"\x01" * LARGE)
    tensor.shape.dims.append(LARGE)
    unknown = b"\xb8\x06\x07"  # field 103, varint 7: not in the proto
    request = pb.PredictRequest()
    request.instances.add().items["x"].MergeFromString(tensor.SerializeToString() + unknown)
    encoded = wire.serialize_request(request)
    assert unknown in encoded
    assert pb.PredictRequest.FromString(encoded) == request


def test_shared_memory_and_output_buffers_fall_back() -> None:
    reply = _reply([LARGE])
    reply.instances[0].output_buffers["y"].memory_key = "k"
    shm = reply.instances.add().items["z"]
    shm.shm_data.memory_key = "m"
    assert pb.PredictReply.FromString(wire.serialize_reply(reply)) == reply
