"""Write a throwaway TLS setup made by trustme into a folder, for the README's TLS examples.

    python examples/make_certs.py certs

writes ca.pem (the CA that signed everything), server.pem / server.key (valid for localhost
and 127.0.0.1) and client.pem / client.key (a client certificate for mutual TLS). For testing
only: the CA's private key is thrown away, nothing here is fit for production.
"""

import sys
from pathlib import Path

import trustme


def make_certs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    # A client certificate needs a real name: trustme gives a bare common_name an empty SAN.
    client = ca.issue_cert("client.example")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client.pem"))
    client.private_key_pem.write_to_path(str(folder / "client.key"))
    print(f"wrote ca.pem, server.pem, server.key, client.pem, client.key to {folder}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/make_certs.py FOLDER")
    make_certs(Path(sys.argv[1]))
