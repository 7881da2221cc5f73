"""The harness's side of the wire when it certifies a client: a real gRPC server that records.

A :class:`RecordingServer` serves ``MSService/Predict`` on ``127.0.0.1:0`` or a short
``unix:PATH``, plaintext or one-way/mutual TLS, with a configurable message limit. Every request
it receives is kept (``requests``); what it answers is scripted per check (``respond``): a
``PredictReply``, a gRPC status, or a stall that ends when the check releases it (a deadline
test). ``DeadAddress`` is a TCP port with nothing listening. The TLS material is the run's
(conformance.drive's TLSFiles), certificates a correct client must refuse included.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc

STOP_GRACE_S = 1.0


@dataclass(frozen=True)
class Status:
    """Answer with a non-OK gRPC status."""

    code: grpc.StatusCode
    details: str


@dataclass(frozen=True)
class Stall:
    """Answer nothing until released (or ``seconds`` pass), then with ``then``."""

    seconds: float
    then: pb.PredictReply | Status


Response = pb.PredictReply | Status | Stall
Responder = Callable[[pb.PredictRequest], Response]


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


@dataclass(frozen=True)
class ServerTLS:
    certificate: str
    private_key: str
    client_ca: str | None = None  # set: mutual TLS, a client certificate from it is required


class _Servicer(ms_service_pb2_grpc.MSServiceServicer):
    def __init__(self, server: RecordingServer) -> None:
        self._server = server

    def Predict(self, request: pb.PredictRequest, context: Any) -> pb.PredictReply:
        return self._server._handle(request, context)


class RecordingServer:
    """A real gRPC server that records each PredictRequest and answers as scripted."""

    def __init__(
        self,
        *,
        unix_dir: str | None = None,
        tls: ServerTLS | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        self.requests: list[pb.PredictRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._responder: Responder = _default
        limit = max_message_bytes if max_message_bytes is not None else 512 * 1024 * 1024
        options = [
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 512 * 1024 * 1024),
        ]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
        ms_service_pb2_grpc.add_MSServiceServicer_to_server(_Servicer(self), self._server)
        credentials = None
        if tls is not None:
            credentials = grpc.ssl_server_credentials(
                [(_read(tls.private_key), _read(tls.certificate))],
                root_certificates=None if tls.client_ca is None else _read(tls.client_ca),
                require_client_auth=tls.client_ca is not None,
            )
        if unix_dir is not None:
            path = os.path.join(unix_dir, f"r{id(self) % 100000}.sock")
            bind = f"unix:{path}"
            self.address = bind
        else:
            bind = "127.0.0.1:0"
        port = (
            self._server.add_insecure_port(bind)
            if credentials is None
            else self._server.add_secure_port(bind, credentials)
        )
        if unix_dir is None:
            if port == 0:
                raise OSError("the recording server could not bind 127.0.0.1:0")
            self.address = f"127.0.0.1:{port}"
        self._server.start()

    def respond(self, responder: Responder | Response) -> None:
        """Answer the next requests with ``responder(request)`` (or a fixed outcome); forget the
        requests recorded so far."""
        with self._lock:
            self.requests.clear()
            self._release.clear()
            if callable(responder):
                self._responder = responder
            else:
                fixed = responder
                self._responder = lambda _request: fixed

    def forget(self) -> None:
        """Forget the requests recorded so far (before each call)."""
        with self._lock:
            self.requests.clear()

    def release(self) -> None:
        """End any stall now."""
        self._release.set()

    def taken(self) -> list[pb.PredictRequest]:
        with self._lock:
            return list(self.requests)

    def _handle(self, request: pb.PredictRequest, context: Any) -> pb.PredictReply:
        with self._lock:
            self.requests.append(request)
            responder = self._responder
        outcome = responder(request)
        if isinstance(outcome, Stall):
            self._release.wait(outcome.seconds)
            outcome = outcome.then
        if isinstance(outcome, Status):
            context.abort(outcome.code, outcome.details)
        assert isinstance(outcome, pb.PredictReply)
        return outcome

    def stop(self) -> None:
        self._release.set()
        self._server.stop(STOP_GRACE_S).wait(STOP_GRACE_S + 2)


def _default(request: pb.PredictRequest) -> Response:
    return Status(grpc.StatusCode.FAILED_PRECONDITION, "no reply scripted for this check")


class DeadAddress:
    """``127.0.0.1:PORT`` where nothing listens: the port stays bound (so no one else takes it)
    but never listens, so every connection is refused at once."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()


__all__ = [
    "STOP_GRACE_S",
    "DeadAddress",
    "RecordingServer",
    "Responder",
    "Response",
    "ServerTLS",
    "Stall",
    "Status",
]
