"""The fixtures the shipped suite uses (registered only when the plugin is active).

All are session-scoped: hypothesis forbids function-scoped fixtures under ``@given``, and a
channel per server is all the suite needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.active import CONTEXT
from conformance.marks import not_applicable
from conformance.run import RunContext
from conformance.tlsmaterial import TLSMaterial
from conformance.wire import Server


@pytest.fixture(scope="session")
def conformance_context(pytestconfig: pytest.Config) -> RunContext:
    """The run: mode, requested profiles, endpoints, TLS material, hypothesis seed."""
    return pytestconfig.stash[CONTEXT]


def _server(context: RunContext, name: str) -> Iterator[Server]:
    endpoint = context.endpoint(name)
    if endpoint is None:
        not_applicable(f"no {name} endpoint in this run")
    with Server(endpoint) as server:
        yield server


@pytest.fixture(scope="session")
def conformance_server(conformance_context: RunContext) -> Iterator[Server]:
    """The server for the semantic profiles (core, strict, resnet)."""
    yield from _server(conformance_context, "core")


@pytest.fixture(scope="session")
def conformance_uds(conformance_context: RunContext) -> Iterator[Server]:
    yield from _server(conformance_context, "uds")


@pytest.fixture(scope="session")
def conformance_limits(conformance_context: RunContext) -> Iterator[Server]:
    """The server with a known (small) max_msg_mb_size."""
    yield from _server(conformance_context, "limits")


@pytest.fixture(scope="session")
def conformance_material(conformance_context: RunContext) -> TLSMaterial:
    """The harness's own certificates (PEM paths)."""
    if conformance_context.material is None:
        not_applicable("no TLS material in this run")
    return conformance_context.material
