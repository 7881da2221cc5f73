"""Upstream's module-level server API, over one process-wide ReferenceServer.

    start_servables(...)            deploy servables (the kit's by default)
    start_grpc_server(address, max_msg_mb_size=100, ssl_config=None)
    stop()                          stop the server and drop the servables

gRPC is imported on the first start, not when ``reference_server`` is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from reference_server.backend import Device, select_backend
from reference_server.registry import Registry, Servable
from reference_server.tls import SSLConfig

if TYPE_CHECKING:
    from reference_server.server import ReferenceServer

_lock = threading.Lock()
_server: ReferenceServer | None = None
_registry: Registry | None = None


def start_servables(
    servables: Registry | Iterable[Servable] | None = None,
    *,
    device: Device = "auto",
    resnet_weights: str | Path | None = None,
) -> Registry:
    """Deploy ``servables`` (default: the conformance kit's) and return the registry served.

    ``device`` picks where the kit computes (numpy for "cpu", CuPy for "gpu", the GPU if one
    works for "auto"); it is ignored when a ready Registry is given. Works before or after
    start_grpc_server; a running server switches to the new servables at once.
    """
    global _registry
    if isinstance(servables, Registry):
        registry = servables
    elif servables is None:
        from reference_server.servables import kit_registry

        weights = Path(resnet_weights) if resnet_weights is not None else None
        registry = kit_registry(select_backend(device), resnet_weights=weights)
    else:
        registry = Registry(list(servables), backend=select_backend(device))
    with _lock:
        _registry = registry
        if _server is not None:
            _server.deploy(registry)
    return registry


def start_grpc_server(
    address: str,
    max_msg_mb_size: int = 100,
    ssl_config: SSLConfig | None = None,
    *,
    health: bool = True,
    reflection: bool = True,
) -> None:
    """Start the process's gRPC server (upstream's checks and RuntimeError texts; port 0 is
    refused as upstream does: use ReferenceServer for an OS-chosen port). ``health`` and
    ``reflection`` (this project's, upstream serves neither): serve grpc.health.v1 and server
    reflection beside Predict."""
    global _server
    from reference_server.server import ReferenceServer

    with _lock:
        # A running server checks the arguments, then refuses with "already running".
        server = (
            _server
            if _server is not None
            else ReferenceServer(_registry, health=health, reflection=reflection)
        )
        server.start(address, max_msg_mb_size, ssl_config, allow_port_zero=False)
        _server = server


def stop() -> None:
    """Stop the server (in-flight calls get a grace period) and drop the servables."""
    global _server, _registry
    with _lock:
        server, _server, _registry = _server, None, None
    if server is not None:
        server.stop()


def running_server() -> ReferenceServer | None:
    """The server start_grpc_server started, if it is running (for tests and tools)."""
    return _server


__all__ = ["running_server", "start_grpc_server", "start_servables", "stop"]
