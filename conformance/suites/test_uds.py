"""uds: the same calls over a unix domain socket."""

from __future__ import annotations

import os
import socket
import tempfile
import time

from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import LaunchError
from conformance.drive import (
    Endpoint,
    RunContext,
    ServerProcess,
    ServerSettings,
    short_unix_address,
    wait_ready,
)
from conformance.suites.test_core_concurrency import assert_concurrent, payloads
from conformance.verify import assertions, compare, kit
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.wire import Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb


@requirement("UDS-ECHO-ROUNDTRIP")
@examples(25)
@given(xs=st.lists(gen.tensors(), min_size=1, max_size=4))
def test_echo_roundtrip(conformance_uds: Target, xs: list[pb.Tensor]) -> None:
    request = kit.echo_request(xs)
    reply = conformance_uds.predict(request)
    instances = assertions.assert_all_ok(reply, len(xs), "echo")
    for index, (instance, x) in enumerate(zip(instances, xs, strict=True)):
        kit.assert_echo(instance, x, f"echo over unix, instance {index}")
    compare.check(request, reply, "echo over unix")


@requirement("UDS-ERRORS")
def test_errors(conformance_uds: Target) -> None:
    x = codec.text_tensor("uds")
    unknown_request = make_request("no-such-servable", kit.ECHO, [{"x": x}])
    unknown = conformance_uds.predict(unknown_request)
    kit.refused(conformance_uds, unknown, "an unknown servable over unix")
    compare.check(unknown_request, unknown, "an unknown servable over unix")
    missing_request = make_request(kit.CONFORMANCE, kit.ECHO, [{"x": x}, {}])
    missing = conformance_uds.predict(missing_request)
    kit.refused(conformance_uds, missing, "a missing input over unix")
    compare.check(missing_request, missing, "a missing input over unix")
    for errors in (["", "uds failure", ""], ["uds failure"]):
        request = kit.fail_request([x] * len(errors), errors)
        reply = conformance_uds.predict(request)
        what = f"fail over unix with errors {errors}"
        kit.assert_fail_errors(
            assertions.assert_failure_pattern(reply, [bool(e) for e in errors], what), errors, what
        )
        compare.check(request, reply, what)


@requirement("UDS-CONCURRENT-NO-MIXUP")
@examples(2, shrink=False)
@given(batches=payloads())
def test_concurrent_no_mixup(conformance_uds: Target, batches: list[list[pb.Tensor]]) -> None:
    assert_concurrent(conformance_uds, batches)


READY_S = 60.0  # a launched server's start-up, as long as the harness's own launches may take


@requirement("UDS-STALE-SOCKET")
def test_stale_socket_replaced(conformance_context: RunContext) -> None:
    # docs/protocol.md#transport: a socket file left by a server that is gone is replaced. The
    # harness leaves one (bound, never listened on, closed) and starts another server there.
    if conformance_context.mode != "server-cmd":
        not_applicable("the harness starts the server itself only with --server-cmd")
    folder = tempfile.mkdtemp(prefix="stale-", dir=conformance_context.scratch)
    address = short_unix_address(folder)
    path = address[len("unix:") :]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(path)
    assert os.path.exists(path), "the harness could not leave a stale socket file"
    process = ServerProcess(
        "uds-stale", conformance_context.subject, ServerSettings(address=address), folder
    )
    try:
        endpoint = Endpoint("uds-stale", address)
        try:
            wait_ready(endpoint, time.monotonic() + READY_S, process)
        except LaunchError as exc:
            assertions.fail(f"a server started on {address} over a stale socket file: {exc}")
        x = codec.text_tensor("after a stale socket")
        request = kit.echo_request([x])
        with Target(endpoint) as target:
            reply = target.predict(request)
        (instance,) = assertions.assert_all_ok(reply, 1, "echo over a replaced socket file")
        kit.assert_echo(instance, x, "echo over a replaced socket file")
        compare.check(request, reply, "echo over a replaced socket file")
    finally:
        process.stop()


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
