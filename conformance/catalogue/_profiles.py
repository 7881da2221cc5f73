"""The profiles, each one declaration: what it needs in each drive mode, the endpoints its suites
talk to, the suites themselves.

Everything else about a profile is derived from its declaration (conformance.drive builds the
servers and endpoints, decides applicability and its "not applicable" reasons; the front ends
build their help; the plugin registers the endpoints' fixtures). Adding a profile is its
declaration here, its requirements in _requirements.py, its suite in conformance/suites/ and
its mutants in tests/mutants/.

Pure data: importing this module costs nothing (the pytest plugin reads it in every run).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

# How the harness reaches the implementation it certifies. "client-cmd" is reserved for client
# profiles (the harness runs the servers and drives a client testee over JSON lines).
Mode = Literal["server-cmd", "target", "client-cmd"]

# The --server-cmd template's placeholders, each replaced by one shell word (conformance.drive).
PLACEHOLDERS = (
    "address",
    "certificate",
    "private_key",
    "custom_ca",
    "verify_client",
    "max_msg_mb_size",
    "grace",
)
PLACEHOLDER_PATTERN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def placeholders_in(command: str) -> frozenset[str]:
    return frozenset(match.group(1) for match in PLACEHOLDER_PATTERN.finditer(command))


class Transport(enum.Enum):
    TCP = "tcp"  # 127.0.0.1:PORT
    UNIX = "unix"  # unix:PATH


class TLSMode(enum.Enum):
    PLAINTEXT = "plaintext"
    ONE_WAY = "one-way"  # the server presents a certificate
    MUTUAL = "mutual"  # ... and requires one from the client (custom_ca, verify_client)


class ServerCertificate(enum.Enum):
    """Which of the harness's certificates a launched TLS server presents."""

    VALID = "server"
    EXPIRED = "expired_server"  # only a launched server can be given one
    WRONG_HOST = "wrong_host"  # names WRONG_HOST (conformance.drive), not the address used


class HostCheck(enum.Enum):
    """The host name the harness's client checks against the server certificate."""

    MATCHING = "matching"  # the name the certificate holds
    MISMATCHED = "mismatched"  # another name: a correct client refuses the handshake


class Readiness(enum.Enum):
    """How the harness knows a launched server is up, probed at this endpoint."""

    PREDICT = "predict"  # answers a Predict
    HANDSHAKE = "handshake"  # completes a TLS handshake (no client accepts its certificate)
    NONE = "none"  # not probed here (another endpoint of the same server is)


@dataclass(frozen=True)
class EndpointSpec:
    """One way the suites reach a server. Suites look endpoints up by this object, never by a
    string, so run and suite cannot drift apart."""

    name: str  # its key in the run (RunContext.endpoints, xdist's dict)
    transport: Transport = Transport.TCP
    tls: TLSMode = TLSMode.PLAINTEXT
    certificate: ServerCertificate = ServerCertificate.VALID
    host: HostCheck = HostCheck.MATCHING
    limited: bool = False  # the server has a declared max_msg_mb_size
    readiness: Readiness = Readiness.PREDICT
    server: str | None = None  # another endpoint's server, reached differently; None: its own
    fixture: str | None = None  # a session fixture yielding a conformance.verify.wire.Target

    @property
    def server_name(self) -> str:
        return self.server or self.name

    @property
    def launched_only(self) -> bool:
        """No --target counterpart: a target presents its own certificate, never an expired
        one of the harness's."""
        return self.certificate is ServerCertificate.EXPIRED


@dataclass(frozen=True)
class Needs:
    """What a profile needs in one drive mode. A mode missing from Profile.drives: the profile
    never applies there."""

    placeholders: tuple[str, ...] = ()  # --server-cmd: the template must hold these
    options: tuple[str, ...] = ()  # options that must be given (by their --NAME)
    missing: str | None = None  # the reason when an option is missing (default: "no --X given")
    excluded_by: tuple[tuple[str, str], ...] = ()  # (option, reason): given, the profile is out
    unix_address: bool = False  # --target: the address must be unix:PATH

    def describe(self) -> str:
        parts = [f"{{{p}}}" for p in self.placeholders] + [f"--{o}" for o in self.options]
        if self.unix_address:
            parts.append("a unix:PATH address")
        return " ".join(parts) if parts else "always"


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    drives: dict[str, Needs]  # Mode -> what it needs there
    endpoints: tuple[EndpointSpec, ...]
    suites: tuple[str, ...]  # modules of conformance.suites holding its tests
    # A probe (module:function, called with an Endpoint and seconds) that may rule the profile
    # out when the run did not name it: it returns why not, or None.
    applies_if: str | None = None
    not_applicable_prefix: str = ""  # put before the probe's answer
    note: str = ""  # for docs/requirements.md's "runs when"

    def needs_text(self) -> str:
        modes = "; ".join(f"--{mode}: {needs.describe()}" for mode, needs in self.drives.items())
        return modes + (f"; {self.note}" if self.note else "")


# --- the endpoints ---------------------------------------------------------------------------
CORE = EndpointSpec("core", fixture="conformance_server")
UDS = EndpointSpec("uds", transport=Transport.UNIX, fixture="conformance_uds")
TLS = EndpointSpec("tls", tls=TLSMode.ONE_WAY)
TLS_EXPIRED = EndpointSpec(
    "tls-expired",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.EXPIRED,
    readiness=Readiness.HANDSHAKE,
)
TLS_WRONG_HOST = EndpointSpec(
    "tls-wrong-host",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.WRONG_HOST,
    host=HostCheck.MISMATCHED,
    readiness=Readiness.NONE,
)
# The same server reached under the name its certificate holds: how "still serves" and
# readiness are checked.
TLS_WRONG_HOST_OK = EndpointSpec(
    "tls-wrong-host-ok",
    tls=TLSMode.ONE_WAY,
    certificate=ServerCertificate.WRONG_HOST,
    server=TLS_WRONG_HOST.name,
)
MTLS = EndpointSpec("mtls", tls=TLSMode.MUTUAL)
LIMITS = EndpointSpec("limits", limited=True, fixture="conformance_limits")
# A server of its own with --server-cmd: the profile measures its memory and floods it, which
# must not disturb the other profiles' servers.
ROBUSTNESS = EndpointSpec("robustness", fixture="conformance_robustness")

_ALWAYS = Needs()
_TLS_CMD = Needs(placeholders=("certificate", "private_key"))
# Client profiles run only with --client-cmd; what the testee supports decides the rest (its
# hello's features, per requirement: conformance.catalogue's Requirement.feature).
_CLIENT = {"client-cmd": _ALWAYS}

PROFILES: tuple[Profile, ...] = (
    Profile(
        "core",
        "the protocol's semantics over plaintext TCP, raw and through the reference client",
        {"server-cmd": _ALWAYS, "target": _ALWAYS},
        (CORE,),
        (
            "test_core_echo",
            "test_core_wide",
            "test_core_requests",
            "test_core_instances",
            "test_core_concurrency",
            "test_client",
        ),
        note="with --target, over the channel the given material opens",
    ),
    Profile(
        "uds",
        "the same calls over a unix domain socket",
        {
            "server-cmd": _ALWAYS,
            "target": Needs(
                unix_address=True, missing="the target is not a unix:PATH address"
            ),
        },
        (UDS,),
        ("test_uds",),
    ),
    Profile(
        "tls",
        "one-way TLS: the right CA succeeds, every bad handshake is refused, the server survives",
        {
            "server-cmd": _TLS_CMD,
            "target": Needs(
                options=("tls-ca",),
                missing="no --tls-ca: the target is not known to use TLS",
                excluded_by=(("tls-cert", "--tls-cert given: the target is certified in profile "
                              "mtls"),),
            ),
        },
        (TLS, TLS_EXPIRED, TLS_WRONG_HOST, TLS_WRONG_HOST_OK),
        ("test_tls",),
    ),
    Profile(
        "mtls",
        "mutual TLS: only a client certificate from the trusted CA is accepted",
        {
            "server-cmd": Needs(
                placeholders=(*_TLS_CMD.placeholders, "custom_ca", "verify_client")
            ),
            "target": Needs(options=("tls-ca", "tls-cert", "tls-key")),
        },
        (MTLS,),
        ("test_mtls",),
    ),
    Profile(
        "limits",
        "max_msg_mb_size is enforced on requests and replies",
        {
            "server-cmd": Needs(placeholders=("max_msg_mb_size",)),
            "target": Needs(
                options=("max-msg-mb-size",),
                missing="no --max-msg-mb-size: the target's limit is unknown",
            ),
        },
        (LIMITS,),
        ("test_limits",),
    ),
    Profile(
        "strict",
        "SHOULD-level: upstream's error texts and codes, and upstream defects not copied",
        {"server-cmd": _ALWAYS, "target": _ALWAYS},
        (CORE,),
        ("test_strict",),
        note="over the core channel",
    ),
    Profile(
        "resnet",
        "the optional resnet50 servable: classify_top1, classify_top1_v1, classify_top5",
        {"server-cmd": _ALWAYS, "target": _ALWAYS},
        (CORE,),
        ("test_resnet",),
        applies_if="conformance.verify.resnet:why_not_deployed",
        not_applicable_prefix="the server does not deploy resnet50: a probe ",
        note="unless named, only when resnet50 answers a probe",
    ),
    # --- clients: the harness runs the servers and drives a client's testee (JSON lines) -----
    Profile(
        "client-core",
        "a client over plaintext TCP: request encoding, reply decoding, failed calls, async "
        "calls, deadlines",
        _CLIENT,
        (),
        ("test_clients_core",),
        note="async and deadline checks only for a testee that declares them",
    ),
    Profile(
        "client-uds",
        "the client over a unix domain socket",
        _CLIENT,
        (),
        ("test_clients_uds",),
        note="a testee that declares the uds feature",
    ),
    Profile(
        "client-tls",
        "one-way TLS with a custom CA; a certificate from another CA or for another host refused",
        _CLIENT,
        (),
        ("test_clients_tls",),
        note="a testee that declares the tls feature",
    ),
    Profile(
        "client-mtls",
        "mutual TLS: the client presents the certificate it is given",
        _CLIENT,
        (),
        ("test_clients_mtls",),
        note="a testee that declares the mtls feature",
    ),
    Profile(
        "client-limits",
        "messages above gRPC's 4 MiB default both ways; a server's RESOURCE_EXHAUSTED",
        _CLIENT,
        (),
        ("test_clients_limits",),
    ),
    Profile(
        "client-strict",
        "SHOULD-level: upstream's Python value mappings and error texts",
        _CLIENT,
        (),
        ("test_clients_strict",),
    ),
    Profile(
        "robustness",
        "hostile requests, bodies that are not protobuf, stalled and flooding clients; the "
        "launched process's survival, memory and SIGTERM with calls in flight",
        {"server-cmd": _ALWAYS, "target": _ALWAYS},
        (ROBUSTNESS,),
        ("test_robustness",),
        note="its own server with --server-cmd; memory and SIGTERM only there, SIGTERM only "
        "with {grace}",
    ),
)  # fmt: skip

PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in PROFILES)
CLIENT_PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in PROFILES if "client-cmd" in p.drives)
BY_NAME: dict[str, Profile] = {p.name: p for p in PROFILES}
ENDPOINTS: tuple[EndpointSpec, ...] = tuple(
    dict.fromkeys(spec for profile in PROFILES for spec in profile.endpoints)
)


def target_options() -> dict[str, list[str]]:
    """Option name -> the profiles that need it with --target (for the options' help)."""
    used: dict[str, list[str]] = {}
    for profile in PROFILES:
        for option in profile.drives.get("target", _ALWAYS).options:
            used.setdefault(option, []).append(profile.name)
    return used


def _check_profiles() -> None:
    # The declarations' own shape, at import: unique names, known placeholders, shared servers
    # declared before the endpoints that reach them.
    names = [spec.name for spec in ENDPOINTS]
    if len(set(names)) != len(names):
        raise AssertionError(f"two endpoint declarations share a name: {names}")
    for profile in PROFILES:
        for needs in profile.drives.values():
            unknown = set(needs.placeholders) - set(PLACEHOLDERS)
            if unknown:
                raise AssertionError(f"{profile.name}: unknown placeholders {sorted(unknown)}")
        for spec in profile.endpoints:
            if spec.server is not None and spec.server not in names:
                raise AssertionError(f"{spec.name}: unknown server {spec.server}")


_check_profiles()

__all__ = [
    "BY_NAME",
    "CLIENT_PROFILE_NAMES",
    "CORE",
    "ENDPOINTS",
    "LIMITS",
    "MTLS",
    "PLACEHOLDERS",
    "PLACEHOLDER_PATTERN",
    "PROFILES",
    "PROFILE_NAMES",
    "ROBUSTNESS",
    "TLS",
    "TLS_EXPIRED",
    "TLS_WRONG_HOST",
    "TLS_WRONG_HOST_OK",
    "UDS",
    "EndpointSpec",
    "HostCheck",
    "Mode",
    "Needs",
    "Profile",
    "Readiness",
    "ServerCertificate",
    "TLSMode",
    "Transport",
    "placeholders_in",
    "target_options",
]
