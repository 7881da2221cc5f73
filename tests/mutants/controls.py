"""The unbroken servers: what every mutant is compared with."""

from __future__ import annotations

import argparse

from conformance.catalogue import CLIENT_PROFILE_NAMES, PROFILE_NAMES
from mutants.catalogue import mutant
from mutants.tls_front import serve_behind_front
from reference_server.behaviour import Behaviour

# Every declared server profile: a new profile's declaration puts it here too (the client-*
# profiles certify clients: tests/client_mutants has their broken clients and control).
ALL_PROFILES = tuple(p for p in PROFILE_NAMES if p not in CLIENT_PROFILE_NAMES)


@mutant("none", "the reference server as it is", profiles=ALL_PROFILES)
def none(args: argparse.Namespace, behaviour: Behaviour) -> None:
    pass


@mutant(
    "tls-front",
    "the reference server behind the Python TLS terminator that the TLS mutants use",
    profiles=("tls", "mtls"),
)
def tls_front(args: argparse.Namespace, behaviour: Behaviour) -> None:
    serve_behind_front()
