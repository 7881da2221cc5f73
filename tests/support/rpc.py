"""Raw Predict calls for tests: stubs with bounded waits, request and tensor builders.

Nothing here goes through reference_client: the server is checked against the wire.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np

from protos import codec, ms_service_pb2_grpc
from protos import ms_service_pb2 as pb

RPC_TIMEOUT_S = 10.0  # the longest any single test call may take
MAX_MESSAGE = 512 * 1024 * 1024  # the client side allows what upstream's client allows
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    # A refused handshake should fail the call now, not back off for seconds.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)


@contextmanager
def stub_for(
    address: str,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> Iterator[ms_service_pb2_grpc.MSServiceStub]:
    """A Predict stub on a fresh channel to ``address`` (TLS when ``credentials``)."""
    all_options = [*CHANNEL_OPTIONS, *options]
    if credentials is None:
        channel = grpc.insecure_channel(address, options=all_options)
    else:
        channel = grpc.secure_channel(address, credentials, options=all_options)
    with channel:
        yield ms_service_pb2_grpc.MSServiceStub(channel)


def predict(
    stub: ms_service_pb2_grpc.MSServiceStub,
    request: pb.PredictRequest,
    timeout: float = RPC_TIMEOUT_S,
) -> pb.PredictReply:
    reply: pb.PredictReply = stub.Predict(request, timeout=timeout, wait_for_ready=False)
    return reply


def status_of(
    stub: ms_service_pb2_grpc.MSServiceStub,
    request: pb.PredictRequest,
    timeout: float = RPC_TIMEOUT_S,
) -> grpc.StatusCode:
    """The gRPC status code of a call (OK if it returned)."""
    try:
        predict(stub, request, timeout)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def tensor(value: Any, dims: Sequence[int] | None = None) -> pb.Tensor:
    """A Tensor for a numpy array (its shape), str (MS_STRING) or bytes (MS_BYTES), dims [1]
    for text unless ``dims`` says otherwise."""
    if isinstance(value, pb.Tensor):
        return value
    if isinstance(value, str):
        return codec.text_tensor(value, dims=(1,) if dims is None else dims)
    if isinstance(value, bytes):
        return codec.bytes_tensor(value, dims=(1,) if dims is None else dims)
    return codec.array_to_tensor(np.asarray(value))


def raw_tensor(
    dtype: int, dims: Sequence[int], data: bytes = b"", bytes_val: Sequence[bytes] = ()
) -> pb.Tensor:
    """A Tensor exactly as given, well-formed or not."""
    result = pb.Tensor(dtype=dtype, data=data, bytes_val=list(bytes_val))  # type: ignore[arg-type]
    result.shape.dims.extend(dims)
    return result


def request(
    servable: str,
    method: str,
    instances: Sequence[Mapping[str, Any]] = (),
    version: int = 0,
) -> pb.PredictRequest:
    """A PredictRequest; instance values go through ``tensor``."""
    message = pb.PredictRequest()
    message.servable_spec.name = servable
    message.servable_spec.method_name = method
    message.servable_spec.version_number = version
    for values in instances:
        instance = message.instances.add()
        for name, value in values.items():
            instance.items[name].CopyFrom(tensor(value))
    return message


def errors(reply: pb.PredictReply) -> list[tuple[int, str]]:
    """The reply's error entries as (code, text)."""
    return [(e.error_code, e.error_msg.decode("utf-8")) for e in reply.error_msg]


def output(reply: pb.PredictReply, index: int, name: str) -> Any:
    """One output decoded: numpy array, str or bytes."""
    item = reply.instances[index].items[name]
    if item.dtype == pb.MS_STRING:
        return codec.tensor_to_text(item)
    if item.dtype == pb.MS_BYTES:
        return codec.tensor_to_bytes(item)
    return codec.tensor_to_array(item)
