"""The server's TLS settings: upstream's ``SSLConfig`` and the PEM material it names.

No gRPC here (the server turns the material into credentials), so importing the package stays
cheap. The PEM files are read when the server starts, as upstream does; a private key that does
not belong to the certificate is caught here, before gRPC would fail at its first handshake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference_client.arguments import check_bool, check_str


class SSLConfig:
    """TLS for the gRPC server (upstream's ``mindspore_serving.server.SSLConfig``).

    ``certificate`` and ``private_key`` are PEM file paths. ``verify_client=True`` asks every
    client for a certificate and verifies it against ``custom_ca`` (then required); with
    ``verify_client=False`` no client certificate is requested and ``custom_ca`` is ignored.
    """

    def __init__(
        self,
        certificate: str,
        private_key: str,
        custom_ca: str | None = None,
        verify_client: bool = False,
    ) -> None:
        check_str("certificate", certificate)
        check_str("private_key", private_key)
        check_bool("verify_client", verify_client)
        if verify_client:
            check_str("custom_ca", custom_ca)
        self.certificate = certificate
        self.private_key = private_key
        self.custom_ca = custom_ca
        self.verify_client = verify_client

    def __repr__(self) -> str:
        return (
            f"SSLConfig(certificate={self.certificate!r}, private_key={self.private_key!r}, "
            f"custom_ca={self.custom_ca!r}, verify_client={self.verify_client!r})"
        )


class TLSMaterialError(ValueError):
    """PEM material that cannot serve: unparsable, or a key that is not the certificate's."""


@dataclass(frozen=True)
class TLSMaterial:
    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None  # trust root for client certificates; None: none requested

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None


def read_tls_material(config: SSLConfig) -> TLSMaterial:
    """Read the files ``config`` names (OSError if one cannot be read)."""
    with open(config.certificate, "rb") as file:
        certificate_chain = file.read()
    with open(config.private_key, "rb") as file:
        private_key = file.read()
    client_ca = None
    if config.verify_client:
        assert config.custom_ca is not None  # SSLConfig checked it
        with open(config.custom_ca, "rb") as file:
            client_ca = file.read()
    return TLSMaterial(certificate_chain, private_key, client_ca)


def check_tls_material(material: TLSMaterial) -> None:
    """TLSMaterialError, saying why, for material a server cannot serve with: a certificate or
    key that is not PEM, a key that is not the certificate's, a client CA file without a PEM
    certificate (gRPC would start a mutual-TLS server that refuses every client)."""
    check_key_matches_certificate(material.certificate_chain, material.private_key)
    if material.client_ca is not None:
        from cryptography import x509

        try:
            x509.load_pem_x509_certificates(material.client_ca)
        except ValueError:
            raise TLSMaterialError("the custom CA file holds no PEM certificate") from None


def check_key_matches_certificate(certificate_chain: bytes, private_key: bytes) -> None:
    """TLSMaterialError unless ``private_key`` is the key of the chain's first certificate."""
    # cryptography is imported here, not at module import: only TLS starts pay for it.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(certificate_chain)
    except ValueError as exc:
        raise TLSMaterialError(f"the certificate is not a PEM X.509 certificate: {exc}") from exc
    try:
        key: Any = serialization.load_pem_private_key(private_key, password=None)
    except (ValueError, TypeError) as exc:
        raise TLSMaterialError(f"the private key is not an unencrypted PEM key: {exc}") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise TLSMaterialError("the private key does not belong to the certificate")


__all__ = [
    "SSLConfig",
    "TLSMaterial",
    "TLSMaterialError",
    "check_key_matches_certificate",
    "check_tls_material",
    "read_tls_material",
]
