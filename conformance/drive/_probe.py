"""Readiness: is a server under test answering yet?

Ready means "answers a Predict": the probe asks for a servable that no server deploys, so any
answer will do, a reply (an error entry included) or any gRPC status but the two that mean "not
there yet" (UNAVAILABLE, DEADLINE_EXCEEDED, which also cover a refused connection). A server
that answers with the wrong status is then run and fails the checks that say so (exit status
1), instead of being reported as never ready (2). A server whose own certificate no client can
accept (the expired one) is ready once it completes a TLS handshake. A server given a
certificate that answers in plaintext is listening too (``or_plaintext``): its TLS checks fail.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import grpc

from conformance.drive._endpoints import Endpoint
from conformance.drive._launch import LaunchError, ServerProcess
from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc

PROBE_SERVABLE = "conformance-readiness-probe"
_ATTEMPT_S = 1.0
_MIN_PERIOD_S = 0.1
# The statuses of a server that is not (yet) listening or answering.
NOT_ANSWERED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def probe_request() -> pb.PredictRequest:
    request = pb.PredictRequest(
        servable_spec=pb.ServableSpec(name=PROBE_SERVABLE, method_name="probe")
    )
    request.instances.add()  # never zero instances: upstream would not answer that
    return request


def predict_once(endpoint: Endpoint, timeout_s: float) -> str | None:
    """None if the server answered a Predict (any status but NOT_ANSWERED), else why not."""
    with endpoint.open_channel(isolated=True) as channel:
        stub = ms_service_pb2_grpc.MSServiceStub(channel)
        try:
            stub.Predict(probe_request(), timeout=timeout_s, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() in NOT_ANSWERED:
                return f"{exc.code().name}: {exc.details()}"
    return None


def _handshake(endpoint: Endpoint, timeout_s: float) -> tuple[bool, str | None]:
    """(connected, why the TLS handshake failed or None): the server certificate is not checked;
    the endpoint's client certificate, if any, is offered (a mutual-TLS server completes)."""
    host, _, port = endpoint.address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    if endpoint.client_cert is not None:
        context.load_cert_chain(endpoint.client_cert, endpoint.client_key)
    try:
        raw = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s)
    except (OSError, ValueError) as exc:
        return False, f"TLS handshake failed: {exc}"
    try:
        with raw, context.wrap_socket(raw, server_hostname=host.strip("[]")):
            return True, None
    except (OSError, ValueError) as exc:
        return True, f"TLS handshake failed: {exc}"


def handshake_once(endpoint: Endpoint, timeout_s: float) -> str | None:
    """None if the server completed a TLS handshake (certificate not checked), else why not."""
    return _handshake(endpoint, timeout_s)[1]


Probe = Callable[[Endpoint, float], "str | None"]


def or_plaintext(probe: Probe) -> Probe:
    """``probe``, or for a TLS endpoint whose port takes connections but completes no TLS
    handshake, a plaintext Predict answered there: a server that ignores its certificate is
    listening, and fails the TLS checks. A server that does speak TLS never gets a plaintext
    probe (for a server that may stop after refusing one, that would be the harness's doing)."""

    def either(endpoint: Endpoint, timeout_s: float) -> str | None:
        why = probe(endpoint, timeout_s)
        if why is None or not endpoint.is_tls or endpoint.is_unix:
            return why
        connected, refused = _handshake(endpoint, timeout_s)
        not_tls = connected and refused is not None
        if not_tls and predict_once(endpoint.plaintext(), timeout_s) is None:
            return None
        return why

    return either


def wait_ready(
    endpoint: Endpoint,
    deadline: float,
    process: ServerProcess | None = None,
    probe: Probe = predict_once,
) -> None:
    """Poll until ``probe`` succeeds; LaunchError if the process exits or time runs out."""
    why = "was never probed"
    while True:
        if process is not None and (status := process.exit_status()) is not None:
            raise process.failure(f"exited with status {status} before it was ready")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = (
                f"did not answer a Predict at {endpoint.describe()} within the ready timeout "
                f"(last attempt: {why})"
            )
            if process is not None:
                raise process.failure(message)
            raise LaunchError(f"target {message}")
        started = time.monotonic()
        problem = probe(endpoint, min(_ATTEMPT_S, remaining))
        if problem is None:
            return
        why = problem
        # A refused connection fails at once: pace the attempts instead of spinning.
        pause = min(_MIN_PERIOD_S - (time.monotonic() - started), deadline - time.monotonic())
        if pause > 0:
            time.sleep(pause)
