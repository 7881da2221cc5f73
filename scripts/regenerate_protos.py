"""Regenerate protos/*_pb2*.py(i) from protos/ms_service.proto.

Run with the pinned generator (see the `codegen-check` env in tox.ini):
    python scripts/regenerate_protos.py
The folder path is the import path (`protos.ms_service_pb2`), so protoc's own imports are
right without post-processing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    args = [
        "protoc",
        f"-I{ROOT}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        str(ROOT / "protos" / "ms_service.proto"),
    ]
    status = protoc.main(args)
    if status != 0:
        print(f"protoc failed with status {status}", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
