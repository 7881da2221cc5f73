"""Serve the reference server with one deliberate bug, for the conformance harness:

    python tests/mutants/serve.py --mutant NAME <reference_server's own arguments>

NAME is a mutant or a control registered in tests/mutants (see catalogue.py). The mutation is
installed into a Behaviour (the server's seam, reference_server.behaviour), then
reference_server.cli runs as usual with it.
Runs as a plain script: it puts tests/ and the repository root on sys.path itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="serve.py",
        description="the reference server with one mutation; other arguments are the server's",
    )
    parser.add_argument("--mutant", required=True, metavar="NAME")
    ours, server_argv = parser.parse_known_args(argv)

    from mutants.catalogue import everything
    from reference_server import cli
    from reference_server.behaviour import Behaviour

    table = everything()
    chosen = table.get(ours.mutant)
    if chosen is None:
        parser.error(f"unknown mutant {ours.mutant!r}; known: {' '.join(table)}")
    # The mutation may depend on how the server is started (transport, TLS, limit).
    behaviour = Behaviour()
    chosen.install(cli.build_parser().parse_args(server_argv), behaviour)
    return cli.main(server_argv, behaviour=behaviour)


if __name__ == "__main__":
    sys.path[0:1] = [TESTS, ROOT]  # instead of this script's own folder
    sys.exit(main())
