"""The profiles, collected from their declarations (conformance/catalogue/profiles/, one
module each), and what derives from them: names, the endpoints, the options each needs.

Everything else about a profile is derived from its declaration too (conformance.drive builds
the servers and endpoints, decides applicability and its "not applicable" reasons; the front
ends build their help; the plugin registers the endpoints' fixtures and collects the declared
suites). Adding a profile: docs/adding-a-profile.md.

Pure data: importing this module costs nothing (the pytest plugin reads it in every run).
"""

from __future__ import annotations

from conformance.catalogue.declare import (
    ALWAYS,
    PLACEHOLDER_PATTERN,
    PLACEHOLDERS,
    EndpointSpec,
    HostCheck,
    Mode,
    Needs,
    Profile,
    Readiness,
    ServerCertificate,
    TLSMode,
    Transport,
    placeholders_in,
)
from conformance.catalogue.profiles import collect
from conformance.catalogue.profiles.core import CORE
from conformance.catalogue.profiles.limits import LIMITS
from conformance.catalogue.profiles.mtls import MTLS
from conformance.catalogue.profiles.robustness import ROBUSTNESS
from conformance.catalogue.profiles.tls import TLS, TLS_EXPIRED, TLS_WRONG_HOST, TLS_WRONG_HOST_OK
from conformance.catalogue.profiles.uds import UDS

PROFILES: tuple[Profile, ...] = collect()

PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in PROFILES)
CLIENT_PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in PROFILES if p.is_client)
BY_NAME: dict[str, Profile] = {p.name: p for p in PROFILES}
ENDPOINTS: tuple[EndpointSpec, ...] = tuple(
    dict.fromkeys(spec for profile in PROFILES for spec in profile.endpoints)
)


def target_options() -> dict[str, list[str]]:
    """Option name -> the profiles that need it with --target (for the options' help)."""
    used: dict[str, list[str]] = {}
    for profile in PROFILES:
        for option in profile.drives.get("target", ALWAYS).options:
            used.setdefault(option, []).append(profile.name)
    return used


def _check_profiles() -> None:
    # The declarations' own shape, at import: unique names, known placeholders, shared servers
    # declared before the endpoints that reach them.
    names = [spec.name for spec in ENDPOINTS]
    if len(set(names)) != len(names):
        raise AssertionError(f"two endpoint declarations share a name: {names}")
    for label, values in (
        ("profile names", PROFILE_NAMES),
        ("suites", [suite for profile in PROFILES for suite in profile.suites]),
    ):
        if len(set(values)) != len(values):
            raise AssertionError(f"two profile declarations share {label}: {values}")
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
