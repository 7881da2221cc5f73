"""The gRPC channel to a MindSpore Serving server: addresses, message limits, TLS.

``open_channel`` is public, for callers that want to reach a server exactly as the reference
client does. The conformance harness's raw checks deliberately do not use it: they go through
channels conformance.drive builds itself, so that a bug here cannot hide a server's bug.
Only the harness's ``CLIENT-*`` checks, which certify the client and the server together, reach
the server through this module (by way of the Client).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from reference_client.arguments import require_int, require_str
from reference_client.errors import InvalidInputError

# Upstream's client sets 512 MB in both directions; the server's own limit (1..512 MB,
# default 100) is what a large request meets first.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
_GRPC_INT_MAX = 2**31 - 1  # gRPC channel arguments are C ints


class SSLConfig:
    """TLS settings for a client, as upstream's ``mindspore_serving.client.SSLConfig``.

    All three are paths of PEM files. ``certificate`` and ``private_key`` (the client's own chain
    and key, for mutual TLS) come together or not at all; as upstream, that is checked when a
    Client (or open_channel) reads the files, not here. ``custom_ca`` is the trust root for the
    server's certificate; None means gRPC's default roots. There is no target-name override: the
    server's certificate must name the host in the address. For a ``unix:`` address gRPC
    verifies the percent-encoded socket path, so TLS over a unix socket needs open_channel's
    ``options=[("grpc.ssl_target_name_override", NAME)]``, which upstream's client lacks.
    """

    def __init__(
        self,
        certificate: str | None = None,
        private_key: str | None = None,
        custom_ca: str | None = None,
    ) -> None:
        for name, value in (
            ("certificate", certificate),
            ("private_key", private_key),
            ("custom_ca", custom_ca),
        ):
            if value is not None:
                require_str(name, value)
        self.certificate = certificate
        self.private_key = private_key
        self.custom_ca = custom_ca

    def __repr__(self) -> str:
        return (
            f"SSLConfig(certificate={self.certificate!r}, private_key={self.private_key!r}, "
            f"custom_ca={self.custom_ca!r})"
        )


def _read_pem(role: str, path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        # open()'s own error, as upstream raises it (a program may catch FileNotFoundError);
        # the note names the role in tracebacks only.
        exc.add_note(f"reading ssl_config {role} file '{path}'")
        raise


def channel_credentials(ssl_config: SSLConfig) -> grpc.ChannelCredentials:
    """gRPC credentials from an SSLConfig; the PEM files are read now.

    In upstream's order: the type, then the files (certificate, private_key, custom_ca; OSError
    if one cannot be read), then the certificate/private_key pairing.
    """
    if not isinstance(ssl_config, SSLConfig):
        raise InvalidInputError("The type of ssl_config should be type of SSLConfig")
    certificate = _read_pem("certificate", ssl_config.certificate)
    private_key = _read_pem("private_key", ssl_config.private_key)
    custom_ca = _read_pem("custom_ca", ssl_config.custom_ca)
    if (certificate is None) != (private_key is None):
        raise InvalidInputError("The certificate and private_key should be passed at the same time")
    return grpc.ssl_channel_credentials(
        root_certificates=custom_ca, private_key=private_key, certificate_chain=certificate
    )


def open_channel(
    address: str,
    ssl_config: SSLConfig | None = None,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    """A channel to ``address`` (``host:port``, ``[v6]:port`` or ``unix:PATH``).

    Plaintext when ``ssl_config`` is None, else TLS (mutual when it carries a certificate).
    ``max_message_bytes`` caps sent and received messages (upstream: 512 MB both ways).
    ``options`` are extra gRPC channel arguments, appended after the limits. Connecting is lazy:
    a dead or refusing server shows up as UNAVAILABLE on the first call. Close the channel when
    done (``channel.close()``).
    """
    require_str("address", address)
    require_int("max_message_bytes", max_message_bytes, minimum=1, maximum=_GRPC_INT_MAX)
    channel_options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        *options,
    ]
    if ssl_config is None:
        return grpc.insecure_channel(address, options=channel_options)
    return grpc.secure_channel(address, channel_credentials(ssl_config), options=channel_options)


__all__ = ["MAX_MESSAGE_BYTES", "SSLConfig", "channel_credentials", "open_channel"]
