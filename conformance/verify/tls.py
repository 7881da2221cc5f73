"""Helpers of the tls and mtls profiles: a refused handshake, and "the server still serves"."""

from __future__ import annotations

import grpc

from conformance.drive import Endpoint, chain_refused, handshake_once
from conformance.verify import assertions, kit
from conformance.verify.wire import RpcFailure, Target
from protos import codec

TIMEOUT_S = 20.0  # a fresh TLS connection each: handshakes are slow on a loaded machine
REFUSAL_ATTEMPTS = 3  # a refusal is checked on this many fresh connections


def assert_served(endpoint: Endpoint, what: str) -> None:
    """A fresh connection to ``endpoint`` gets a correct echo."""
    __tracebackhide__ = True
    if endpoint.is_tls and not endpoint.is_unix:
        # Said at once and plainly: gRPC would only wait for a connection it never gets.
        chain = chain_refused(endpoint, TIMEOUT_S)
        if chain is not None:
            assertions.fail(f"{what}: {endpoint.describe()} should be served, but {chain}")
    x = codec.text_tensor(f"{what} over {endpoint.describe()}")
    with Target(endpoint, isolated=True) as server:
        reply = server.call(kit.echo_request([x]), TIMEOUT_S)
    if isinstance(reply, RpcFailure):
        assertions.fail(f"{what}: {endpoint.describe()} should be served, got {reply}")
    kit.assert_echo(assertions.assert_all_ok(reply, 1, what)[0], x, what)


def assert_refused(endpoint: Endpoint, what: str) -> None:
    """Fresh connections to ``endpoint`` fail with UNAVAILABLE (a refused handshake), every one
    of REFUSAL_ATTEMPTS: a connection that failed for another reason (a busy server dropping
    it) also reads UNAVAILABLE, and alone it would hide a server that accepts what it must
    refuse."""
    __tracebackhide__ = True
    request = kit.echo_request([codec.text_tensor("must not arrive")])
    for _ in range(REFUSAL_ATTEMPTS):
        with Target(endpoint, isolated=True) as server:
            # No wait for ready: the refused handshake itself is the answer.
            outcome = server.call(request, TIMEOUT_S, wait_for_ready=False)
        if not isinstance(outcome, RpcFailure):
            assertions.fail(
                f"{what}: the call was served ({assertions.describe(outcome)}); it must be refused"
            )
        if outcome.code != grpc.StatusCode.UNAVAILABLE:
            assertions.fail(f"{what}: expected UNAVAILABLE, got {outcome}")


def assert_still_handshakes(endpoint: Endpoint, what: str) -> None:
    """The server still completes TLS handshakes (for one whose certificate nobody accepts)."""
    __tracebackhide__ = True
    problem = handshake_once(endpoint, TIMEOUT_S)
    if problem is not None:
        assertions.fail(f"{what}: the server stopped serving: {problem}")


__all__ = [
    "TIMEOUT_S",
    "assert_refused",
    "assert_served",
    "assert_still_handshakes",
]
