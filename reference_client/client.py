"""The Client: checks its arguments, sends one Predict, hands the reply to the codec.

Everything about values lives in reference_client.values and everything about channels in
reference_client.transport; this module only wires them to one gRPC method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, cast

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_client.arguments import require_str, require_version
from reference_client.arrays import GPUUnavailableError, gpu_problem, to_device_output
from reference_client.errors import ClientClosedError, InvalidInputError
from reference_client.transport import SSLConfig, open_channel
from reference_client.values import (
    ArrayConverter,
    Result,
    build_request,
    parse_reply,
    rpc_failure_result,
)

log = logging.getLogger("reference_client")

# Bounds every call so that a stuck server cannot hang a caller forever, yet leaves room for a
# 512 MB request to a slow model. Pass timeout=None for no deadline.
DEFAULT_TIMEOUT_S = 300.0

ArrayLibrary = Literal["numpy", "cupy"]


def _keep_numpy(array: Any) -> Any:
    return array


class Client:
    """A client of one servable method, as upstream's ``mindspore_serving.client.Client``.

    Args:
        address: ``host:port`` or ``unix:PATH``.
        servable_name, method_name: what to call.
        version_number: the servable version; 0 means the latest one deployed.
        ssl_config: an SSLConfig for TLS; None for plaintext.
        timeout: keyword only; the deadline of each call in seconds (default 300; upstream has
            none), None for none. An infer() past it returns
            ``{"error": "Grpc Error, (4, 'deadline exceeded'), ..."}``; infer_async's result()
            raises that grpc.RpcError.
        outputs: keyword only; ``"numpy"`` (default) or ``"cupy"`` to get numeric outputs as
            CuPy arrays (needs a working GPU, checked here).

    Raises:
        InvalidInputError (a RuntimeError): a bad argument, with upstream's text.
        OSError: an SSL file that cannot be read (open()'s own error, as upstream).
        GPUUnavailableError (a RuntimeError): outputs="cupy" without a working CuPy GPU.

    Use as a context manager, or call close(), to release the channel.
    """

    def __init__(
        self,
        address: str,
        servable_name: str,
        method_name: str,
        version_number: int = 0,
        ssl_config: SSLConfig | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        outputs: ArrayLibrary = "numpy",
    ) -> None:
        self.address = require_str("address", address)
        self.servable_name = require_str("servable_name", servable_name)
        self.method_name = require_str("method_name", method_name)
        self.version_number = require_version(version_number)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
        ):
            raise InvalidInputError(
                f"Parameter 'timeout' should be a positive number or None, but actually {timeout!r}"
            )
        self.timeout = timeout
        self._convert_array = self._output_converter(outputs)
        self._channel = open_channel(address, ssl_config)
        self._predict = ms_service_pb2_grpc.MSServiceStub(self._channel).Predict
        self._closed = False

    @staticmethod
    def _output_converter(outputs: Any) -> ArrayConverter:
        if outputs == "numpy":
            return _keep_numpy
        if outputs == "cupy":
            problem = gpu_problem()
            if problem is not None:
                raise GPUUnavailableError(f"outputs='cupy' needs a working CuPy GPU: {problem}")
            return to_device_output
        raise InvalidInputError(
            f"Parameter 'outputs' should be 'numpy' or 'cupy', but actually {outputs!r}"
        )

    def infer(self, instances: Any) -> Result:
        """Send ``instances`` (a dict, or a list/tuple of dicts) and wait for the result.

        Returns a list with one dict per instance (outputs, or ``{"error": TEXT}`` for a failed
        instance), or ``{"error": TEXT}`` when the whole request failed, including a failed RPC
        (``"Grpc Error, (14, 'unavailable'), DETAILS"``). Raises InvalidInputError before
        sending for values that have no wire mapping, MalformedReplyError for a reply that
        breaks the protocol.
        """
        request = self._request(instances)
        return self._settle(lambda: self._predict(request, timeout=self.timeout))

    def infer_async(self, instances: Any) -> AsyncResult:
        """Send ``instances`` without waiting; ``.result()`` on the returned object waits.

        Bad values raise here, before sending, exactly as in infer(). Unlike infer(), a failed
        RPC is raised by ``.result()`` as the grpc.RpcError, as upstream's client does.
        """
        request = self._request(instances)
        future = self._predict.future(request, timeout=self.timeout)
        return AsyncResult(future, self._convert_array)

    def close(self) -> None:
        """Close the channel; calls in flight end with CANCELLED. Idempotent."""
        if not self._closed:
            self._closed = True
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Client({self.address!r}, {self.servable_name!r}, {self.method_name!r}, "
            f"version_number={self.version_number})"
        )

    def _request(self, instances: Any) -> pb.PredictRequest:
        if self._closed:
            raise ClientClosedError("The client is closed")
        return build_request(self.servable_name, self.method_name, self.version_number, instances)

    def _settle(self, wait: Callable[[], pb.PredictReply]) -> Result:
        """Wait for a reply and parse it: the one place where grpc.RpcError becomes a dict."""
        try:
            reply = wait()
        except grpc.RpcError as exc:
            call = cast(grpc.Call, exc)
            code, details = call.code(), call.details()
            log.info("Predict to %s failed: %s %s", self.address, code, details)
            return rpc_failure_result(code.value, details)
        return parse_reply(reply, self._convert_array)


class AsyncResult:
    """What Client.infer_async returns (upstream: ClientGrpcAsyncResult).

    ``result_future`` is the gRPC future, under upstream's attribute name.
    """

    def __init__(self, future: grpc.Future, convert_array: ArrayConverter) -> None:
        self.result_future = future
        self._convert_array = convert_array

    def done(self) -> bool:
        """True once the reply (or the failure) has arrived."""
        return bool(self.result_future.done())

    def result(self) -> Result:
        """Wait for the reply (bounded by the client's timeout) and parse it as infer() does.

        A failed RPC raises its grpc.RpcError (upstream's behaviour, unlike infer(), which
        returns the ``{"error": "Grpc Error, ..."}`` dict), CANCELLED after close() included.
        """
        return parse_reply(self.result_future.result(), self._convert_array)


# Upstream's name for the same object.
ClientGrpcAsyncResult = AsyncResult


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ArrayLibrary",
    "AsyncResult",
    "Client",
    "ClientGrpcAsyncResult",
    "log",
]
