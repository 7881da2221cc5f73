"""client-strict: SHOULD-level: upstream's Python value mappings and error texts.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

from typing import Any

from conformance.drive import ClientSession
from conformance.verify.clients import (
    DEAD_SERVER_BOUND_S,
    client_check,
    dtype_name,
    echo,
    fail,
    plain_problem,
    tensor_text,
)
from protos import ms_service_pb2 as pb
from reference_client.forms import DTYPE_NAMES, numpy_dtype, to_form

# Upstream's Python client: numpy infers the dtype of [value] (protocol.md §5).
_UPSTREAM_PLAIN: tuple[tuple[str, Any, int], ...] = (
    ("int", 7, pb.MS_INT64),
    ("int_min", -(2**63), pb.MS_INT64),
    ("int_max", 2**63 - 1, pb.MS_INT64),
    ("uint_low", 2**63, pb.MS_UINT64),
    ("uint_max", 2**64 - 1, pb.MS_UINT64),
    ("float", 1.5, pb.MS_FLOAT64),
    ("bool", True, pb.MS_BOOL),
    ("str", "text", pb.MS_STRING),
    ("bytes", b"raw", pb.MS_BYTES),
)


@client_check("CL-STRICT-PLAIN-MAPPING")
def test_strict_plain(session: ClientSession) -> None:
    session.server("tcp").respond(echo)
    exchange = session.call("tcp", [{name: to_form(value) for name, value, _ in _UPSTREAM_PLAIN}])
    items = exchange.request().instances[0].items
    for name, value, code in _UPSTREAM_PLAIN:
        tensor = items[name]
        if tensor.dtype != code or list(tensor.shape.dims) != [1]:
            fail(
                exchange,
                f"{type(value).__name__} {value!r:.40} sent as {tensor_text(tensor)}, "
                f"expected {dtype_name(code)} dims [1]",
            )
        problem = plain_problem(value, tensor)
        if problem:
            fail(exchange, f"{name}: {problem}")


@client_check("CL-STRICT-SCALAR-DIMS")
def test_strict_scalar_dims(session: ClientSession) -> None:
    session.server("tcp").respond(echo)
    values = {name: numpy_dtype(name).type(1) for name in DTYPE_NAMES}
    exchange = session.call("tcp", [{n: to_form(v) for n, v in values.items()}])
    items = exchange.request().instances[0].items
    for name in values:
        if list(items[name].shape.dims) != []:
            fail(
                exchange,
                f"a {name} scalar sent with dims {list(items[name].shape.dims)}, expected []",
            )


@client_check("CL-STRICT-RPC-ERROR-TEXT")
def test_strict_rpc_error_text(session: ClientSession) -> None:
    exchange = session.call(
        "tcp",
        [{"x": {"int": "1"}}],
        address=session.dead_address(),
        read_timeout=DEAD_SERVER_BOUND_S + 2,
    )
    result = exchange.answer.result
    prefix = "Grpc Error, (14, 'unavailable'), "
    if not (isinstance(result, dict) and str(result.get("error", "")).startswith(prefix)):
        fail(exchange, f"expected the result {{'error': {prefix!r}...}}")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
