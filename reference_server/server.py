"""ReferenceServer: one gRPC Predict server over a registry; several may run in one process.

The module-level API of reference_server.api (upstream's start_grpc_server / stop) drives one of
these as a singleton.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
import threading
import time
from concurrent import futures
from typing import Any, Literal

import grpc

from reference_client.arguments import check_int_in_range, check_str
from reference_server.address import ListenAddress, parse_listen_address
from reference_server.behaviour import Behaviour
from reference_server.dispatch import DEFAULT_QUEUE_LIMIT, Dispatcher
from reference_server.registry import Registry
from reference_server.servicer import SERVICE_NAME, CallActivity, ReceiveWatchdog, add_to_server
from reference_server.tls import (
    SSLConfig,
    TLSMaterial,
    TLSMaterialError,
    check_tls_material,
    read_tls_material,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_MSG_MB_SIZE = 100
MAX_MSG_MB_SIZE_RANGE = (1, 512)
DEFAULT_MAX_WORKERS = 16
DEFAULT_MAX_CALLS = 256
DEFAULT_RECEIVE_TIMEOUT_S = 30.0
DEFAULT_GRACE_S = 5.0
# Stopping waits until no Predict call is in a handler and none started for this long: a call
# whose headers gRPC has not yet handed over shows up within it.
QUIET_SETTLE_S = 0.2
# The same, when calls were running as stop() began: traffic in progress means more may be in
# transit, and on a busy machine a message sent as the signal went can take longer to arrive.
BUSY_SETTLE_S = 1.0
# Past the grace, stop() waits this much longer for gRPC to finish cancelling; handlers that
# still compute are abandoned (ReferenceServer.active_calls).
STOP_SLACK_S = 0.25

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
    ``max_workers``: requests computed at once; requests beyond them wait for a worker.
    ``max_calls``: calls held at once, waiting for their request or a worker or computing;
    beyond them a call gets RESOURCE_EXHAUSTED at once.
    ``receive_timeout``: seconds a call may take from its headers to its whole request; a call
    still short of it is cancelled (clients that stall mid-call cannot hold the server).
    ``health``, ``reflection``: serve grpc.health.v1 and server reflection (upstream serves
    neither).
    ``behaviour``: the steps each call takes (reference_server.behaviour; the default is the
    reference server's own).
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_calls: int = DEFAULT_MAX_CALLS,
        receive_timeout: float = DEFAULT_RECEIVE_TIMEOUT_S,
        health: bool = True,
        reflection: bool = True,
        behaviour: Behaviour | None = None,
    ) -> None:
        if max_workers < 1 or max_calls < max_workers:
            raise ValueError("need 1 <= max_workers <= max_calls")
        if not 0 < receive_timeout < float("inf"):
            raise ValueError("receive_timeout must be a finite number of seconds > 0")
        self._dispatcher = Dispatcher(
            registry if registry is not None else Registry(), queue_limit, behaviour
        )
        self._max_workers = max_workers
        self._max_calls = max_calls
        self._serve_health = health
        self._serve_reflection = reflection
        self._health: Any = None  # grpc_health's HealthServicer while running with health
        self._activity = CallActivity()
        self._watchdog = ReceiveWatchdog(receive_timeout)
        self._lock = threading.Lock()
        self._stopping = False
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
        self._set_health()

    def _set_health(self) -> None:
        """SERVING once servables are deployed; NOT_SERVING before, and from stop() on (then
        the health servicer ignores this)."""
        health = self._health
        if health is None:
            return
        from grpc_health.v1 import health_pb2

        status = (
            health_pb2.HealthCheckResponse.SERVING
            if self.registry.names()
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            health.set(service, status)

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

    @property
    def active_calls(self) -> int:
        """Predict calls in a handler now, waiting for their request or a worker, or computing
        (after stop(): the calls the grace did not cover, abandoned)."""
        return self._activity.active

    @property
    def receive_timeouts(self) -> int:
        """Calls cancelled because their request did not arrive within ``receive_timeout``."""
        return self._watchdog.cancelled

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
        address, TLS material that cannot serve, a unix socket a live server listens on, or a
        failed bind (the reason, where known, is the exception's ``__cause__``); OSError if a
        PEM file cannot be read. Port 0 (the OS picks) is allowed unless ``allow_port_zero``
        is False.
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
                _remove_stale_socket(listen.unix_path, address)
            receive_limit, send_limit = self._dispatcher.behaviour.message_limits(max_msg_mb_size)
            # Threads are made on demand: most calls hold one only while waiting for their
            # request, and only max_workers compute at once.
            executor = futures.ThreadPoolExecutor(
                self._max_calls, thread_name_prefix="reference-server"
            )
            server = grpc.server(
                executor,
                options=[
                    ("grpc.so_reuseport", 0),
                    ("grpc.max_receive_message_length", receive_limit),
                    ("grpc.max_send_message_length", send_limit),
                ],
                maximum_concurrent_rpcs=self._max_calls,
            )
            self._activity = CallActivity()  # a fresh count per start
            add_to_server(
                server,
                self._dispatcher,
                max_workers=self._max_workers,
                activity=self._activity,
                watchdog=self._watchdog,
            )
            health = _add_health(server) if self._serve_health else None
            if self._serve_reflection:
                _add_reflection(server, health is not None)
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
            self._health = health
            self._set_health()
            self._port = None if listen.unix_path is not None else port
            self._address = listen.bound(port)
            self._socket_inode = _inode(listen.unix_path) if listen.unix_path else None
            self._tls_mode = _tls_mode(material)
            log.info("serving on %s (%s)", self._address, self._tls_mode)
            return self._address

    def stop(self, grace: float | None = DEFAULT_GRACE_S) -> None:
        """Stop within ``grace`` seconds (plus STOP_SLACK_S), in three steps:

        1. health turns NOT_SERVING; calls are still admitted until the server is quiet (no
           call running, none started for QUIET_SETTLE_S, or BUSY_SETTLE_S if calls were
           running as stop() began) or half the grace is over: a call
           whose headers arrived before stop() may reach the handler only now, and grpcio's
           ``stop(grace)`` would cancel it;
        2. ``running`` turns False and new Predict calls are refused (UNAVAILABLE); the calls
           admitted run until none is left or the grace is over;
        3. gRPC stops: what still runs is cancelled (handlers still computing are abandoned,
           see ``active_calls``), the address is released (a unix socket file this server
           made is removed).

        ``grace=None`` cancels everything at once. Idempotent; returns at once when another
        thread is already stopping this server.
        """
        with self._lock:
            server, activity = self._server, self._activity
            if server is None or self._stopping:
                return
            self._stopping = True
            health = self._health
        if health is not None:
            health.enter_graceful_shutdown()
        begin = time.monotonic()
        deadline = begin + (grace or 0.0)
        if grace is not None:
            settle = BUSY_SETTLE_S if activity.active else QUIET_SETTLE_S
            activity.wait_quiet(begin + grace / 2, settle)
        activity.close()
        with self._lock:
            executor, listen, inode = self._executor, self._listen, self._socket_inode
            self._server = self._executor = self._health = None
            self._address = self._port = self._socket_inode = None
            self._stopping = False
        if grace is not None and not activity.wait_quiet(deadline, QUIET_SETTLE_S):
            log.warning("calls still running at the end of the %.3g s grace: cancelled", grace)
        remaining = None if grace is None else max(0.0, deadline - time.monotonic())
        done = server.stop(remaining)
        done.wait((remaining or 0.0) + STOP_SLACK_S)
        if executor is not None:
            executor.shutdown(wait=False)
        log.info(
            "stopped after %.2f s; %d calls abandoned", time.monotonic() - begin, activity.active
        )
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


def _add_health(server: grpc.Server) -> Any:
    from grpc_health.v1 import health, health_pb2_grpc

    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


def _add_reflection(server: grpc.Server, with_health: bool) -> None:
    from grpc_reflection.v1alpha import reflection

    names = [SERVICE_NAME, reflection.SERVICE_NAME]
    if with_health:
        from grpc_health.v1 import health

        names.append(health.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)


def _server_credentials(
    material: TLSMaterial | None, address: str
) -> grpc.ServerCredentials | None:
    if material is None:
        return None
    try:
        check_tls_material(material)
    except TLSMaterialError as exc:
        # Upstream's gRPC fails to build the server here, with this text; the reason is the
        # cause (the CLI prints it).
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


def _remove_stale_socket(path: str, address: str) -> None:
    """A socket file left at ``path`` by a server that is gone is replaced; one a live server
    listens on is refused (RuntimeError, caused by EADDRINUSE), as TCP refuses a port in use
    (gRPC itself would unlink it and take the address over). Other files stay (binding then
    fails with the create-server text)."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    live = False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # nobody listens: stale
        except TimeoutError:
            live = True  # a listener whose backlog is full
        except OSError:
            return  # cannot tell (permissions): leave it to the bind
        else:
            live = True
        if live:
            reason = OSError(errno.EADDRINUSE, f"a live server listens on {path}")
            raise RuntimeError(create_failed(address)) from reason
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = [
    "BUSY_SETTLE_S",
    "DEFAULT_GRACE_S",
    "DEFAULT_MAX_CALLS",
    "DEFAULT_MAX_MSG_MB_SIZE",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_RECEIVE_TIMEOUT_S",
    "MAX_MSG_MB_SIZE_RANGE",
    "QUIET_SETTLE_S",
    "STOP_SLACK_S",
    "ReferenceServer",
    "TLSMode",
    "already_running",
    "create_failed",
    "log",
]
