"""How the harness reaches a server under test: an address plus TLS settings, as plain data.

An Endpoint is a value (it travels from the xdist controller to its workers as a dict). The
harness opens its own gRPC channels here rather than through the reference client, so that a
client bug cannot hide a server bug.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import grpc

from conformance.drive._tls import read

# Like upstream's client: 512 MB both ways, so that the server's own limit is what a large
# message meets first.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
# To a server with a declared limit (profile limits): no limit of the harness's own, so that a
# RESOURCE_EXHAUSTED can only come from the server, whatever its limit (up to 512 MB) is.
UNLIMITED = -1

_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Loopback only: never route the harness's traffic through an environment proxy.
    ("grpc.enable_http_proxy", 0),
    # Reconnect quickly while a launched server is still starting.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


@dataclass(frozen=True)
class Endpoint:
    """One way to reach a server: address, TLS material (PEM paths), declared message limit."""

    name: str
    address: str  # host:port or unix:PATH
    root_ca: str | None = None  # trust root for the server certificate; None = plaintext
    client_cert: str | None = None
    client_key: str | None = None
    target_name: str | None = None  # overrides the host name checked against the certificate
    max_msg_mb_size: int | None = None  # the server's declared limit, where known

    @property
    def is_tls(self) -> bool:
        return self.root_ca is not None

    @property
    def is_unix(self) -> bool:
        return self.address.startswith("unix:")

    def but(self, **changes: Any) -> Endpoint:
        """The same endpoint with some settings changed (e.g. another CA, no client cert)."""
        return dataclasses.replace(self, **changes)

    def plaintext(self) -> Endpoint:
        return self.but(root_ca=None, client_cert=None, client_key=None, target_name=None)

    def channel_options(self, *, isolated: bool = False) -> list[tuple[str, Any]]:
        """The gRPC channel arguments of a channel to this endpoint (each key once)."""
        options = dict(_CHANNEL_OPTIONS)
        if self.max_msg_mb_size is not None:
            options["grpc.max_send_message_length"] = UNLIMITED
            options["grpc.max_receive_message_length"] = UNLIMITED
        if isolated:
            options["grpc.use_local_subchannel_pool"] = 1
        if self.target_name is not None:
            options["grpc.ssl_target_name_override"] = self.target_name
        return list(options.items())

    def open_channel(self, *, isolated: bool = False) -> grpc.Channel:
        """A new channel. ``isolated``: its own connection, shared with no other channel (a
        refused handshake must not be answered from another channel's healthy connection)."""
        options = self.channel_options(isolated=isolated)
        if self.root_ca is None:
            return grpc.insecure_channel(self.address, options=options)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(self.root_ca),
            private_key=read(self.client_key),
            certificate_chain=read(self.client_cert),
        )
        return grpc.secure_channel(self.address, credentials, options=options)

    def describe(self) -> str:
        parts = [self.address]
        if self.is_tls:
            parts.append("mutual TLS" if self.client_cert else "TLS")
        if self.target_name:
            parts.append(f"as {self.target_name}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        return cls(**data)


__all__ = [
    "MAX_MESSAGE_BYTES",
    "UNLIMITED",
    "Endpoint",
]
