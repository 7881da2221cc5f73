"""Mutants of the transport profiles: uds, tls, mtls, limits."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import ssl
import tempfile
from typing import TYPE_CHECKING, Any

import grpc

from mutants.catalogue import mutant
from mutants.core_echo import byte_swap
from mutants.seams import Wrapper, abort_errors, around, on_echo_outputs, step
from mutants.tls_front import Front, serve_behind_front, server_context
from protos import ms_service_pb2 as pb
from reference_server.behaviour import Behaviour
from reference_server.server import ReferenceServer
from reference_server.tls import SSLConfig

if TYPE_CHECKING:
    from cryptography import x509

Args = argparse.Namespace
MIB = 1 << 20
TLS_REFUSALS = (
    "TLS-REFUSE-UNTRUSTED-CA",
    "TLS-REFUSE-EXPIRED-SERVER-CERT",
    "TLS-REFUSE-PLAINTEXT-CLIENT",
)
MTLS_REFUSALS = (
    "MTLS-REFUSE-NO-CLIENT-CERT",
    "MTLS-REFUSE-FOREIGN-CLIENT-CERT",
    "MTLS-REFUSE-EXPIRED-CLIENT-CERT",
)


def _unix(args: Args) -> bool:
    return str(args.address).startswith("unix:")


def _start_with(edit: Any) -> None:
    """ReferenceServer.start gets ``edit(max_msg_mb_size, ssl_config)`` instead of them."""

    @around(ReferenceServer, "start")
    def start(
        original: Wrapper,
        self: ReferenceServer,
        address: str,
        max_msg_mb_size: int = 100,
        ssl_config: SSLConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        return original(self, address, *edit(max_msg_mb_size, ssl_config), **kwargs)


# -- uds ------------------------------------------------------------------------------------


@mutant(
    "uds-stale-socket-refused",
    "a socket file left at the unix:PATH address stops the server from starting",
    trips=("UDS-STALE-SOCKET",),
    profiles=("uds",),
)
def uds_stale_socket_refused(args: Args, behaviour: Behaviour) -> None:
    @around(ReferenceServer, "start")
    def start(original: Wrapper, self: ReferenceServer, address: str, *rest: Any, **kw: Any) -> Any:
        if address.startswith("unix:") and os.path.exists(address[len("unix:") :]):
            raise RuntimeError(f"address already in use: {address}")
        return original(self, address, *rest, **kw)


@mutant(
    "uds-byte-order",
    "over a unix socket only, echo answers numeric tensors byte-swapped",
    trips=("UDS-ECHO-ROUNDTRIP",),
    profiles=("uds",),
)
def uds_byte_order(args: Args, behaviour: Behaviour) -> None:
    if _unix(args):
        on_echo_outputs(behaviour, byte_swap)


@mutant(
    "uds-instance-errors-as-status",
    "over a unix socket only, a reply with per-instance errors is replaced by gRPC INTERNAL",
    trips=("UDS-ERRORS",),
    profiles=("uds",),
)
def uds_instance_errors_as_status(args: Args, behaviour: Behaviour) -> None:
    if _unix(args):
        abort_errors(behaviour, grpc.StatusCode.INTERNAL, request_level=False)


# -- tls and mtls ---------------------------------------------------------------------------


@mutant(
    "tls-ignored",
    "the TLS options are ignored: the server listens in plaintext",
    trips=("TLS-ACCEPT-TRUSTED-CA", "TLS-REFUSE-PLAINTEXT-CLIENT"),
    profiles=("tls",),
    waits=True,
)
def tls_ignored(args: Args, behaviour: Behaviour) -> None:
    _start_with(lambda size, config: (size, None))


@mutant(
    "tls-echo-altered",
    "over TLS only, echo upper-cases MS_STRING values",
    trips=("TLS-ACCEPT-TRUSTED-CA", "MTLS-ACCEPT-TRUSTED-CLIENT"),
    profiles=("tls", "mtls"),
)
def tls_echo_altered(args: Args, behaviour: Behaviour) -> None:
    def edit(y: pb.Tensor) -> None:
        if y.dtype == pb.MS_STRING:
            y.bytes_val[0] = bytes(y.bytes_val[0]).upper()

    if args.certificate:
        on_echo_outputs(behaviour, edit)


@mutant(
    "tls-stops-after-refusal",
    "after refusing one TLS handshake (once it has served) the server stops listening",
    # Not TLS-REFUSE-WRONG-HOST: gRPC clients check the host name after a handshake that
    # succeeded, so the server sees no refusal there.
    trips=TLS_REFUSALS + MTLS_REFUSALS,
    profiles=("tls", "mtls"),
    waits=True,
)
def tls_stops_after_refusal(args: Args, behaviour: Behaviour) -> None:
    serve_behind_front(on_refused=Front.close)


@mutant(
    "tls-plaintext-too",
    "the TLS server also serves plaintext clients on the same port",
    trips=("TLS-REFUSE-PLAINTEXT-CLIENT",),
    profiles=("tls",),
)
def tls_plaintext_too(args: Args, behaviour: Behaviour) -> None:
    serve_behind_front(plaintext_too=True)


def _names(certificate: x509.Certificate) -> set[str]:
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    addresses = san.get_values_for_type(x509.IPAddress)
    return set(san.get_values_for_type(x509.DNSName)) | {str(a) for a in addresses}


def _valid_pair_beside(certificate: str, host: str) -> tuple[str, str] | None:
    """Another (certificate, key) PEM pair in ``certificate``'s folder from the same issuer,
    valid now and naming ``host``: what a server that mixes up its certificate files would find
    (a pair from another CA in the folder, such as the client profiles', is not its own)."""
    # cryptography is imported here: every other mutant's server start would pay for it.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    folder = os.path.dirname(os.path.abspath(certificate))
    with open(certificate, "rb") as file:
        issuer = x509.load_pem_x509_certificate(file.read()).issuer
    certificates: dict[str, x509.Certificate] = {}
    keys: dict[str, Any] = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "rb") as file:
            data = file.read()
        try:
            certificates[path] = x509.load_pem_x509_certificate(data)
        except ValueError:
            with contextlib.suppress(ValueError, TypeError):  # neither: not ours to use
                keys[path] = serialization.load_pem_private_key(data, password=None)
    now = dt.datetime.now(dt.UTC)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    for path, found in certificates.items():
        if (
            found.issuer != issuer
            or host not in _names(found)
            or not found.not_valid_before_utc <= now <= found.not_valid_after_utc
        ):
            continue
        public = found.public_key().public_bytes(*spki)
        for key_path, key in keys.items():
            if key.public_key().public_bytes(*spki) == public:
                return path, key_path
    return None


def _prefer_another_certificate(config: SSLConfig, configured: ssl.SSLContext) -> ssl.SSLContext:
    pair = _valid_pair_beside(config.certificate, "127.0.0.1")
    if pair is None:
        return configured
    with open(config.certificate, "rb") as file:
        own_names = _names(x509.load_pem_x509_certificate(file.read()))
    other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.set_alpn_protocols(["h2"])
    other.load_cert_chain(*pair)

    def choose(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        if server_name in own_names:  # a client that names the host gets the configured one
            connection.context = configured

    other.sni_callback = choose
    return other


@mutant(
    "tls-other-certificate",
    "a client sending no SNI (it dialled an IP) is shown another valid certificate of the "
    "server's folder instead of the configured one",
    trips=("TLS-REFUSE-WRONG-HOST", "TLS-REFUSE-EXPIRED-SERVER-CERT"),
    profiles=("tls",),
)
def tls_other_certificate(args: Args, behaviour: Behaviour) -> None:
    serve_behind_front(context=_prefer_another_certificate)


PEM_END = b"-----END CERTIFICATE-----"


def _first_block_only(config: SSLConfig, configured: ssl.SSLContext) -> ssl.SSLContext:
    """The server's context, loaded from the first PEM block of its certificate file alone
    (a loader that stops after one certificate: the leaf, without its intermediate)."""
    with open(config.certificate, "rb") as file:
        leaf = file.read().split(PEM_END)[0] + PEM_END + b"\n"
    # Beside the certificate: the harness's TLS folder, removed with it.
    folder = os.path.dirname(os.path.abspath(config.certificate))
    handle, path = tempfile.mkstemp(suffix=".leaf", dir=folder)
    with os.fdopen(handle, "wb") as file:
        file.write(leaf)
    return server_context(
        SSLConfig(path, config.private_key, config.custom_ca, config.verify_client)
    )


@mutant(
    "tls-intermediate-dropped",
    "the server presents only the first PEM block of its certificate file: the leaf without "
    "the intermediate CA certificate that follows it",
    trips=("TLS-ACCEPT-TRUSTED-CA", "MTLS-ACCEPT-TRUSTED-CLIENT"),
    profiles=("tls", "mtls"),
    says=("does it present the intermediate CA certificate",),
)
def tls_intermediate_dropped(args: Args, behaviour: Behaviour) -> None:
    serve_behind_front(context=_first_block_only)


@mutant(
    "mtls-verify-client-ignored",
    "verify_client is ignored: no client certificate is asked for",
    trips=MTLS_REFUSALS,
    profiles=("mtls",),
)
def mtls_verify_client_ignored(args: Args, behaviour: Behaviour) -> None:
    def edit(size: int, config: SSLConfig | None) -> tuple[int, SSLConfig | None]:
        if config is not None:
            config = SSLConfig(config.certificate, config.private_key)
        return size, config

    _start_with(edit)


# -- limits ---------------------------------------------------------------------------------


@mutant(
    "limits-ignored",
    "max_msg_mb_size is ignored: requests and replies up to 512 MiB pass",
    trips=("LIMITS-REQUEST-OVER-LIMIT", "LIMITS-REPLY-OVER-LIMIT"),
    profiles=("limits",),
)
def limits_ignored(args: Args, behaviour: Behaviour) -> None:
    _start_with(lambda size, config: (512, config))


@mutant(
    "limits-reply-unchecked",
    "the size limit is applied to requests only: replies of any size are sent",
    trips=("LIMITS-REPLY-OVER-LIMIT",),
    profiles=("limits",),
)
def limits_reply_unchecked(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "message_limits")
    def message_limits(original: Wrapper, max_msg_mb_size: int) -> tuple[int, int]:
        receive, _ = original(max_msg_mb_size)
        return receive, 512 * MIB


@mutant(
    "limits-decimal-megabytes",
    "max_msg_mb_size counts megabytes of 10^6 bytes instead of MiB",
    trips=("LIMITS-UNDER-LIMIT-OK",),
    profiles=("limits",),
)
def limits_decimal_megabytes(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "message_limits")
    def message_limits(original: Wrapper, max_msg_mb_size: int) -> tuple[int, int]:
        return max_msg_mb_size * 1_000_000, max_msg_mb_size * 1_000_000
