"""client-limits: messages above gRPC's 4 MiB default both ways; a server's RESOURCE_EXHAUSTED.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

import numpy as np

from conformance.drive import LIMIT_BYTES, ClientSession
from conformance.verify.clients import (
    client_check,
    expect_error,
    expect_results,
    fail,
    ok_call,
    reply_of,
    sent_array_problem,
)
from protos import codec
from reference_client.forms import to_form

LARGE_BYTES = 6 * 1024 * 1024  # over gRPC's 4 MiB default, both ways
SMALL_OK = reply_of([{"y": codec.array_to_tensor(np.arange(2, dtype=np.int32))}])
SMALL_OK_FORM = {"y": to_form(np.arange(2, dtype=np.int32))}


def _large(count_bytes: int) -> np.ndarray:
    return (np.arange(count_bytes // 4, dtype=np.uint32) * 2654435761).astype(np.uint32)


@client_check("CL-LIMITS-LARGE-REQUEST")
def test_large_request(session: ClientSession) -> None:
    array = _large(LARGE_BYTES)
    session.server("tcp").respond(SMALL_OK)
    exchange = session.call("tcp", [{"x": to_form(array)}])
    if not exchange.requests:
        fail(exchange, f"a request of {array.nbytes} bytes never reached the server")
    problem = sent_array_problem(array, exchange.request().instances[0].items["x"])
    if problem:
        fail(exchange, f"input 'x' ({array.nbytes} bytes): {problem}")
    expect_results(exchange, [SMALL_OK_FORM])


@client_check("CL-LIMITS-LARGE-REPLY")
def test_large_reply(session: ClientSession) -> None:
    array = _large(LARGE_BYTES)
    session.server("tcp").respond(reply_of([{"y": codec.array_to_tensor(array)}]))
    exchange = session.call("tcp", [{"x": {"int": "1"}}])
    expect_results(exchange, [{"y": to_form(array)}])


@client_check("CL-LIMITS-RESOURCE-EXHAUSTED")
def test_resource_exhausted(session: ClientSession) -> None:
    session.server("limits").respond(SMALL_OK)
    array = _large(2 * LIMIT_BYTES)
    exchange = session.call("limits", [{"x": to_form(array)}])
    expect_error(
        exchange, f"a {array.nbytes}-byte request to a server whose limit is {LIMIT_BYTES}"
    )
    ok_call(session, "limits")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
