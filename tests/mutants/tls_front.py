"""A TLS terminator in front of the reference server, for the TLS mutants.

gRPC's own TLS gives a server no say around the handshake, so a mutant that must misbehave
there (stop after refusing a client, take plaintext too, present another certificate) gets
this front instead: the reference server listens in plaintext on a private loopback port, and
the front listens on the address the harness gave, does the handshake with Python's ssl module
(ALPN h2; with verify_client, a client certificate is required and verified against
custom_ca) and relays the decrypted bytes. Unbroken, it is a correct TLS server (the control
``tls-front`` proves it); the mutants change one thing through ``serve_behind_front``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from typing import Any

from mutants.seams import Wrapper, around
from reference_server.server import ReferenceServer
from reference_server.tls import SSLConfig

HANDSHAKE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 300.0  # a relayed connection with no traffic this long is closed
TLS_HANDSHAKE_RECORD = b"\x16"  # the first byte of every TLS ClientHello


def server_context(config: SSLConfig) -> ssl.SSLContext:
    """What the reference server's gRPC TLS does, in Python's ssl."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["h2"])  # gRPC clients insist on it
    context.load_cert_chain(config.certificate, config.private_key)
    if config.verify_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(config.custom_ca)
    return context


class Front:
    """Listens on ``address`` (host:port) and relays each TLS connection to ``backend``."""

    def __init__(
        self,
        address: str,
        context: ssl.SSLContext,
        backend: tuple[str, int],
        *,
        on_refused: Callable[[Front], None] | None = None,
        plaintext_too: bool = False,
    ) -> None:
        host, _, port = address.rpartition(":")
        self.context = context
        self.backend = backend
        self.on_refused = on_refused
        self.plaintext_too = plaintext_too
        self.served = False  # a TLS handshake completed
        self._listener = socket.create_server((host.strip("[]"), int(port)))
        threading.Thread(target=self._accept, name="tls-front", daemon=True).start()

    def close(self) -> None:
        """Stop listening: new connections are refused from now on."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(HANDSHAKE_TIMEOUT_S)
            if self.plaintext_too and not self._starts_tls(connection):
                relay(connection, self.backend)
                return
            try:
                secured = self.context.wrap_socket(connection, server_side=True)
            except OSError:  # ssl.SSLError included: the handshake was refused or broken
                # Only once it has served: on a loaded machine the readiness probe's first
                # handshake can break off at its deadline, which is no refusal to stop after.
                if self.on_refused is not None and self.served:
                    self.on_refused(self)
                return
            self.served = True
            with secured:
                relay(secured, self.backend)

    @staticmethod
    def _starts_tls(connection: socket.socket) -> bool:
        try:
            return connection.recv(1, socket.MSG_PEEK) == TLS_HANDSHAKE_RECORD
        except OSError:
            return True  # let the handshake fail as usual


def relay(client: socket.socket, backend_address: tuple[str, int]) -> None:
    """Copy bytes both ways until either side closes or the connection idles out."""
    try:
        backend = socket.create_connection(backend_address, timeout=HANDSHAKE_TIMEOUT_S)
    except OSError:
        return
    with backend:
        client.settimeout(None)
        backend.settimeout(None)
        peer = {client: backend, backend: client}
        while True:
            # Bytes TLS already decrypted do not show in select(): drain them first.
            pending = isinstance(client, ssl.SSLSocket) and client.pending() > 0
            ready = [client] if pending else select.select(list(peer), [], [], IDLE_TIMEOUT_S)[0]
            if not ready:
                return
            for sock in ready:
                try:
                    data = sock.recv(1 << 16)
                    if not data:
                        return
                    peer[sock].sendall(data)
                except OSError:
                    return


FrontSetting = Callable[[SSLConfig, ssl.SSLContext], ssl.SSLContext]


def serve_behind_front(
    *,
    on_refused: Callable[[Front], None] | None = None,
    plaintext_too: bool = False,
    context: FrontSetting | None = None,
) -> None:
    """Make a TLS start of the reference server serve through a Front (a plaintext start is
    unchanged). ``context(config, correct_context)`` may hand the front another context."""

    @around(ReferenceServer, "start")
    def start(
        original: Wrapper,
        self: ReferenceServer,
        address: str,
        max_msg_mb_size: int = 100,
        ssl_config: SSLConfig | None = None,
        **kwargs: Any,
    ) -> str:
        if ssl_config is None:
            return str(original(self, address, max_msg_mb_size, None, **kwargs))
        tls = server_context(ssl_config)
        if context is not None:
            tls = context(ssl_config, tls)
        inner = str(original(self, "127.0.0.1:0", max_msg_mb_size, None, **kwargs))
        assert self.port is not None
        Front(
            address,
            tls,
            ("127.0.0.1", self.port),
            on_refused=on_refused,
            plaintext_too=plaintext_too,
        )
        print(f"tls front: TLS on {address}, relayed to {inner}", file=sys.stderr, flush=True)
        return inner
