"""TLS material made fresh for each run with trustme: never checked in, never reused.

One trusted root CA issues the client certificates and an intermediate CA; the intermediate
issues every server certificate, the bad ones that must still chain to the root included
(expired, wrong host). Real deployments serve such chains, so a server's certificate file holds
its leaf and then the intermediate (the server must present both), and a client trusts the root
alone (it must build the chain). A second, untrusted CA stands for "someone else". Everything
is written as PEM files into one private temporary folder, because a server under test takes
file paths on its command line.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass

import trustme

SERVER_NAMES = ("localhost", "127.0.0.1")
WRONG_HOST = "wrong-host.invalid"
# A client certificate needs a real name: trustme gives a common-name-only certificate an empty,
# critical SAN that TLS stacks reject.
CLIENT_NAME = "client.conformance.invalid"


@dataclass(frozen=True)
class TLSFiles:
    """Paths of PEM files; pairs are (certificate, private key)."""

    directory: str
    ca: str  # the trusted root: signs the intermediate (which signs every server certificate)
    # and the good client certificates
    untrusted_ca: str  # a CA nobody configured
    server_cert: str  # each *_cert of a server: its leaf, then the intermediate
    server_key: str
    expired_server_cert: str
    expired_server_key: str
    wrong_host_cert: str
    wrong_host_key: str
    client_cert: str
    client_key: str
    expired_client_cert: str
    expired_client_key: str
    foreign_client_cert: str  # issued by the untrusted CA
    foreign_client_key: str
    foreign_server_cert: str  # for SERVER_NAMES, issued by the untrusted CA (client profiles)
    foreign_server_key: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> TLSFiles:
        return cls(**data)


def _write(directory: str, name: str, data: bytes) -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as file:
        file.write(data)
    os.chmod(path, 0o600)
    return path


def make_tls_files(directory: str) -> TLSFiles:
    """Issue every certificate the tls, mtls and client-* profiles need into ``directory``."""
    now = dt.datetime.now(dt.UTC)
    long_ago, yesterday = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    ca = trustme.CA(organization_name="conformance trusted CA")
    intermediate = ca.create_child_ca()
    other = trustme.CA(organization_name="conformance untrusted CA")
    leaves = {
        "server": intermediate.issue_cert(*SERVER_NAMES),
        "expired_server": intermediate.issue_cert(
            *SERVER_NAMES, not_before=long_ago, not_after=yesterday
        ),
        "wrong_host": intermediate.issue_cert(WRONG_HOST),
        "client": ca.issue_cert(CLIENT_NAME),
        "expired_client": ca.issue_cert(CLIENT_NAME, not_before=long_ago, not_after=yesterday),
        "foreign_client": other.issue_cert(CLIENT_NAME),
        "foreign_server": other.issue_cert(*SERVER_NAMES),
    }
    paths: dict[str, str] = {
        "directory": directory,
        "ca": _write(directory, "ca.pem", ca.cert_pem.bytes()),
        "untrusted_ca": _write(directory, "untrusted-ca.pem", other.cert_pem.bytes()),
    }
    for name, leaf in leaves.items():
        stem = name.replace("_", "-")
        # The whole chain but the root: the leaf, then its intermediate if it has one.
        chain = b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
        paths[f"{name}_cert"] = _write(directory, f"{stem}.pem", chain)
        paths[f"{name}_key"] = _write(directory, f"{stem}.key", leaf.private_key_pem.bytes())
    return TLSFiles(**paths)


def read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()


__all__ = [
    "CLIENT_NAME",
    "SERVER_NAMES",
    "WRONG_HOST",
    "TLSFiles",
    "make_tls_files",
    "read",
]
