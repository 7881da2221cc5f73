"""The "add" example client of MindSpore Serving, on the reference client.

The only change from upstream's example is the import line:

    from mindspore_serving.client import Client   # upstream
    from reference_client import Client           # here

Start a server with the `add` servable on 127.0.0.1:5500, then run
``python examples/add_client.py`` (or pass another address: ``python examples/add_client.py
unix:/tmp/ms.sock``). It prints one result per instance, each ``y = x1 + x2``.
"""

import sys

import numpy as np

from reference_client import Client


def run_add_common(address: str = "127.0.0.1:5500") -> None:
    """Call method add_common of servable add with three instances."""
    client = Client(address, "add", "add_common")
    instances = []
    for value in (1, 2, 3):
        x1 = np.full((2, 2), value, dtype=np.float32)
        x2 = np.full((2, 2), value, dtype=np.float32)
        instances.append({"x1": x1, "x2": x2})
    result = client.infer(instances)
    print(result)


if __name__ == "__main__":
    run_add_common(*sys.argv[1:2])
