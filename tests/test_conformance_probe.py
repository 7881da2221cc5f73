"""Readiness: a server that answers the probe's Predict in any way is ready; only "not there
yet" (UNAVAILABLE, DEADLINE_EXCEEDED, a refused connection) keeps the harness waiting. A TLS
server that answers in plaintext is listening too: the run goes on and its TLS checks fail.
Against in-process generic-handler servers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509

from conformance.catalogue import LaunchError
from conformance.drive import (
    Endpoint,
    TLSFiles,
    free_tcp_address,
    handshake_once,
    make_tls_files,
    or_listening,
    predict_once,
    wait_ready,
)
from protos import ms_service_pb2 as pb

ATTEMPT_S = 2.0


class StatusServer:
    """A plaintext server whose every Predict ends with gRPC status ``code`` (OK: a reply)."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code
        self.calls = 0
        handler = grpc.method_handlers_generic_handler(
            "mindspore.serving.proto.MSService",
            {"Predict": grpc.unary_unary_rpc_method_handler(self._predict)},
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(2), options=[("grpc.so_reuseport", 0)])
        self.server.add_generic_rpc_handlers((handler,))
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def _predict(self, request_bytes: bytes, context: Any) -> bytes:
        self.calls += 1
        if self.code != grpc.StatusCode.OK:
            context.abort(self.code, "the probe's answer")
        request = pb.PredictRequest.FromString(request_bytes)
        return pb.PredictReply(servable_spec=request.servable_spec).SerializeToString()

    def close(self) -> None:
        self.server.stop(grace=None).wait(5)


def _serving(code: grpc.StatusCode) -> Iterator[StatusServer]:
    server = StatusServer(code)
    yield server
    server.close()


@pytest.fixture(scope="module")
def material() -> TLSFiles:
    return make_tls_files(tempfile.mkdtemp(prefix="ms", dir="/tmp"))


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNIMPLEMENTED,
    ],
)
def test_any_answer_but_not_there_yet_is_ready(code: grpc.StatusCode) -> None:
    for server in _serving(code):
        assert predict_once(Endpoint("core", server.address), ATTEMPT_S) is None
        assert server.calls == 1
        # wait_ready returns at once instead of waiting out its deadline.
        started = time.monotonic()
        wait_ready(Endpoint("core", server.address), time.monotonic() + 60)
        assert time.monotonic() - started < 30  # well before the deadline, even when busy


def test_unavailable_is_not_ready() -> None:
    for server in _serving(grpc.StatusCode.UNAVAILABLE):
        why = predict_once(Endpoint("core", server.address), ATTEMPT_S)
        assert why is not None and why.startswith("UNAVAILABLE: the probe's answer"), why
        with pytest.raises(LaunchError, match=r"did not answer a Predict.*UNAVAILABLE"):
            wait_ready(Endpoint("core", server.address), time.monotonic() + 1.0)


def test_nothing_listening_is_not_ready() -> None:
    why = predict_once(Endpoint("core", free_tcp_address()), 0.5)
    assert why is not None and why.startswith(("DEADLINE_EXCEEDED", "UNAVAILABLE")), why


def test_a_tls_server_answering_in_plaintext_is_listening(material: TLSFiles) -> None:
    for server in _serving(grpc.StatusCode.OK):
        tls = Endpoint("tls", server.address, root_ca=material.ca)
        assert predict_once(tls, ATTEMPT_S) is not None  # no TLS handshake: no TLS answer
        assert handshake_once(tls, ATTEMPT_S) is not None
        assert or_listening(predict_once)(tls, ATTEMPT_S) is None
        assert or_listening(handshake_once)(tls, ATTEMPT_S) is None
        wait_ready(tls, time.monotonic() + 10, probe=or_listening(predict_once))


def test_the_plaintext_fallback_needs_an_answer_and_a_tls_endpoint(
    material: TLSFiles,
) -> None:
    nothing = Endpoint("tls", free_tcp_address(), root_ca=material.ca)
    why = or_listening(predict_once)(nothing, 0.5)
    assert why is not None
    for server in _serving(grpc.StatusCode.UNAVAILABLE):
        # The plaintext answer must itself be an answer, and a plaintext endpoint's probe
        # is the probe as it is.
        tls = Endpoint("tls", server.address, root_ca=material.ca)
        assert or_listening(predict_once)(tls, ATTEMPT_S) is not None
        plain = Endpoint("core", server.address)
        assert or_listening(predict_once)(plain, ATTEMPT_S) is not None
        assert server.calls == 2


class TLSListener:
    """A Python TLS listener that counts the handshakes it completes and the ones it refuses
    (``connections`` of them; ``certificate``: another PEM file than the server's chain)."""

    def __init__(
        self, material: TLSFiles, connections: int = 1, certificate: str | None = None
    ) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificate or material.server_cert, material.server_key)
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(5)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.completed = self.refused = 0
        self.thread = threading.Thread(target=self._accept, args=(connections,), daemon=True)
        self.thread.start()

    def _accept(self, connections: int) -> None:
        for _ in range(connections):
            with contextlib.suppress(OSError), self.socket.accept()[0] as connection:
                try:
                    with self.context.wrap_socket(connection, server_side=True):
                        self.completed += 1
                except OSError:
                    self.refused += 1


PEM_END = b"-----END CERTIFICATE-----\n"


def test_the_server_certificate_is_a_chain_under_the_root(material: TLSFiles) -> None:
    """Every server certificate file holds the leaf, then the intermediate that issued it;
    the root (the only CA a client is given) issued the intermediate, and is not in the file."""
    root = x509.load_pem_x509_certificate(Path(material.ca).read_bytes())
    for path in (material.server_cert, material.expired_server_cert, material.wrong_host_cert):
        blocks = [b + PEM_END for b in Path(path).read_bytes().split(PEM_END) if b.strip()]
        leaf, intermediate = (x509.load_pem_x509_certificate(b) for b in blocks)
        leaf.verify_directly_issued_by(intermediate)
        intermediate.verify_directly_issued_by(root)
        with pytest.raises(ValueError):
            leaf.verify_directly_issued_by(root)


def test_a_tls_server_leaving_out_its_intermediate_is_listening(
    material: TLSFiles, tmp_path: Path
) -> None:
    # It completes handshakes, but no client trusting the root accepts its chain: it is up,
    # and fails the TLS checks (exit status 1), rather than "never ready" (2).
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(Path(material.server_cert).read_bytes().split(PEM_END)[0] + PEM_END)
    listener = TLSListener(material, connections=2, certificate=str(leaf))
    tls = Endpoint("tls", listener.address, root_ca=material.ca)
    why = or_listening(lambda endpoint, timeout_s: "not yet")(tls, ATTEMPT_S)
    listener.thread.join(10)
    listener.socket.close()
    assert why is None
    assert (listener.completed, listener.refused) == (1, 1)  # the second: the root's refusal


def test_a_tls_server_presenting_its_chain_is_not_ready_until_it_answers(
    material: TLSFiles,
) -> None:
    listener = TLSListener(material, connections=2)
    tls = Endpoint("tls", listener.address, root_ca=material.ca)
    why = or_listening(lambda endpoint, timeout_s: "not yet")(tls, ATTEMPT_S)
    listener.thread.join(10)
    listener.socket.close()
    assert why == "not yet"
    assert (listener.completed, listener.refused) == (2, 0)


def test_a_tls_server_not_answering_yet_gets_no_plaintext_probe(material: TLSFiles) -> None:
    listener = TLSListener(material)
    tls = Endpoint("tls", listener.address, root_ca=material.ca)
    why = or_listening(lambda endpoint, timeout_s: "not yet")(tls, ATTEMPT_S)
    listener.thread.join(10)
    listener.socket.close()
    # It speaks TLS: not ready yet, and never sent plaintext (a refused handshake).
    assert why == "not yet"
    assert (listener.completed, listener.refused) == (1, 0)
