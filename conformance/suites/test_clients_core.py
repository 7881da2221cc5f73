"""client-core: request encoding, reply decoding, failed calls, async calls and deadlines over TCP.

A client certified through its testee (``--client-cmd``): one test per requirement, each
scripting the harness's recording servers, calling through the testee and comparing what
arrived and what the testee answered. ``@client_check`` (conformance.verify.clients) makes each
check a test of its requirement, given the run's client session.
"""

from __future__ import annotations

import math
from typing import Any

import grpc
import numpy as np
from hypothesis import strategies as st

from conformance.drive import ClientSession, Stall, Status
from conformance.verify import strategies as gen
from conformance.verify.clients import (
    DEAD_SERVER_BOUND_S,
    client_check,
    echo,
    expect_error,
    expect_results,
    fail,
    ok_call,
    plain_problem,
    reply_of,
    run_property,
    sent_array_problem,
)
from protos import codec
from protos import ms_service_pb2 as pb
from reference_client.forms import DTYPE_NAMES, numpy_dtype, tensor_to_form, to_form

DEADLINE_SLACK_S = 3.0  # a call with a timeout has failed this long after it


# ---------------------------------------------------------------------------------------------
# Strategies


@st.composite
def arrays(draw: Any, max_rank: int = 6, max_side: int = 3) -> np.ndarray:
    """A numpy array of any wire dtype and shape (0-d and empty included), any bit pattern."""
    name = draw(st.sampled_from(DTYPE_NAMES))
    dtype = numpy_dtype(name)
    rank = draw(st.integers(0, max_rank))
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=rank, max_size=rank)))
    count = math.prod(shape)
    if name == "bool":  # MS_BOOL holds 0 or 1
        data = bytes(draw(st.lists(st.integers(0, 1), min_size=count, max_size=count)))
    else:
        data = draw(st.binary(min_size=count * dtype.itemsize, max_size=count * dtype.itemsize))
    return np.frombuffer(data, dtype=dtype).reshape(shape)


@st.composite
def typed_scalars(draw: Any) -> np.generic:
    name = draw(st.sampled_from(DTYPE_NAMES))
    dtype = numpy_dtype(name)
    if name == "bool":
        data = bytes([draw(st.integers(0, 1))])
    else:
        data = draw(st.binary(min_size=dtype.itemsize, max_size=dtype.itemsize))
    value: np.generic = np.frombuffer(data, dtype=dtype)[0]
    return value


def plain_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        gen.texts(max_size=12),
        st.binary(max_size=12),
    )


def names() -> st.SearchStrategy[str]:
    # "error" is left out: a result holding only "error" is an instance's failure.
    return gen.texts(min_size=1, max_size=6).filter(lambda n: n != "error")


# ---------------------------------------------------------------------------------------------
# The checks


@client_check("CL-CORE-HELLO")
def test_hello(session: ClientSession) -> None:
    found = session.pool.hello  # parse_hello's own checks; a TesteeFailure fails this check
    if not found.client.strip():
        fail(None, "the hello names no client")
    # A failing call must not put anything but its answer on stdout (upstream's client prints).
    expect_error(
        session.call("tcp", [{"x": {"int": "1"}}], address=session.dead_address()),
        "a call to a dead server",
    )
    session.server("tcp").respond(Status(grpc.StatusCode.INTERNAL, "recorded failure"))
    expect_error(session.call("tcp", [{"x": {"int": "1"}}]), "a call the server fails")
    ok_call(session)


@client_check("CL-CORE-REQUEST-ARRAYS")
def test_request_arrays(session: ClientSession) -> None:
    session.server("tcp").respond(echo)

    def body(instances: list[dict[str, np.ndarray]]) -> None:
        exchange = session.call("tcp", [{n: to_form(a) for n, a in i.items()} for i in instances])
        request = exchange.request()
        for index, instance in enumerate(instances):
            for name, array in instance.items():
                problem = sent_array_problem(array, request.instances[index].items[name])
                if problem:
                    fail(
                        exchange,
                        f"instance {index} input {name!r} ({array.dtype}"
                        f"{list(array.shape)}): {problem}",
                    )

    strategy = st.lists(
        st.dictionaries(names(), arrays(), min_size=1, max_size=3), min_size=1, max_size=3
    )
    run_property(session, 40, strategy, body)


@client_check("CL-CORE-REQUEST-SCALARS")
def test_request_scalars(session: ClientSession) -> None:
    session.server("tcp").respond(echo)

    def body(values: dict[str, np.generic]) -> None:
        exchange = session.call("tcp", [{n: to_form(v) for n, v in values.items()}])
        items = exchange.request().instances[0].items
        for name, value in values.items():
            problem = sent_array_problem(np.asarray(value), items[name], scalar=True)
            if problem:
                fail(exchange, f"input {name!r} ({value.dtype} scalar): {problem}")

    run_property(
        session, 25, st.dictionaries(names(), typed_scalars(), min_size=1, max_size=4), body
    )


@client_check("CL-CORE-REQUEST-PLAIN")
def test_request_plain(session: ClientSession) -> None:
    session.server("tcp").respond(echo)

    def body(values: dict[str, Any]) -> None:
        exchange = session.call("tcp", [{n: to_form(v) for n, v in values.items()}])
        items = exchange.request().instances[0].items
        for name, value in values.items():
            problem = plain_problem(value, items[name])
            if problem:
                fail(exchange, f"input {name!r} = {to_form(value)!r:.80}: {problem}")

    run_property(
        session, 40, st.dictionaries(names(), plain_values(), min_size=1, max_size=5), body
    )


@client_check("CL-CORE-REQUEST-INSTANCES")
def test_request_instances(session: ClientSession) -> None:
    session.server("tcp").respond(echo)

    def body(layout: list[list[str]]) -> None:
        values = [
            {name: np.array([index, slot], dtype=np.int32) for slot, name in enumerate(names_)}
            for index, names_ in enumerate(layout)
        ]
        exchange = session.call("tcp", [{n: to_form(a) for n, a in i.items()} for i in values])
        request = exchange.request()
        if len(request.instances) != len(values):
            fail(exchange, f"{len(request.instances)} instances sent, expected {len(values)}")
        for index, (sent, want) in enumerate(zip(request.instances, values, strict=True)):
            if set(sent.items) != set(want):
                fail(
                    exchange,
                    f"instance {index}: inputs {sorted(sent.items)}, expected {sorted(want)}",
                )
            for name, array in want.items():
                problem = sent_array_problem(array, sent.items[name])
                if problem:
                    fail(
                        exchange,
                        f"instance {index} input {name!r} (holding [{index}, ...]): {problem}",
                    )

    layout = st.lists(
        st.lists(names(), min_size=1, max_size=3, unique=True), min_size=1, max_size=5
    )
    run_property(session, 25, layout, body)


@client_check("CL-CORE-REQUEST-SPEC")
def test_request_spec(session: ClientSession) -> None:
    session.server("tcp").respond(echo)
    strategy = st.tuples(
        gen.texts(min_size=1, max_size=10),
        gen.texts(min_size=1, max_size=10),
        st.one_of(st.just(0), st.integers(1, 3), st.integers(0, 2**53 - 1)),
    )

    def body(spec: tuple[str, str, int]) -> None:
        servable, method, version = spec
        exchange = session.call(
            "tcp", [{"x": {"int": "1"}}], servable=servable, method=method, version=version
        )
        got = exchange.request().servable_spec
        if (got.name, got.method_name, got.version_number) != spec:
            fail(
                exchange,
                f"servable_spec ({got.name!r}, {got.method_name!r}, "
                f"{got.version_number}) sent, expected {spec!r}",
            )

    run_property(session, 20, strategy, body)


def _reply_property(
    session: ClientSession, count: int, tensors: st.SearchStrategy[pb.Tensor]
) -> None:
    outputs = st.dictionaries(names(), tensors, min_size=1, max_size=3)

    def body(instances: list[dict[str, pb.Tensor]]) -> None:
        session.server("tcp").respond(reply_of(instances))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(len(instances))])
        expect_results(exchange, [{n: tensor_to_form(t) for n, t in i.items()} for i in instances])

    run_property(session, count, st.lists(outputs, min_size=1, max_size=3), body)


@client_check("CL-CORE-REPLY-ARRAYS")
def test_reply_arrays(session: ClientSession) -> None:
    _reply_property(session, 40, arrays().map(codec.array_to_tensor))


@st.composite
def text_tensors(draw: Any) -> pb.Tensor:
    if draw(st.booleans()):
        items = [
            t.encode("utf-8")
            for t in draw(st.lists(gen.texts(max_size=10), min_size=1, max_size=3))
        ]
        code = codec.STRING.code
    else:
        items = draw(st.lists(st.binary(max_size=10), min_size=1, max_size=3))
        code = codec.BYTES.code
    dims = draw(st.sampled_from([[], [1]])) if len(items) == 1 else [len(items)]
    tensor = pb.Tensor(dtype=code, bytes_val=items)
    tensor.shape.dims.extend(dims)
    return tensor


@client_check("CL-CORE-REPLY-TEXT")
def test_reply_text(session: ClientSession) -> None:
    _reply_property(session, 30, text_tensors())


@client_check("CL-CORE-REPLY-ORDER")
def test_reply_order(session: ClientSession) -> None:
    def body(count: int) -> None:
        instances = [
            {
                "y": codec.array_to_tensor(np.full((2,), index, dtype=np.int64)),
                f"z{index}": codec.text_tensor(f"instance {index}"),
            }
            for index in range(count)
        ]
        session.server("tcp").respond(reply_of(instances))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(count)])
        expect_results(exchange, [{n: tensor_to_form(t) for n, t in i.items()} for i in instances])

    run_property(session, 6, st.integers(2, 7), body)


@client_check("CL-CORE-REPLY-REQUEST-ERROR")
def test_reply_request_error(session: ClientSession) -> None:
    # Upstream's rule: one error entry with a non-zero code is the request's error, whatever
    # the reply's instance count (servers send none; a reply may carry some).
    def body(case: tuple[int, str, int, int]) -> None:
        code, text, sent, carried = case
        session.server("tcp").respond(reply_of([None] * carried, [(code, text)]))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(sent)])
        answer = exchange.answer
        if answer.result != {"error": text}:
            fail(
                exchange,
                f"a reply of {carried} instances and one error (code {code}): expected the "
                f"request-level error result {{'error': {text!r:.100}}}",
            )

    strategy = st.tuples(
        st.integers(1, 2**62).filter(bool),
        gen.texts(min_size=1, max_size=40),
        st.integers(1, 3),
        st.sampled_from([0, 0, 1, 2]),
    )
    run_property(session, 15, strategy, body)


@client_check("CL-CORE-REPLY-MIXED")
def test_reply_mixed(session: ClientSession) -> None:
    def body(pattern: list[tuple[bool, str]]) -> None:
        instances: list[dict[str, pb.Tensor] | None] = []
        errors: list[tuple[int, str]] = []
        expected: list[dict[str, Any]] = []
        for index, (ok, text) in enumerate(pattern):
            if ok:
                tensor = codec.array_to_tensor(np.array([index], dtype=np.float64))
                instances.append({"y": tensor})
                errors.append((0, ""))
                expected.append({"y": tensor_to_form(tensor)})
            else:
                instances.append(None)
                errors.append((3, text))
                expected.append({"error": text})
        session.server("tcp").respond(reply_of(instances, errors))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(len(pattern))])
        expect_results(exchange, expected)

    entry = st.tuples(st.booleans(), gen.texts(min_size=1, max_size=20))
    mixed = st.lists(entry, min_size=2, max_size=5).filter(
        lambda p: any(ok for ok, _ in p) and not all(ok for ok, _ in p)
    )
    run_property(session, 15, mixed, body)


@client_check("CL-CORE-REPLY-MALFORMED")
def test_reply_malformed(session: ClientSession) -> None:
    ok = {"y": codec.array_to_tensor(np.zeros(1, dtype=np.float32))}
    # One entry with code 0 is no request-level error: beside 0 or 2 instances it is malformed.
    for count, errors in ((3, 2), (2, 3), (0, 2), (4, 2), (2, 1), (0, 1)):
        session.server("tcp").respond(reply_of([ok] * count, [(0, "")] * errors))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(max(count, 1))])
        expect_error(exchange, f"a reply of {count} instances and {errors} error entries")


def _keeps_serving(session: ClientSession) -> None:
    ok_call(session)


@client_check("CL-CORE-RPC-STATUS")
def test_rpc_status(session: ClientSession) -> None:
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
        session.server("tcp").respond(
            Status(code, f"the recording server ends this call: {code.name}")
        )
        expect_error(
            session.call("tcp", [{"x": {"float": "1.0"}}]), f"a call ended with {code.name}"
        )
    _keeps_serving(session)


@client_check("CL-CORE-SERVER-DOWN")
def test_server_down(session: ClientSession) -> None:
    exchange = session.call(
        "tcp",
        [{"x": {"int": "1"}}],
        address=session.dead_address(),
        read_timeout=DEAD_SERVER_BOUND_S + 2,
    )
    expect_error(exchange, "a call to an address where nothing listens")
    if exchange.answer.seconds > DEAD_SERVER_BOUND_S:
        fail(
            exchange,
            f"answered after {exchange.answer.seconds:.1f} s (bound {DEAD_SERVER_BOUND_S:g} s)",
        )
    _keeps_serving(session)


@client_check("CL-CORE-ASYNC")
def test_async_calls(session: ClientSession) -> None:
    tensor = codec.array_to_tensor(np.array([[1, 2]], dtype=np.uint16))
    session.server("tcp").respond(reply_of([{"y": tensor}, None], [(0, ""), (2, "second failed")]))
    exchange = session.call("tcp", [{"x": {"int": "0"}}, {"x": {"int": "1"}}], use_async=True)
    expect_results(exchange, [{"y": tensor_to_form(tensor)}, {"error": "second failed"}])
    ok_call(session, use_async=True)
    exchange = session.call(
        "tcp",
        [{"x": {"int": "1"}}],
        address=session.dead_address(),
        use_async=True,
        read_timeout=DEAD_SERVER_BOUND_S + 2,
    )
    expect_error(exchange, "an asynchronous call to a dead server")


@client_check("CL-CORE-DEADLINE")
def test_deadline(session: ClientSession) -> None:
    server = session.server("tcp")
    timeout = 1.0
    server.respond(Stall(60.0, reply_of([])))
    try:
        for use_async in (False, True) if "async" in session.pool.hello.features else (False,):
            exchange = session.call(
                "tcp",
                [{"x": {"int": "1"}}],
                timeout=timeout,
                use_async=use_async,
                read_timeout=timeout + DEADLINE_SLACK_S + 1,
            )
            expect_error(exchange, f"a call with timeout {timeout:g} s to a stalled server")
            if exchange.answer.seconds > timeout + DEADLINE_SLACK_S:
                fail(exchange, f"answered after {exchange.answer.seconds:.1f} s")
    finally:
        server.release()
    _keeps_serving(session)


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
