"""Helpers of the tls and mtls profiles: a refused handshake, and "the server still serves"."""

from __future__ import annotations

import grpc

from conformance import checks, kit
from conformance.endpoints import Endpoint
from conformance.probe import handshake_once
from conformance.wire import RpcFailure, Server
from protos import codec

TIMEOUT_S = 10.0


def echo_ok(endpoint: Endpoint, what: str) -> None:
    """A fresh connection to ``endpoint`` gets a correct echo."""
    __tracebackhide__ = True
    x = codec.text_tensor(f"{what} over {endpoint.describe()}")
    with Server(endpoint, isolated=True) as server:
        reply = server.call(kit.echo_request([x]), TIMEOUT_S)
    if isinstance(reply, RpcFailure):
        checks.fail(f"{what}: {endpoint.describe()} should be served, got {reply}")
    kit.check_echo(checks.all_ok(reply, 1, what)[0], x, what)


def refused(endpoint: Endpoint, what: str) -> None:
    """A fresh connection to ``endpoint`` fails with UNAVAILABLE (a refused handshake)."""
    __tracebackhide__ = True
    with Server(endpoint, isolated=True) as server:
        outcome = server.call(kit.echo_request([codec.text_tensor("must not arrive")]), TIMEOUT_S)
    if not isinstance(outcome, RpcFailure):
        checks.fail(f"{what}: the call was served ({checks.describe(outcome)}); it must be refused")
    if outcome.code != grpc.StatusCode.UNAVAILABLE:
        checks.fail(f"{what}: expected UNAVAILABLE, got {outcome}")


def still_handshakes(endpoint: Endpoint, what: str) -> None:
    """The server still completes TLS handshakes (for one whose certificate nobody accepts)."""
    __tracebackhide__ = True
    problem = handshake_once(endpoint, TIMEOUT_S)
    if problem is not None:
        checks.fail(f"{what}: the server stopped serving: {problem}")
