"""A drop-in for ``mindspore_serving.client`` (MindSpore Serving r1.6)::

    from reference_client import Client        # was: from mindspore_serving.client import Client

    with Client("127.0.0.1:5500", "add", "add_common") as client:
        print(client.infer([{"x1": x1, "x2": x2}]))

Modules: ``values`` (the pure value <-> Tensor codec and reply parsing), ``transport``
(``open_channel`` and ``SSLConfig``), ``client`` (the thin Client), ``errors`` (the exception
tree), ``arguments`` (upstream's argument texts), ``arrays`` (the host/device seam), ``testee``
and ``forms`` (the client testee protocol), ``extras`` (what the other parts need beyond this
base install). The reference server and the harness may import this package; it imports only
protos (tests/test_conformance_structure.py states the directions).

Importing this package imports nothing else: the names below load their module on first use, so
that the server and the harness importing ``reference_client.arguments`` (say) pay for no more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference_client.arrays import GPUUnavailableError
    from reference_client.client import (
        DEFAULT_TIMEOUT_S,
        AsyncResult,
        Client,
        ClientGrpcAsyncResult,
    )
    from reference_client.errors import (
        ClientClosedError,
        ClientError,
        InvalidInputError,
        InvalidKeyError,
        InvalidTextError,
        MalformedReplyError,
        VersionRangeError,
    )
    from reference_client.transport import MAX_MESSAGE_BYTES, SSLConfig, open_channel

# name -> the module that defines it
_HOMES = {
    "GPUUnavailableError": "arrays",
    "DEFAULT_TIMEOUT_S": "client",
    "AsyncResult": "client",
    "Client": "client",
    "ClientGrpcAsyncResult": "client",
    "ClientClosedError": "errors",
    "ClientError": "errors",
    "InvalidInputError": "errors",
    "InvalidKeyError": "errors",
    "InvalidTextError": "errors",
    "MalformedReplyError": "errors",
    "VersionRangeError": "errors",
    "MAX_MESSAGE_BYTES": "transport",
    "SSLConfig": "transport",
    "open_channel": "transport",
}
__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_MESSAGE_BYTES",
    "AsyncResult",
    "Client",
    "ClientClosedError",
    "ClientError",
    "ClientGrpcAsyncResult",
    "GPUUnavailableError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidTextError",
    "MalformedReplyError",
    "SSLConfig",
    "VersionRangeError",
    "open_channel",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'reference_client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reference_client.{home}"), name)
