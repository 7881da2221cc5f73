"""Readiness: is a server under test answering yet?

Ready means "answers a Predict": the probe asks for a servable that no server deploys, so any
answer will do, a reply (an error entry included) or any gRPC status but the two that mean "not
there yet" (UNAVAILABLE, DEADLINE_EXCEEDED, which also cover a refused connection). A server
that answers with the wrong status is then run and fails the checks that say so (exit status
1), instead of being reported as never ready (2). A server whose own certificate no client can
accept (the expired one) is ready once it completes a TLS handshake. A server given a
certificate that answers in plaintext is listening too (``or_listening``), and so is one that
completes TLS handshakes with a chain its trust root does not verify (an intermediate left
out): their TLS checks fail.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable

import grpc

from conformance.catalogue import LaunchError
from conformance.drive._endpoints import Endpoint
from conformance.drive._launch import ServerProcess
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


def chain_refused(endpoint: Endpoint, timeout_s: float) -> str | None:
    """Why the endpoint's trust root refuses the certificate chain of a server that completes
    TLS handshakes (an intermediate left out, say), or None: verified, or no handshake to
    judge. The host name is not checked (other checks see to that)."""
    host, _, port = endpoint.address.rpartition(":")
    context = ssl.create_default_context(cafile=endpoint.root_ca)
    context.check_hostname = False
    context.set_alpn_protocols(["h2"])
    if endpoint.client_cert is not None:
        context.load_cert_chain(endpoint.client_cert, endpoint.client_key)
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host.strip("[]")),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        return (
            f"its certificate chain does not verify against the trusted root CA alone "
            f"({exc.verify_message}): does it present the intermediate CA certificate that "
            "follows the leaf in its certificate file?"
        )
    except (OSError, ValueError):
        return None


def or_listening(probe: Probe) -> Probe:
    """``probe``, or for a TLS endpoint whose port takes connections but that the harness's
    client cannot use, proof that the server is up all the same: a port that completes no TLS
    handshake but answers a plaintext Predict (a server that ignores its certificate), or one
    that completes TLS handshakes with a chain the endpoint's root does not verify. Either is
    listening, and fails the TLS checks. A server that does speak TLS never gets a plaintext
    probe (for a server that may stop after refusing one, that would be the harness's doing)."""

    def either(endpoint: Endpoint, timeout_s: float) -> str | None:
        why = probe(endpoint, timeout_s)
        if why is None or not endpoint.is_tls or endpoint.is_unix:
            return why
        connected, refused = _handshake(endpoint, timeout_s)
        if connected and refused is None and chain_refused(endpoint, timeout_s) is not None:
            return None
        not_tls = connected and refused is not None
        if not_tls and predict_once(endpoint.plaintext(), timeout_s) is None:
            return None
        return why

    return either


def refused(endpoint: Endpoint, timeout_s: float) -> str | None:
    """Why nothing can listen at ``endpoint`` now, known at once: "connection refused", or "no
    such socket file" for a unix:PATH; None where something accepts connections (or might:
    a slow network, a name to resolve), which is worth waiting for."""
    try:
        if endpoint.is_unix:
            path = endpoint.address.removeprefix("unix:").removeprefix("//")
            if not os.path.exists(path):
                return f"no such socket file: {path}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
                raw.settimeout(timeout_s)
                raw.connect(path)
        else:
            host, _, port = endpoint.address.rpartition(":")
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except ConnectionRefusedError:
        return f"connection refused at {endpoint.address}"
    except (OSError, ValueError):
        return None
    return None


def fail_if_refused(endpoint: Endpoint) -> None:
    """LaunchError at once for a target that refuses connections (it is not starting)."""
    dead = refused(endpoint, _ATTEMPT_S)
    if dead is not None:
        raise LaunchError(f"target {dead}: is the server running?")


def wait_ready(
    endpoint: Endpoint,
    deadline: float,
    process: ServerProcess | None = None,
    probe: Probe = predict_once,
) -> None:
    """Poll until ``probe`` succeeds; LaunchError if the process exits or time runs out, or
    for a target (no ``process``) that refuses connections: it is not starting, it is not
    there."""
    why = "was never probed"
    while True:
        if process is not None and (status := process.exit_status()) is not None:
            raise process.failure(f"exited with status {status} before it was ready")
        if process is None:
            fail_if_refused(endpoint)
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


__all__ = [
    "NOT_ANSWERED",
    "PROBE_SERVABLE",
    "Probe",
    "chain_refused",
    "fail_if_refused",
    "handshake_once",
    "or_listening",
    "predict_once",
    "probe_request",
    "refused",
    "wait_ready",
]
