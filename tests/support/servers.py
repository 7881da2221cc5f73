"""Reference servers for tests: in process (ReferenceServer) or as the CLI in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from reference_server import ReferenceServer, Registry, SSLConfig, kit_registry

READY_TIMEOUT_S = 20.0  # the CLI prints its ready line well within this
EXIT_TIMEOUT_S = 15.0


@contextmanager
def running_server(
    registry: Registry | None = None,
    address: str = "127.0.0.1:0",
    *,
    ssl_config: SSLConfig | None = None,
    max_msg_mb_size: int = 100,
    **server_options: Any,
) -> Iterator[ReferenceServer]:
    """A started ReferenceServer (the kit's servables by default), stopped afterwards.

    ``server_options`` go to ReferenceServer (``queue_limit``, ``max_workers``, ``max_calls``,
    ``receive_timeout``, ``health``, ``reflection``).
    """
    server = ReferenceServer(registry if registry is not None else kit_registry(), **server_options)
    server.start(address, max_msg_mb_size, ssl_config)
    try:
        yield server
    finally:
        server.stop(grace=1.0)


@dataclass
class CLIProcess:
    process: subprocess.Popen[str]
    ready_line: str

    @property
    def address(self) -> str:
        """The address from the ready line ``... serving on ADDRESS (...)``."""
        return self.ready_line.split(" serving on ", 1)[1].rsplit(" (", 1)[0]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Signal the server; its exit status and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, stderr = self.process.communicate(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate(timeout=EXIT_TIMEOUT_S)
        return self.process.returncode, stderr


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reference_server", *args]


def run_cli(
    args: Sequence[str], timeout: float = READY_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (for arguments that must make it exit)."""
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, timeout=timeout, env=_env()
    )


@contextmanager
def cli_server(args: Sequence[str]) -> Iterator[CLIProcess]:
    """The CLI running with ``args``, once it printed its ready line; killed afterwards if a
    test did not stop it. RuntimeError (with its stderr) if it exits or stays silent."""
    process = subprocess.Popen(
        cli_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert process.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not line or not line[0]:
        process.kill()
        _, stderr = process.communicate(timeout=EXIT_TIMEOUT_S)
        raise RuntimeError(f"the CLI did not become ready: {stderr.strip()}")
    try:
        yield CLIProcess(process, line[0].rstrip("\n"))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=EXIT_TIMEOUT_S)


def _env() -> dict[str, str]:
    # Loopback calls never go through a proxy from the environment.
    return {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
