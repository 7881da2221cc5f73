"""Starting and stopping a server under test from a ``--server-cmd`` command line.

The command is a template: the placeholders below are replaced by exactly one shell word each
(``shlex.quote``d, so an empty value stays an empty word) and the result runs under /bin/sh in a
new process group, which is how the whole group is stopped: SIGTERM, then SIGKILL after a grace
period. Other braces in the command (``${HOME}``, Python dict literals) are left alone.

The shell traps SIGTERM (with a handler, which its children do not inherit), so that a signal
to the group reaches the server while the shell lives on to report the command's own exit
status: the status of a server stopped by SIGTERM is the server's, not the shell's -15.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from conformance.catalogue import PLACEHOLDER_PATTERN, LaunchError

DEFAULT_MAX_MSG_MB_SIZE = 100  # upstream's default
# {grace}: the seconds a launched server is told it has to finish calls in flight at SIGTERM;
# the harness stops its servers with STOP_GRACE_S, which is longer.
DEFAULT_GRACE_S = 5.0
STOP_GRACE_S = 8.0
_SHELL_PREFIX = "trap : TERM\n"
_TAIL_BYTES = 4000


def expand(command: str, values: Mapping[str, str]) -> str:
    """The command with each placeholder replaced by its value as one shell word."""
    return PLACEHOLDER_PATTERN.sub(lambda match: shlex.quote(values[match.group(1)]), command)


@dataclass(frozen=True)
class ServerSettings:
    """What the harness asks of one launched server; empty certificate = plaintext."""

    address: str
    certificate: str = ""
    private_key: str = ""
    custom_ca: str = ""
    verify_client: bool = False
    max_msg_mb_size: int = DEFAULT_MAX_MSG_MB_SIZE
    grace_s: float = DEFAULT_GRACE_S

    def values(self) -> dict[str, str]:
        return {
            "address": self.address,
            "certificate": self.certificate,
            "private_key": self.private_key,
            "custom_ca": self.custom_ca,
            "verify_client": "true" if self.verify_client else "false",
            "max_msg_mb_size": str(self.max_msg_mb_size),
            "grace": f"{self.grace_s:g}",
        }


def free_tcp_address() -> str:
    """A 127.0.0.1 port that is free now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def short_unix_address(directory: str) -> str:
    """unix:PATH inside ``directory``, which must be short (socket paths max out at 107 bytes)."""
    path = os.path.join(directory, "s.sock")
    if len(path.encode()) > 100:
        raise LaunchError(f"unix socket path too long for the platform: {path}")
    return f"unix:{path}"


class ServerProcess:
    """One running server command; its output goes to a log file for the failure report."""

    def __init__(self, label: str, command: str, settings: ServerSettings, log_dir: str) -> None:
        self.label = label
        self.settings = settings
        self.command_line = expand(command, settings.values())
        self._spawn(log_dir)

    @classmethod
    def from_command_line(
        cls, label: str, command_line: str, address: str, log_dir: str
    ) -> ServerProcess:
        """The same server started again from its expanded command line (a restart)."""
        process = cls.__new__(cls)
        process.label = label
        process.settings = ServerSettings(address=address)
        process.command_line = command_line
        process._spawn(log_dir)
        return process

    def _spawn(self, log_dir: str) -> None:
        label = self.label
        fd, self.log_path = tempfile.mkstemp(prefix=f"{label}-", suffix=".log", dir=log_dir)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(
                ["/bin/sh", "-c", _SHELL_PREFIX + self.command_line],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches its children
            )

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_status(self) -> int | None:
        """None while running, else the exit status."""
        return self._process.poll()

    def tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - _TAIL_BYTES))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return text.strip()

    def failure(self, why: str) -> LaunchError:
        """A LaunchError naming the command, the reason and the tail of its output."""
        tail = self.tail() or "(no output)"
        indented = "\n".join("    " + line for line in tail.splitlines())
        return LaunchError(
            f"server '{self.label}' {why}\n  command: {self.command_line}\n"
            f"  last output:\n{indented}"
        )

    def terminate(self) -> None:
        """SIGTERM to the process group (the server; the shell traps it)."""
        self._signal_group(signal.SIGTERM)

    def wait(self, timeout_s: float) -> int | None:
        """The exit status, or None if still running after ``timeout_s``."""
        try:
            return self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM to the process group, SIGKILL after ``grace_s``; returns the exit status."""
        if self._process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._process.wait(timeout=grace_s)
        # Children the shell left behind in the group go too.
        self._signal_group(signal.SIGKILL)
        return self._process.returncode

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)


# -- a launched process tree, as /proc shows it (from any process of the run) -----------------


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (the command name may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def is_running(pid: int) -> bool:
    """The process exists and is not a zombie (one that exited, not yet reaped)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def tree_pids(root: int) -> list[int]:
    """``root`` and its descendants that are running now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and fields[0] not in ("Z", "X"):
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root] if is_running(root) else []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_rss_bytes(root: int) -> int:
    """The resident memory of ``root`` and its descendants (VmRSS, summed)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as file:
                for line in file:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue  # gone meanwhile
    return total


__all__ = [
    "DEFAULT_GRACE_S",
    "DEFAULT_MAX_MSG_MB_SIZE",
    "STOP_GRACE_S",
    "ServerProcess",
    "ServerSettings",
    "expand",
    "free_tcp_address",
    "is_running",
    "short_unix_address",
    "tree_pids",
    "tree_rss_bytes",
]
