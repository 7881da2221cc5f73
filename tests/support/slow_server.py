"""The reference server CLI with one more servable, for shutdown tests and benchmarks:

    python tests/support/slow_server.py SECONDS <reference_server's own arguments>

Besides the kit, it deploys ``slow`` v1 ``sleep(x) -> y``: each call spends SECONDS in its
handler (sleeping, so it computes nothing but holds a worker as a heavy model would), then
echoes ``x``. Runs as a plain script: the repository root goes on sys.path after PYTHONPATH.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: Sequence[str]) -> int:
    from reference_server import cli, servables
    from reference_server.registry import Method, Registry, Servable, method_table

    seconds = float(argv[0])

    def sleep(batch: Sequence[Any], backend: Any) -> list[Any]:
        time.sleep(seconds)
        return [{"y": inputs["x"]} for inputs in batch]

    kit = servables.kit_registry

    def kit_registry(*args: Any, **kwargs: Any) -> Registry:
        registry = kit(*args, **kwargs)
        registry.add(Servable("slow", {1: method_table(Method("sleep", ("x",), ("y",), sleep))}))
        return registry

    servables.kit_registry = kit_registry  # cli looks it up per start
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.path[0:1] = []  # not this script's folder
    sys.path.append(ROOT)
    sys.exit(main(sys.argv[1:]))
