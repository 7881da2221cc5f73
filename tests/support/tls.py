"""TLS material for tests: trustme CAs and certificates made in memory, written as PEM files.

``TrustmeFiles`` holds two independent CAs: ``ca`` (trusted: it issues the server certificate for
``localhost`` and ``127.0.0.1`` and a client certificate) and ``other`` (untrusted: its own
client certificate). Client certificates carry a real name (trustme gives a certificate issued
with only a common name an empty, critical SAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import grpc
import trustme

from reference_server import SSLConfig

SERVER_NAMES = ("localhost", "127.0.0.1")
CLIENT_NAME = "client.example"

Trust = Literal["ca", "other", "system"]
ClientCert = Literal["none", "ca", "other"]


@dataclass(frozen=True)
class PemPair:
    certificate: Path  # the chain
    private_key: Path

    def read(self) -> tuple[bytes, bytes]:
        return self.certificate.read_bytes(), self.private_key.read_bytes()


@dataclass(frozen=True)
class TrustmeFiles:
    ca: Path  # trusted CA certificate
    other_ca: Path  # an unrelated CA certificate
    server: PemPair  # from ca, for SERVER_NAMES
    client: PemPair  # from ca, for CLIENT_NAME
    other_client: PemPair  # from other_ca, for CLIENT_NAME

    def server_ssl_config(self, verify_client: bool = False) -> SSLConfig:
        return SSLConfig(
            str(self.server.certificate),
            str(self.server.private_key),
            str(self.ca) if verify_client else None,
            verify_client,
        )

    def channel_credentials(
        self, trust: Trust = "ca", client: ClientCert = "none"
    ) -> grpc.ChannelCredentials:
        """Credentials trusting ``trust`` and presenting ``client``'s certificate (if any)."""
        roots = {"ca": self.ca, "other": self.other_ca, "system": None}[trust]
        pair = {"none": None, "ca": self.client, "other": self.other_client}[client]
        key = chain = None
        if pair is not None:
            chain, key = pair.read()
        return grpc.ssl_channel_credentials(
            root_certificates=roots.read_bytes() if roots is not None else None,
            private_key=key,
            certificate_chain=chain,
        )


def _write_pair(leaf: trustme.LeafCert, directory: Path, stem: str) -> PemPair:
    certificate = directory / f"{stem}.pem"
    key = directory / f"{stem}.key"
    leaf.private_key_pem.write_to_path(str(key))
    certificate.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return PemPair(certificate, key)


def make_tls_files(directory: Path) -> TrustmeFiles:
    """Two CAs and three leaf certificates as PEM files in ``directory``."""
    ca, other = trustme.CA(), trustme.CA()
    ca_path, other_path = directory / "ca.pem", directory / "other-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    other.cert_pem.write_to_path(str(other_path))
    return TrustmeFiles(
        ca=ca_path,
        other_ca=other_path,
        server=_write_pair(ca.issue_cert(*SERVER_NAMES), directory, "server"),
        client=_write_pair(ca.issue_cert(CLIENT_NAME), directory, "client"),
        other_client=_write_pair(other.issue_cert(CLIENT_NAME), directory, "other-client"),
    )
