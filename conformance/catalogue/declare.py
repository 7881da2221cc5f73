"""What a profile's declaration is made of: the types its module in
conformance/catalogue/profiles/ builds its ``PROFILE`` from (endpoints, needs per drive mode,
requirements), and the two constructors of requirements.

A profile is declared in one module of conformance.catalogue.profiles, which holds its
``PROFILE``: its needs, endpoints, suites, mutants and requirements. The catalogue collects
those modules; everything else about a profile derives from its declaration.

Pure data: importing this module costs nothing (the pytest plugin reads it in every run).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

Level = Literal["MUST", "SHOULD"]


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    profile: str
    sentence: str
    source: str  # anchors (<a id="...">) that specify it, comma-separated, of docs/protocol.md
    # (server profiles) or docs/client-conformance.md (client profiles: see ``document``)
    feature: str | None = None  # client profiles: the testee's hello must declare it, else N/A

    @property
    def document(self) -> str:
        """The doc (relative to docs/) whose anchors ``source`` names."""
        return CLIENT_DOC_NAME if self.id.startswith(CLIENT_PREFIX) else "protocol.md"

    @property
    def anchors(self) -> list[str]:
        return [a.strip() for a in self.source.split(",")]


# Client requirements' IDs start with it, and only theirs (checked by the catalogue).
CLIENT_PREFIX = "CL-"
CLIENT_DOC_NAME = "client-conformance.md"
CLIENT_DOC = f"docs/{CLIENT_DOC_NAME}"


def server_requirement(
    id_: str, level: Level, profile: str, source: str, sentence: str
) -> Requirement:
    """A server profile's requirement; ``source`` names anchors of docs/protocol.md."""
    return Requirement(id=id_, level=level, profile=profile, sentence=sentence, source=source)


def client_requirement(
    id_: str, level: Level, profile: str, source: str, sentence: str, feature: str | None = None
) -> Requirement:
    """A client requirement (``--client-cmd``): ``CL-`` IDs, not ``CLIENT-``, because the four
    ``CLIENT-*`` IDs of profile core (a server checked through the reference client) were
    published first and an ID keeps its meaning; sources are anchors of docs/client-conformance.md.
    """
    return Requirement(id_, level, profile, sentence, source, feature)


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
    # Modules of conformance.suites holding its tests: a run collects exactly the requested
    # profiles' suites.
    suites: tuple[str, ...]
    # A probe (module:function, called with an Endpoint and seconds) that may rule the profile
    # out when the run did not name it: it returns why not, or None.
    applies_if: str | None = None
    not_applicable_prefix: str = ""  # put before the probe's answer
    note: str = ""  # for docs/requirements.md's "runs when"
    requirements: tuple[Requirement, ...] = ()  # what it checks, in the catalogue's order
    # Modules of the repository's tests/mutants/ (not shipped): the deliberately broken servers
    # its checks must catch. Client profiles' broken clients are tests/client_mutants' table.
    mutants: tuple[str, ...] = ()
    order: int = 1000  # its place in listings (docs, reports); ties go by name
    # False: its run is long (floods, stalls): bench/'s timing runs leave it out, and the
    # repository's mutant tests start its runs in the background.
    quick: bool = True

    @property
    def is_client(self) -> bool:
        """A client profile: it certifies a client's testee (``--client-cmd``), not a server."""
        return "client-cmd" in self.drives

    def needs_text(self) -> str:
        modes = "; ".join(f"--{mode}: {needs.describe()}" for mode, needs in self.drives.items())
        return modes + (f"; {self.note}" if self.note else "")


# The needs of a profile that runs in a mode whatever the options.
ALWAYS = Needs()
# Client profiles run only with --client-cmd; what the testee supports decides the rest (its
# hello's features, per requirement: Requirement.feature).
CLIENT = {"client-cmd": ALWAYS}

__all__ = [
    "ALWAYS",
    "CLIENT",
    "CLIENT_DOC",
    "CLIENT_DOC_NAME",
    "CLIENT_PREFIX",
    "PLACEHOLDERS",
    "PLACEHOLDER_PATTERN",
    "EndpointSpec",
    "HostCheck",
    "Level",
    "Mode",
    "Needs",
    "Profile",
    "Readiness",
    "Requirement",
    "ServerCertificate",
    "TLSMode",
    "Transport",
    "client_requirement",
    "placeholders_in",
    "server_requirement",
]
