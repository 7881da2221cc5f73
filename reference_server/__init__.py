"""reference_server: the reference MindSpore Serving r1.6 gRPC Predict server.

Upstream's API (``mindspore_serving.server``)::

    from reference_server import SSLConfig, start_servables, start_grpc_server, stop

    start_servables()                       # the conformance kit's servables
    start_grpc_server("127.0.0.1:5500")     # or "unix:/tmp/s.sock", ssl_config=SSLConfig(...)
    ...
    stop()

Several independent servers in one process (tests, tools)::

    from reference_server import ReferenceServer, kit_registry

    with ReferenceServer(kit_registry()) as server:
        server.start("127.0.0.1:0")         # port 0: the OS picks; server.address has it
        ...

Importing this package does not import gRPC; ReferenceServer and kit_registry load it on use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reference_server.api import start_grpc_server, start_servables, stop
from reference_server.registry import InstanceError, Method, Registry, Servable
from reference_server.tls import SSLConfig

if TYPE_CHECKING:
    from reference_server.servables import kit_registry
    from reference_server.server import ReferenceServer

__all__ = [
    "InstanceError",
    "Method",
    "ReferenceServer",
    "Registry",
    "SSLConfig",
    "Servable",
    "kit_registry",
    "start_grpc_server",
    "start_servables",
    "stop",
]


def __getattr__(name: str) -> Any:
    if name == "ReferenceServer":
        from reference_server.server import ReferenceServer

        return ReferenceServer
    if name == "kit_registry":
        from reference_server.servables import kit_registry

        return kit_registry
    raise AttributeError(f"module 'reference_server' has no attribute {name!r}")
