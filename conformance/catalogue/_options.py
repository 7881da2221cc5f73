"""The harness's options: one table that both front ends (the ``conformance`` command and the
pytest plugin's ``--conformance-*`` options) are built from, and the check of their values.

Anything wrong here is the caller's mistake, reported as one line (exit status 2), never as a
traceback. The checks run before anything starts: a report path that cannot be written is
refused up front, not after a whole run.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.catalogue._profiles import (
    PLACEHOLDERS,
    PROFILE_NAMES,
    PROFILES,
    placeholders_in,
    target_options,
)
from conformance.catalogue._requirements import BY_ID
from conformance.catalogue.errors import OptionsError

CERTIFICATE_SUFFIXES = (".md", ".markdown", ".html", ".htm")
# Generous: several servers importing numpy at once on a loaded CI machine take their time, and
# a target that refuses connections is reported at once whatever this is.
DEFAULT_READY_TIMEOUT_S = 60.0
DEFAULT_RUN_TIMEOUT_S = 1800.0  # a gating run takes well under a minute; --thorough ten times it
DEFAULT_LIMITS_MB = 1  # the small max_msg_mb_size the harness gives its limits server
MAX_MSG_MB_SIZE = 512  # upstream's largest max_msg_mb_size
PLUGIN_PREFIX = "--conformance-"


@dataclass(frozen=True)
class Option:
    """One harness option: ``--NAME`` on the command, ``--conformance-NAME`` in the plugin."""

    name: str
    metavar: str | None  # None: a flag
    help: str
    group: str  # the command's help section
    kind: Callable[[str], Any] | None = None  # int or float; None: the text as given
    repeat: bool = False  # may be given several times (a list)
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def plugin_flag(self) -> str:
        return PLUGIN_PREFIX + self.name

    def argparse_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``add_argument`` (argparse) and ``addoption`` (pytest)."""
        if self.metavar is None:
            return {"action": "store_true", "help": self.help}
        kwargs: dict[str, Any] = {"metavar": self.metavar, "help": self.help}
        if self.kind is not None:
            kwargs["type"] = self.kind
        if self.repeat:
            kwargs["action"] = "append"
        if self.choices is not None:
            kwargs["choices"] = self.choices
        return kwargs


_PLACEHOLDER_LIST = " ".join(f"{{{name}}}" for name in PLACEHOLDERS)
_TARGET_OPTIONS = target_options()


def _for_profiles(option: str) -> str:
    """ " (profile tls)": the profiles whose declarations need ``option`` with --target."""
    names = _TARGET_OPTIONS.get(option, [])
    return f" (profile{'s' if len(names) > 1 else ''} {', '.join(names)})" if names else ""


# The command's help sections, in order.
GROUPS = {
    "mode": "what to certify",
    "tls": "TLS material for --target",
    "run": "what to run",
    "reports": "reports",
}

OPTIONS: tuple[Option, ...] = (
    Option("target", "ADDRESS", "a running server: host:port or unix:PATH", "mode"),
    Option(
        "server-cmd",
        "COMMAND",
        f"start servers from this shell command template ({_PLACEHOLDER_LIST})",
        "mode",
    ),
    Option(
        "client-cmd",
        "COMMAND",
        "certify a client instead: the shell command of its testee program, which speaks JSON "
        "lines on stdin/stdout (docs/client-conformance.md); runs the client-* profiles",
        "mode",
    ),
    Option(
        "tls-ca",
        "FILE",
        "PEM of the CA that signed the server certificate" + _for_profiles("tls-ca"),
        "tls",
    ),
    Option("tls-cert", "FILE", "client certificate PEM" + _for_profiles("tls-cert"), "tls"),
    Option("tls-key", "FILE", "client private key PEM" + _for_profiles("tls-key"), "tls"),
    Option(
        "profile",
        "PROFILE",
        f"a profile to run, repeatable: {', '.join(PROFILE_NAMES)} (default: every profile the "
        "drive mode allows: the client-* ones with --client-cmd, the others otherwise; resnet "
        "only if the server deploys resnet50)",
        "run",
        repeat=True,
        choices=PROFILE_NAMES,
    ),
    Option(
        "requirement",
        "ID",
        "run only the checks of this requirement, repeatable (e.g. to rerun one that failed); "
        "the others are reported as not run. Without --profile, the profiles of the named "
        "requirements run",
        "run",
        repeat=True,
    ),
    Option(
        "max-msg-mb-size",
        "N",
        f"profile limits: the target's declared max_msg_mb_size (1..{MAX_MSG_MB_SIZE}), or the "
        f"one given to the harness's limits server (default {DEFAULT_LIMITS_MB})",
        "run",
        kind=int,
    ),
    Option(
        "ready-timeout",
        "SECONDS",
        "how long a server may take to answer its first Predict "
        f"(default {DEFAULT_READY_TIMEOUT_S:g})",
        "run",
        kind=float,
    ),
    Option(
        "run-timeout",
        "SECONDS",
        "stop the whole run after this long, as an interrupted run (exit status 2; "
        f"default {DEFAULT_RUN_TIMEOUT_S:g})",
        "run",
        kind=float,
    ),
    Option(
        "thorough", None, "10x the hypothesis examples, randomized (the seed is reported)", "run"
    ),
    Option("seed", "N", "explore with this hypothesis seed (an integer >= 0)", "run", kind=int),
    Option(
        "no-shrink",
        None,
        "report each failing example as found, not minimised: a faster verdict, a bigger "
        "example (the rerun command minimises it)",
        "run",
    ),
    Option(
        "expect-failures",
        "FILE",
        "requirement IDs (one per line, # comments) allowed to fail; a listed ID that passes "
        "fails the run",
        "run",
    ),
    Option("json-report", "FILE", "JSON: every requirement with its outcome", "reports"),
    Option("certificate", "FILE", "the certificate, Markdown (.md) or HTML (.html)", "reports"),
)

BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class RunOptions:
    target: str | None = None
    server_cmd: str | None = None
    client_cmd: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    profiles: tuple[str, ...] = ()  # as requested; empty = every profile the mode allows
    requirements: tuple[str, ...] = ()  # only these requirements' checks; empty = all
    max_msg_mb_size: int | None = None
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    run_timeout_s: float = DEFAULT_RUN_TIMEOUT_S
    thorough: bool = False
    seed: int | None = None
    no_shrink: bool = False
    json_report: str | None = None
    certificate: str | None = None
    expect_failures_file: str | None = None
    expected_failures: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for xdist workers (which get the controller's options, not a command
        line to parse again)."""
        data = dataclasses.asdict(self)
        data["expected_failures"] = sorted(self.expected_failures)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOptions:
        """The options ``to_dict`` gave (checked once, where they were given)."""
        return cls(
            **{
                **data,
                "profiles": tuple(data["profiles"]),
                "requirements": tuple(data["requirements"]),
                "expected_failures": frozenset(data["expected_failures"]),
            }
        )

    def profiles_to_run(self) -> tuple[str, ...]:
        """The profiles the run reports on: --profile's, else those of the --requirement IDs,
        else every profile declared for this drive mode (then narrowed to those it allows)."""
        if self.profiles:
            return self.profiles
        wanted = {BY_ID[requirement].profile for requirement in self.requirements}
        if wanted:
            return tuple(p for p in PROFILE_NAMES if p in wanted)
        return tuple(p.name for p in PROFILES if self.mode in p.drives)

    def value_of(self, option: str) -> Any:
        """The value of an option by its --NAME (as profile declarations name options)."""
        return getattr(self, BY_NAME[option].dest)

    @property
    def mode(self) -> str:
        if self.client_cmd is not None:
            return "client-cmd"
        return "target" if self.target is not None else "server-cmd"

    def rerun_command(self, requirement: str, seed: int | None) -> str:
        """The ``conformance`` command line that checks ``requirement`` again, as this run did
        (the same server or testee, TLS files, limits and hypothesis seed: derandomized runs
        repeat their examples, a seeded run needs its --seed)."""
        words = ["conformance"]
        names = ("target", "server-cmd", "client-cmd", "tls-ca", "tls-cert", "tls-key")
        for name in (*names, "max-msg-mb-size"):
            value = self.value_of(name)
            if value is not None:
                words += [f"--{name}", str(value)]
        if self.thorough:  # the same examples need the same number of them
            words.append("--thorough")
        if seed is not None:
            words += ["--seed", str(seed)]
        words += ["--requirement", requirement]
        return shlex.join(words)

    @property
    def subject(self) -> str:
        """What is being certified, as the reports name it."""
        if self.client_cmd is not None:
            return self.client_cmd
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


def writable(option: str, path: str | None) -> str | None:
    """``path`` if a file can be written there now (its folder exists), else OptionsError.
    Tried for real, as permission bits say nothing to root: an existing file is opened for
    writing (not changed); for a new one, a scratch file is made beside it and removed."""
    if path is None:
        return None
    if not path:
        raise OptionsError(f"{option}: empty file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OptionsError(f"{option}: cannot write {path}: no folder {folder}")
    if os.path.isdir(path):
        raise OptionsError(f"{option}: cannot write {path}: it is a folder")
    try:
        if os.path.exists(path):
            os.close(os.open(path, os.O_WRONLY))
        else:
            descriptor, scratch = tempfile.mkstemp(prefix=".conformance-", dir=folder)
            os.close(descriptor)
            os.unlink(scratch)
    except OSError as exc:
        raise OptionsError(f"{option}: cannot write {path}: {exc.strerror}") from None
    return path


def _seconds(option: str, value: Any, default: float) -> float:
    """A finite number of seconds > 0 (None: the default)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionsError(f"{option}: expected seconds > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise OptionsError(f"{option}: expected a finite number of seconds > 0, got {value}")
    return float(value)


def _integer(option: str, value: Any, low: int, high: int | None = None) -> int | None:
    if value is None:
        return None
    span = f"{low}..{high}" if high is not None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionsError(f"{option}: expected {span}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise OptionsError(f"{option}: expected {span}, got {value}")
    return value


def _check_target(target: str) -> None:
    if target.startswith("unix:"):
        if not target[len("unix:") :]:
            raise OptionsError("--target: empty unix socket path in 'unix:'")
        return
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise OptionsError(f"--target: expected host:port or unix:PATH, got {target!r}")


def _check_requirements(requirements: tuple[str, ...], profiles: tuple[str, ...]) -> None:
    """``--requirement`` IDs are in the catalogue, and in the profiles --profile names."""
    for requirement in requirements:
        if requirement not in BY_ID:
            raise OptionsError(
                f"--requirement: unknown requirement ID {requirement!r} (see --list-requirements)"
            )
        profile = BY_ID[requirement].profile
        if profiles and profile not in profiles:
            raise OptionsError(
                f"--requirement {requirement} is in profile {profile}, which no --profile requests"
            )


def build(values: dict[str, Any]) -> RunOptions:
    """RunOptions from raw option values, keyed by Option.dest (``server_cmd``, ``profile``...)."""
    unknown = set(values) - {option.dest for option in OPTIONS}
    if unknown:
        raise OptionsError(f"unknown options: {', '.join(sorted(unknown))}")
    target, server_cmd = values.get("target"), values.get("server_cmd")
    client_cmd = values.get("client_cmd")
    if sum(mode is not None for mode in (target, server_cmd, client_cmd)) != 1:
        raise OptionsError(
            "give exactly one of --target ADDRESS, --server-cmd COMMAND or --client-cmd COMMAND"
        )
    tls_ca = _readable("--tls-ca", values.get("tls_ca"))
    tls_cert = _readable("--tls-cert", values.get("tls_cert"))
    tls_key = _readable("--tls-key", values.get("tls_key"))
    if client_cmd is not None:
        if not client_cmd.strip():
            raise OptionsError("--client-cmd: empty command")
        if tls_ca or tls_cert or tls_key or values.get("max_msg_mb_size") is not None:
            raise OptionsError(
                "--tls-ca/--tls-cert/--tls-key/--max-msg-mb-size describe a server; with "
                "--client-cmd the harness runs its own servers"
            )
    elif target is not None:
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
    profiles = tuple(dict.fromkeys(values.get("profile") or ()))
    for profile in profiles:
        if profile not in PROFILE_NAMES:
            raise OptionsError(
                f"--profile: unknown profile {profile!r} (known: {', '.join(PROFILE_NAMES)})"
            )
    requirements = tuple(dict.fromkeys(values.get("requirement") or ()))
    _check_requirements(requirements, profiles)
    max_mb = _integer("--max-msg-mb-size", values.get("max_msg_mb_size"), 1, MAX_MSG_MB_SIZE)
    ready_timeout = _seconds(
        "--ready-timeout", values.get("ready_timeout"), DEFAULT_READY_TIMEOUT_S
    )
    run_timeout = _seconds("--run-timeout", values.get("run_timeout"), DEFAULT_RUN_TIMEOUT_S)
    seed = _integer("--seed", values.get("seed"), 0)
    certificate = values.get("certificate")
    if certificate is not None and not certificate.lower().endswith(CERTIFICATE_SUFFIXES):
        raise OptionsError("--certificate: the file name must end in .md or .html")
    expect_file = values.get("expect_failures")
    expected = parse_expectations(expect_file) if expect_file else frozenset()
    return RunOptions(
        target=target,
        server_cmd=server_cmd,
        client_cmd=client_cmd,
        tls_ca=tls_ca,
        tls_cert=tls_cert,
        tls_key=tls_key,
        profiles=profiles,
        requirements=requirements,
        max_msg_mb_size=max_mb,
        ready_timeout_s=ready_timeout,
        run_timeout_s=run_timeout,
        thorough=bool(values.get("thorough")),
        seed=seed,
        no_shrink=bool(values.get("no_shrink")),
        json_report=writable("--json-report", values.get("json_report")),
        certificate=writable("--certificate", certificate),
        expect_failures_file=expect_file,
        expected_failures=expected,
    )


__all__ = [
    "BY_NAME",
    "CERTIFICATE_SUFFIXES",
    "DEFAULT_LIMITS_MB",
    "DEFAULT_READY_TIMEOUT_S",
    "DEFAULT_RUN_TIMEOUT_S",
    "GROUPS",
    "MAX_MSG_MB_SIZE",
    "OPTIONS",
    "PLUGIN_PREFIX",
    "Option",
    "RunOptions",
    "build",
    "parse_expectations",
    "writable",
]
