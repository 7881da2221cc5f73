"""The "add" example over TLS: one-way with a CA, mutual with a client certificate too.

    python examples/add_client_tls.py 127.0.0.1:5500 certs/ca.pem
    python examples/add_client_tls.py 127.0.0.1:5500 certs/ca.pem certs/client.pem certs/client.key

The server certificate must name the host of the address (the client has no target-name
override, as upstream).
"""

import sys

import numpy as np

from reference_client import Client, SSLConfig


def run_add_common_tls(address, custom_ca, certificate=None, private_key=None):
    ssl_config = SSLConfig(certificate=certificate, private_key=private_key, custom_ca=custom_ca)
    with Client(address, "add", "add_common", ssl_config=ssl_config) as client:
        x = np.ones((2, 2), dtype=np.float32)
        print(client.infer({"x1": x, "x2": x}))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit("usage: python examples/add_client_tls.py ADDRESS CA [CERT KEY]")
    run_add_common_tls(*sys.argv[1:])
