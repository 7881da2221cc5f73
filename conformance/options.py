"""The harness's settings, read from the ``--conformance-*`` options and checked once.

Anything wrong here is the caller's mistake, reported as one line (exit status 2), never as a
traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from conformance.launch import placeholders_in
from conformance.requirements import BY_ID, PROFILE_NAMES

CERTIFICATE_SUFFIXES = (".md", ".markdown", ".html", ".htm")
DEFAULT_READY_TIMEOUT_S = 30.0
DEFAULT_LIMITS_MB = 1  # the small max_msg_mb_size the harness gives its limits server


class OptionsError(Exception):
    """A bad option value; the message is one line for the user."""


@dataclass(frozen=True)
class RunOptions:
    target: str | None = None
    server_cmd: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    profiles: tuple[str, ...] = ()  # as requested; empty = every profile the mode allows
    max_msg_mb_size: int | None = None
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    thorough: bool = False
    seed: int | None = None
    json_report: str | None = None
    certificate: str | None = None
    expect_failures_file: str | None = None
    expected_failures: frozenset[str] = frozenset()

    @property
    def mode(self) -> str:
        return "target" if self.target is not None else "server-cmd"

    @property
    def subject(self) -> str:
        """What is being certified, as the reports name it."""
        return self.target if self.target is not None else str(self.server_cmd)


def parse_expectations(path: str) -> frozenset[str]:
    """Requirement IDs, one per line; ``#`` starts a comment; unknown IDs are an error."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError as exc:
        raise OptionsError(f"cannot read expectation file {path}: {exc.strerror}") from None
    ids: set[str] = set()
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if text not in BY_ID:
            raise OptionsError(f"{path}:{number}: unknown requirement ID {text!r}")
        ids.add(text)
    return frozenset(ids)


def _readable(option: str, path: str | None) -> str | None:
    if path is not None and not os.access(path, os.R_OK):
        raise OptionsError(f"{option}: cannot read {path}")
    return path


def _check_target(target: str) -> None:
    if target.startswith("unix:"):
        if not target[len("unix:") :]:
            raise OptionsError("--target: empty unix socket path in 'unix:'")
        return
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise OptionsError(f"--target: expected host:port or unix:PATH, got {target!r}")


def build(values: dict[str, Any]) -> RunOptions:
    """RunOptions from raw option values (keys as the option names without the prefix)."""
    target, server_cmd = values.get("target"), values.get("server_cmd")
    if (target is None) == (server_cmd is None):
        raise OptionsError("give exactly one of --target ADDRESS or --server-cmd COMMAND")
    tls_ca = _readable("--tls-ca", values.get("tls_ca"))
    tls_cert = _readable("--tls-cert", values.get("tls_cert"))
    tls_key = _readable("--tls-key", values.get("tls_key"))
    if target is not None:
        _check_target(target)
        if (tls_cert is None) != (tls_key is None):
            raise OptionsError("--tls-cert and --tls-key come together")
        if tls_cert is not None and tls_ca is None:
            raise OptionsError("--tls-cert needs --tls-ca (the CA that signed the server)")
    else:
        assert server_cmd is not None
        if tls_ca or tls_cert or tls_key:
            raise OptionsError(
                "--tls-ca/--tls-cert/--tls-key are for --target; with --server-cmd the harness "
                "makes its own TLS material"
            )
        if "address" not in placeholders_in(server_cmd):
            raise OptionsError("--server-cmd must contain the {address} placeholder")
    profiles = tuple(dict.fromkeys(values.get("profiles") or ()))
    for profile in profiles:
        if profile not in PROFILE_NAMES:
            raise OptionsError(
                f"--profile: unknown profile {profile!r} (known: {', '.join(PROFILE_NAMES)})"
            )
    max_mb = values.get("max_msg_mb_size")
    if max_mb is not None and not 1 <= max_mb <= 512:
        raise OptionsError(f"--max-msg-mb-size: expected 1..512, got {max_mb}")
    ready_timeout = values.get("ready_timeout") or DEFAULT_READY_TIMEOUT_S
    if ready_timeout <= 0:
        raise OptionsError(f"--ready-timeout: expected seconds > 0, got {ready_timeout}")
    certificate = values.get("certificate")
    if certificate is not None and not certificate.lower().endswith(CERTIFICATE_SUFFIXES):
        raise OptionsError("--certificate: the file name must end in .md or .html")
    expect_file = values.get("expect_failures")
    expected = parse_expectations(expect_file) if expect_file else frozenset()
    return RunOptions(
        target=target,
        server_cmd=server_cmd,
        tls_ca=tls_ca,
        tls_cert=tls_cert,
        tls_key=tls_key,
        profiles=profiles,
        max_msg_mb_size=max_mb,
        ready_timeout_s=float(ready_timeout),
        thorough=bool(values.get("thorough")),
        seed=values.get("seed"),
        json_report=values.get("json_report"),
        certificate=certificate,
        expect_failures_file=expect_file,
        expected_failures=expected,
    )
