"""An independent Predict server for the client's tests: a gRPC generic handler over raw bytes.

It shares nothing with reference_server: it records the exact request bytes it got and answers
whatever reply (or gRPC status) a test hands it, so the client is checked against the wire, not
against our own server's reading of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import grpc
import trustme

from protos import ms_service_pb2 as pb

SERVICE = "mindspore.serving.proto.MSService"
WAIT_S = 5.0  # the longest any test waits on the fake server

Answer: TypeAlias = pb.PredictReply | Callable[[pb.PredictRequest], pb.PredictReply]


@dataclass
class Abort:
    """Answer with a non-OK gRPC status instead of a reply."""

    code: grpc.StatusCode
    details: str


class FakePredictServer:
    """A real gRPC server whose Predict records request bytes and answers canned replies."""

    def __init__(self, answer: Answer | Abort | None = None) -> None:
        self.answer: Answer | Abort = pb.PredictReply() if answer is None else answer
        self.received: list[bytes] = []
        self.gate: threading.Event | None = None  # when set, Predict waits for it
        self.entered = threading.Event()  # set when a Predict has started
        self.address = ""
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)]
        )
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Predict": grpc.unary_unary_rpc_method_handler(self._predict)}
        )
        self._server.add_generic_rpc_handlers((handler,))

    def _predict(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.received.append(request)
        self.entered.set()
        if self.gate is not None and not self.gate.wait(WAIT_S):
            context.abort(grpc.StatusCode.INTERNAL, "fake server gate never opened")
        answer = self.answer
        if isinstance(answer, Abort):
            context.abort(answer.code, answer.details)
        if callable(answer):
            answer = answer(pb.PredictRequest.FromString(request))
        return answer.SerializeToString()

    def last_request(self) -> pb.PredictRequest:
        assert self.received, "the fake server received nothing"
        return pb.PredictRequest.FromString(self.received[-1])

    def start(
        self, address: str = "127.0.0.1:0", credentials: grpc.ServerCredentials | None = None
    ) -> FakePredictServer:
        if credentials is None:
            port = self._server.add_insecure_port(address)
        else:
            port = self._server.add_secure_port(address, credentials)
        assert port != 0 or address.startswith("unix:"), f"cannot bind {address}"
        self.address = address if address.startswith("unix:") else f"127.0.0.1:{port}"
        self._server.start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.stop(grace=None).wait(WAIT_S)

    def __enter__(self) -> FakePredictServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def short_temp_dir() -> Iterator[Path]:
    """A directory whose paths fit a unix socket address (< 107 bytes)."""
    path = tempfile.mkdtemp(prefix="ms", dir="/tmp")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def closed_tcp_port() -> int:
    """A loopback port that was just free: nothing listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PemFiles:
    """One trustme CA and certificates it issued, as PEM files (SSLConfig takes paths)."""

    ca: trustme.CA
    ca_file: str
    server_cert: str  # chain for localhost and 127.0.0.1
    server_key: str
    client_cert: str  # a client leaf with a real name (trustme's leaves carry both EKUs)
    client_key: str

    def server_credentials(self, *, require_client_auth: bool = False) -> grpc.ServerCredentials:
        pair = (Path(self.server_key).read_bytes(), Path(self.server_cert).read_bytes())
        return grpc.ssl_server_credentials(
            [pair],
            root_certificates=self.ca.cert_pem.bytes() if require_client_auth else None,
            require_client_auth=require_client_auth,
        )


def make_pem_files(folder: Path, name: str) -> PemFiles:
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("client.example")
    paths = {
        "ca_file": folder / f"{name}-ca.pem",
        "server_cert": folder / f"{name}-server.pem",
        "server_key": folder / f"{name}-server.key",
        "client_cert": folder / f"{name}-client.pem",
        "client_key": folder / f"{name}-client.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca_file"]))
    server.cert_chain_pems[0].write_to_path(str(paths["server_cert"]))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(paths["server_cert"]), append=True)
    server.private_key_pem.write_to_path(str(paths["server_key"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client_cert"]))
    client.private_key_pem.write_to_path(str(paths["client_key"]))
    for path in paths.values():
        os.chmod(path, 0o600)
    return PemFiles(ca=ca, **{key: str(path) for key, path in paths.items()})
