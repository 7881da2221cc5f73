"""ReferenceServer: one gRPC Predict server over a registry; several may run in one process.

The module-level API of reference_server.api (upstream's start_grpc_server / stop) drives one of
these as a singleton.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from concurrent import futures
from typing import Literal

import grpc

from protos.arguments import check_int_in_range, check_str
from reference_server.address import ListenAddress, parse_listen_address
from reference_server.behaviour import Behaviour
from reference_server.dispatch import DEFAULT_QUEUE_LIMIT, Dispatcher
from reference_server.registry import Registry
from reference_server.servicer import add_to_server
from reference_server.tls import (
    SSLConfig,
    TLSMaterial,
    TLSMaterialError,
    check_key_matches_certificate,
    read_tls_material,
)

MEGABYTE = 1 << 20
DEFAULT_MAX_MSG_MB_SIZE = 100
MAX_MSG_MB_SIZE_RANGE = (1, 512)
DEFAULT_MAX_WORKERS = 16
DEFAULT_GRACE_S = 5.0

TLSMode = Literal["plaintext", "tls", "mutual tls"]


def already_running() -> str:
    return "Serving Error: Serving gRPC server is already running"


def create_failed(address: str) -> str:
    return (
        f"Serving Error: Serving gRPC server start failed, create server failed, address {address}"
    )


class ReferenceServer:
    """A Predict server for ``registry``.

    ``queue_limit``: requests served at once before new ones get code 1 (upstream: 10000).
    ``max_workers``: threads that run requests; requests beyond them wait inside gRPC.
    ``behaviour``: the steps each call takes (reference_server.behaviour; the default is the
    reference server's own).
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        max_workers: int = DEFAULT_MAX_WORKERS,
        behaviour: Behaviour | None = None,
    ) -> None:
        self._dispatcher = Dispatcher(
            registry if registry is not None else Registry(), queue_limit, behaviour
        )
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._listen: ListenAddress | None = None
        self._address: str | None = None
        self._port: int | None = None
        self._socket_inode: int | None = None
        self._tls_mode: TLSMode = "plaintext"

    # -- what it serves ---------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return self._dispatcher.registry

    def deploy(self, registry: Registry) -> None:
        """Serve ``registry`` from now on (calls already running finish on the old one)."""
        self._dispatcher.registry = registry

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    # -- where it listens -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        """The address clients dial: ``host:PORT`` with the real port, or ``unix:/abs/path``."""
        if self._address is None:
            raise RuntimeError("the server is not running")
        return self._address

    @property
    def port(self) -> int | None:
        """The bound TCP port; None for a unix socket."""
        return self._port

    @property
    def unix_path(self) -> str | None:
        return self._listen.unix_path if self._listen is not None else None

    @property
    def tls_mode(self) -> TLSMode:
        return self._tls_mode

    # -- life cycle -------------------------------------------------------------------------

    def start(
        self,
        address: str,
        max_msg_mb_size: int = DEFAULT_MAX_MSG_MB_SIZE,
        ssl_config: SSLConfig | None = None,
        *,
        allow_port_zero: bool = True,
    ) -> str:
        """Listen on ``address``; return the address clients dial.

        RuntimeError with upstream's texts for bad arguments, a second start, an unusable
        address, a key that is not the certificate's, or a failed bind; OSError if a PEM file
        cannot be read. Port 0 (the OS picks) is allowed unless ``allow_port_zero`` is False.
        """
        check_str("address", address)
        check_int_in_range("max_msg_mb_size", max_msg_mb_size, *MAX_MSG_MB_SIZE_RANGE)
        material = None
        if ssl_config is not None:
            if not isinstance(ssl_config, SSLConfig):
                raise RuntimeError("The type of ssl_config should be type of SSLConfig")
            material = read_tls_material(ssl_config)
        with self._lock:
            if self._server is not None:
                raise RuntimeError(already_running())
            listen = parse_listen_address(address, allow_port_zero=allow_port_zero)
            credentials = _server_credentials(material, address)
            if listen.unix_path is not None:
                _remove_stale_socket(listen.unix_path)
            limit = max_msg_mb_size * MEGABYTE
            executor = futures.ThreadPoolExecutor(
                self._max_workers, thread_name_prefix="reference-server"
            )
            server = grpc.server(
                executor,
                options=[
                    ("grpc.so_reuseport", 0),
                    ("grpc.max_receive_message_length", limit),
                    ("grpc.max_send_message_length", limit),
                ],
            )
            add_to_server(server, self._dispatcher)
            try:
                if credentials is None:
                    port = server.add_insecure_port(listen.target)
                else:
                    port = server.add_secure_port(listen.target, credentials)
            except RuntimeError as exc:  # grpcio raises when nothing could be bound
                executor.shutdown(wait=False)
                raise RuntimeError(create_failed(address)) from exc
            server.start()
            self._server, self._executor, self._listen = server, executor, listen
            self._port = None if listen.unix_path is not None else port
            self._address = listen.bound(port)
            self._socket_inode = _inode(listen.unix_path) if listen.unix_path else None
            self._tls_mode = _tls_mode(material)
            return self._address

    def stop(self, grace: float | None = DEFAULT_GRACE_S) -> None:
        """Refuse new calls, let calls in flight finish within ``grace`` seconds, release the
        address (a unix socket file this server made is removed). Idempotent."""
        with self._lock:
            server, executor, listen = self._server, self._executor, self._listen
            inode = self._socket_inode
            if server is None:
                return
            done = server.stop(grace)  # returns at once; new calls are refused from here on
            self._server = self._executor = None
            self._address = self._port = self._socket_inode = None
        done.wait((grace or 0.0) + 5.0)
        if executor is not None:
            executor.shutdown(wait=False)
        # gRPC unlinks the socket file itself on shutdown; this covers versions that do not,
        # and removes only the file this server bound.
        path = listen.unix_path if listen is not None else None
        if path is not None and inode is not None and _inode(path) == inode:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until stopped or ``timeout``; True if the server has stopped."""
        server = self._server
        if server is None:
            return True
        return bool(server.wait_for_termination(timeout))

    def __enter__(self) -> ReferenceServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _server_credentials(
    material: TLSMaterial | None, address: str
) -> grpc.ServerCredentials | None:
    if material is None:
        return None
    try:
        check_key_matches_certificate(material.certificate_chain, material.private_key)
    except TLSMaterialError as exc:
        # Upstream's gRPC fails to build the server here, with this text.
        raise RuntimeError(create_failed(address)) from exc
    return grpc.ssl_server_credentials(
        [(material.private_key, material.certificate_chain)],
        root_certificates=material.client_ca,
        require_client_auth=material.mutual,
    )


def _tls_mode(material: TLSMaterial | None) -> TLSMode:
    if material is None:
        return "plaintext"
    return "mutual tls" if material.mutual else "tls"


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _remove_stale_socket(path: str) -> None:
    """A socket file left at ``path`` is replaced, as upstream's gRPC does; other files stay
    (binding then fails with the create-server text)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
