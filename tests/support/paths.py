"""Short temporary directories: a unix socket path must stay under 107 bytes, and pytest's
tmp_path is often longer."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def short_tmp_dir(prefix: str = "ms") -> Iterator[Path]:
    """A fresh directory directly under /tmp, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def unix_address(directory: Path, name: str = "s.sock") -> str:
    return f"unix:{directory / name}"
