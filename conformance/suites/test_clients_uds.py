"""client-uds: the same client over a unix: address.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

from conformance.drive import ClientSession
from conformance.verify.clients import (
    client_check,
    echo,
    expect_results,
    fail,
    ok_call,
    plain_problem,
)
from reference_client.forms import b64


@client_check("CL-UDS-CALL")
def test_uds_call(session: ClientSession) -> None:
    ok_call(session, "unix")
    session.server("unix").respond(echo)
    exchange = session.call("unix", [{"s": {"str": "ünïx"}, "b": {"bytes": b64(b"\x00\xff")}}])
    items = exchange.request().instances[0].items
    for name, value in (("s", "ünïx"), ("b", b"\x00\xff")):
        problem = plain_problem(value, items[name])
        if problem:
            fail(exchange, f"input {name!r}: {problem}")
    expect_results(exchange, [{"s": {"str": "ünïx"}, "b": {"bytes": b64(b"\x00\xff")}}])


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
