"""One check per client requirement (the catalogue's client-* profiles), run through a testee.

Each check scripts the recording server, sends calls through the testee and compares the whole
request on the wire and the whole result with what the requirement says, exactly (bit patterns,
not ``==``). Properties draw requests and replies with hypothesis; a failure carries the call as
a command line that replays it to the testee, the testee's stderr, and hypothesis's
reproduction (its falsifying example and ``@reproduce_failure`` blob, as notes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from conformance.catalogue import BY_ID, CLIENT_PROFILE_NAMES, ClientCheckFailed, TesteeFailure
from conformance.drive import LIMIT_BYTES, ClientSession, Exchange, Stall, Status
from conformance.reporting import repro
from conformance.verify.marks import not_applicable, requirement
from protos import codec
from protos import ms_service_pb2 as pb
from protos.forms import (
    DTYPE_NAMES,
    FormError,
    b64,
    canonical,
    describe,
    numpy_dtype,
    tensor_to_form,
    to_form,
)

CLIENT_BY_ID = {i: r for i, r in BY_ID.items() if r.profile in CLIENT_PROFILE_NAMES}
Check = Callable[[ClientSession], None]
CHECKS: dict[str, Check] = {}

DEAD_SERVER_BOUND_S = 5.0
DEADLINE_SLACK_S = 3.0
LARGE_BYTES = 6 * 1024 * 1024


def check(requirement_id: str) -> Callable[[Check], Check]:
    if requirement_id not in CLIENT_BY_ID:
        raise LookupError(f"unknown client requirement {requirement_id!r}")

    def register(function: Check) -> Check:
        CHECKS[requirement_id] = function
        return function

    return register


# ---------------------------------------------------------------------------------------------
# Failure reports and comparisons


def fail(exchange: Exchange | None, problem: str) -> None:
    """Fail the check. The call itself and the testee's stderr reach the report apart from
    the message (run_check)."""
    lines = [problem]
    if exchange is not None:
        lines.append(f"the testee answered: {exchange.answer.line[:600]}")
    raise ClientCheckFailed("\n".join(lines))


def expect_error(exchange: Exchange, what: str) -> None:
    """The client must report a failure: a raise or a request-level ``{"error": TEXT}``."""
    if not exchange.answer.is_error:
        fail(exchange, f"{what}: expected an error result or a raise, got a result")


def expect_results(exchange: Exchange, expected: Sequence[Mapping[str, Any]]) -> None:
    """The result must be a list, one entry per instance: ``{"error": TEXT}`` or the outputs."""
    answer = exchange.answer
    if answer.raised is not None:
        fail(exchange, f"the client raised {answer.raised['type']}: {answer.raised['message']}")
    result = answer.result
    if not isinstance(result, list):
        fail(exchange, f"expected a list of {len(expected)} instance results, got {result!r:.300}")
    if len(result) != len(expected):
        fail(exchange, f"expected {len(expected)} instance results, got {len(result)}")
    for index, (got, want) in enumerate(zip(result, expected, strict=True)):
        if not isinstance(got, Mapping):
            fail(exchange, f"instance {index}: expected an object, got {got!r:.200}")
        if set(want) == {"error"}:
            if dict(got) != dict(want):
                fail(
                    exchange,
                    f"instance {index}: expected the error {want!r:.200}, got {got!r:.200}",
                )
            continue
        if set(got) != set(want):
            fail(exchange, f"instance {index}: expected outputs {sorted(want)}, got {sorted(got)}")
        for name, form in want.items():
            try:
                same = canonical(got[name]) == canonical(form)
            except FormError as exc:
                fail(exchange, f"instance {index} output {name!r}: not a value form: {exc}")
            if not same:
                fail(
                    exchange,
                    f"instance {index} output {name!r}: expected {describe(form)}, "
                    f"got {describe(got[name])}",
                )


def tensor_text(tensor: pb.Tensor) -> str:
    name = pb.DataType.Name(tensor.dtype) if tensor.dtype in pb.DataType.values() else tensor.dtype
    data = bytes(tensor.data)
    blobs = [bytes(b)[:24] for b in tensor.bytes_val]
    more = "..." if len(data) > 24 else ""
    dims = list(tensor.shape.dims)
    return f"Tensor(dtype={name}, dims={dims}, data={data[:24]!r}{more}, bytes_val={blobs})"


def sent_array_problem(array: np.ndarray, tensor: pb.Tensor, *, scalar: bool = False) -> str | None:
    """Why ``tensor`` is not ``array`` as the wire carries it (None when it is)."""
    wire = codec.dtype_of_numpy(array.dtype)
    dims = [int(d) for d in tensor.shape.dims]
    want_dims = [[], [1]] if scalar else [[int(d) for d in array.shape]]
    want_data = np.ascontiguousarray(array, dtype=wire.numpy).tobytes()
    if tensor.dtype != wire.code:
        return f"dtype {_dtype_name(tensor.dtype)}, expected {wire.name}"
    if dims not in want_dims:
        return f"dims {dims}, expected {' or '.join(str(d) for d in want_dims)}"
    if bytes(tensor.data) != want_data:
        sent = bytes(tensor.data)[:32].hex()
        return f"data {sent} differs from {want_data[:32].hex()} (little-endian, C order)"
    if len(tensor.bytes_val):
        return "numeric tensor carries bytes_val"
    return None


def _dtype_name(code: int) -> str:
    return pb.DataType.Name(code) if code in pb.DataType.values() else f"code {code}"


def echo(request: pb.PredictRequest) -> pb.PredictReply:
    """Every request instance's items back as the reply instance's outputs."""
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    for instance in request.instances:
        out = reply.instances.add()
        for name, tensor in instance.items.items():
            out.items[name].CopyFrom(tensor)
    return reply


def reply_of(
    instances: Sequence[Mapping[str, pb.Tensor] | None], errors: Sequence[tuple[int, str]] = ()
) -> pb.PredictReply:
    """A reply with these instances (None: an empty, failed one) and error entries."""
    reply = pb.PredictReply()
    for outputs in instances:
        out = reply.instances.add()
        for name, tensor in (outputs or {}).items():
            out.items[name].CopyFrom(tensor)
    for code, text in errors:
        reply.error_msg.add(error_code=code, error_msg=text.encode("utf-8"))
    return reply


SMALL_OK = reply_of([{"y": codec.array_to_tensor(np.arange(2, dtype=np.int32))}])
SMALL_OK_FORM = {"y": to_form(np.arange(2, dtype=np.int32))}


def ok_call(session: ClientSession, kind: str = "tcp", **options: Any) -> Exchange:
    """A plain successful call: one float32 input echoed; fails the check if it does not work."""
    value = np.array([1.5, -0.0, np.inf], dtype=np.float32)
    session.server(kind).respond(echo)
    exchange = session.call(kind, [{"x": to_form(value)}], **options)
    if exchange.requests:
        problem = sent_array_problem(value, exchange.request().instances[0].items["x"])
        if problem:
            fail(exchange, f"input 'x': {problem}")
    expect_results(exchange, [{"x": to_form(value)}])
    return exchange


# ---------------------------------------------------------------------------------------------
# Strategies and properties


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
        st.text(max_size=12),
        st.binary(max_size=12),
    )


def names() -> st.SearchStrategy[str]:
    # "error" is left out: a result holding only "error" is an instance's failure.
    return st.text(min_size=1, max_size=6).filter(lambda n: n != "error")


def run_property(
    session: ClientSession,
    count: int,
    strategy: st.SearchStrategy[Any],
    body: Callable[[Any], None],
) -> None:
    """Run ``body`` on ``count`` drawn examples (derandomized unless the session has a seed).

    A testee that dies or stalls is reported as itself, without shrinking through one fresh
    testee per example: later examples fail at once with a short note.
    """
    first: list[TesteeFailure] = []

    def prop(example: Any) -> None:
        if first:
            raise TesteeFailure("the testee failed on an earlier example")
        try:
            body(example)
        except TesteeFailure as exc:
            first.append(exc)
            raise

    chosen = settings(
        max_examples=max(1, round(count * session.examples)),
        derandomize=session.seed is None,
        database=None,
        deadline=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    test = chosen(given(strategy)(prop))
    if session.seed is not None:
        test = fixed_seed(session.seed)(test)
    try:
        test()
    except TesteeFailure as exc:
        if first:
            cause = TesteeFailure(str(first[0]))
            for note in getattr(exc, "__notes__", []):
                cause.add_note(note)
            raise cause from None
        raise


# ---------------------------------------------------------------------------------------------
# client-core


@check("CL-CORE-HELLO")
def hello(session: ClientSession) -> None:
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


@check("CL-CORE-REQUEST-ARRAYS")
def request_arrays(session: ClientSession) -> None:
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


@check("CL-CORE-REQUEST-SCALARS")
def request_scalars(session: ClientSession) -> None:
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


def plain_problem(value: Any, tensor: pb.Tensor) -> str | None:
    """Why ``tensor`` does not carry the plain value ``value`` (CL-CORE-REQUEST-PLAIN)."""
    dims = [int(d) for d in tensor.shape.dims]
    if dims not in ([], [1]):
        return f"dims {dims}, expected [] or [1]"
    if isinstance(value, str | bytes):
        want = codec.STRING if isinstance(value, str) else codec.BYTES
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if tensor.dtype != want.code:
            return f"dtype {_dtype_name(tensor.dtype)}, expected {want.name}"
        if [bytes(b) for b in tensor.bytes_val] != [raw] or tensor.data:
            return f"bytes_val {[bytes(b) for b in tensor.bytes_val]!r:.80}, expected [{raw!r:.60}]"
        return None
    try:
        row = codec.dtype_of_code(tensor.dtype)
    except codec.CodecError:
        return f"dtype {_dtype_name(tensor.dtype)}"
    kind = "b" if isinstance(value, bool) else "iu" if isinstance(value, int) else "f"
    if row.numpy is None or row.numpy.kind not in kind:
        return f"dtype {row.name} for a {type(value).__name__}"
    if len(tensor.data) != row.itemsize or tensor.bytes_val:
        return f"{len(tensor.data)} data bytes for one {row.name}"
    got = np.frombuffer(bytes(tensor.data), dtype=row.numpy)[0]
    if isinstance(value, float):
        same = (math.isnan(value) and bool(np.isnan(got))) or (
            np.float64(got).tobytes() == np.float64(value).tobytes()
        )
    else:
        same = int(got) == int(value)
    return None if same else f"value {got!r} on the wire, expected {value!r}"


@check("CL-CORE-REQUEST-PLAIN")
def request_plain(session: ClientSession) -> None:
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


@check("CL-CORE-REQUEST-INSTANCES")
def request_instances(session: ClientSession) -> None:
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


@check("CL-CORE-REQUEST-SPEC")
def request_spec(session: ClientSession) -> None:
    session.server("tcp").respond(echo)
    strategy = st.tuples(
        st.text(min_size=1, max_size=10),
        st.text(min_size=1, max_size=10),
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


@check("CL-CORE-REPLY-ARRAYS")
def reply_arrays(session: ClientSession) -> None:
    _reply_property(session, 40, arrays().map(codec.array_to_tensor))


@st.composite
def text_tensors(draw: Any) -> pb.Tensor:
    if draw(st.booleans()):
        items = [
            t.encode("utf-8") for t in draw(st.lists(st.text(max_size=10), min_size=1, max_size=3))
        ]
        code = codec.STRING.code
    else:
        items = draw(st.lists(st.binary(max_size=10), min_size=1, max_size=3))
        code = codec.BYTES.code
    dims = draw(st.sampled_from([[], [1]])) if len(items) == 1 else [len(items)]
    tensor = pb.Tensor(dtype=code, bytes_val=items)
    tensor.shape.dims.extend(dims)
    return tensor


@check("CL-CORE-REPLY-TEXT")
def reply_text(session: ClientSession) -> None:
    _reply_property(session, 30, text_tensors())


@check("CL-CORE-REPLY-ORDER")
def reply_order(session: ClientSession) -> None:
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


@check("CL-CORE-REPLY-REQUEST-ERROR")
def reply_request_error(session: ClientSession) -> None:
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
        st.text(min_size=1, max_size=40),
        st.integers(1, 3),
        st.sampled_from([0, 0, 1, 2]),
    )
    run_property(session, 15, strategy, body)


@check("CL-CORE-REPLY-MIXED")
def reply_mixed(session: ClientSession) -> None:
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

    entry = st.tuples(st.booleans(), st.text(min_size=1, max_size=20))
    mixed = st.lists(entry, min_size=2, max_size=5).filter(
        lambda p: any(ok for ok, _ in p) and not all(ok for ok, _ in p)
    )
    run_property(session, 15, mixed, body)


@check("CL-CORE-REPLY-MALFORMED")
def reply_malformed(session: ClientSession) -> None:
    ok = {"y": codec.array_to_tensor(np.zeros(1, dtype=np.float32))}
    # One entry with code 0 is no request-level error: beside 0 or 2 instances it is malformed.
    for count, errors in ((3, 2), (2, 3), (0, 2), (4, 2), (2, 1), (0, 1)):
        session.server("tcp").respond(reply_of([ok] * count, [(0, "")] * errors))
        exchange = session.call("tcp", [{"x": {"int": str(i)}} for i in range(max(count, 1))])
        expect_error(exchange, f"a reply of {count} instances and {errors} error entries")


def _keeps_serving(session: ClientSession) -> None:
    ok_call(session)


@check("CL-CORE-RPC-STATUS")
def rpc_status(session: ClientSession) -> None:
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
        session.server("tcp").respond(
            Status(code, f"the recording server ends this call: {code.name}")
        )
        expect_error(
            session.call("tcp", [{"x": {"float": "1.0"}}]), f"a call ended with {code.name}"
        )
    _keeps_serving(session)


@check("CL-CORE-SERVER-DOWN")
def server_down(session: ClientSession) -> None:
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


@check("CL-CORE-ASYNC")
def async_calls(session: ClientSession) -> None:
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


@check("CL-CORE-DEADLINE")
def deadline(session: ClientSession) -> None:
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


# ---------------------------------------------------------------------------------------------
# transports


@check("CL-UDS-CALL")
def uds_call(session: ClientSession) -> None:
    ok_call(session, "unix")
    session.server("unix").respond(echo)
    exchange = session.call("unix", [{"s": {"str": "ünïx"}, "b": {"bytes": b64(b"\x00\xff")}}])
    items = exchange.request().instances[0].items
    for name, value in (("s", "ünïx"), ("b", b"\x00\xff")):
        problem = plain_problem(value, items[name])
        if problem:
            fail(exchange, f"input {name!r}: {problem}")
    expect_results(exchange, [{"s": {"str": "ünïx"}, "b": {"bytes": b64(b"\x00\xff")}}])


@check("CL-TLS-CUSTOM-CA")
def tls_custom_ca(session: ClientSession) -> None:
    ok_call(session, "tls")


def _refused(session: ClientSession, kind: str, what: str, **options: Any) -> None:
    server = session.server(kind)
    server.respond(echo)
    exchange = session.call(kind, [{"x": {"int": "1"}}], **options)
    expect_error(exchange, what)
    if exchange.requests:
        fail(exchange, f"{what}: the server received {len(exchange.requests)} request(s)")


@check("CL-TLS-REFUSE-OTHER-CA")
def tls_refuse_other_ca(session: ClientSession) -> None:
    _refused(session, "tls-other-ca", "a server certificate from a CA the client does not trust")
    ok_call(session, "tls")


@check("CL-TLS-REFUSE-WRONG-HOST")
def tls_refuse_wrong_host(session: ClientSession) -> None:
    _refused(session, "tls-wrong-host", "a server certificate for another host name")
    ok_call(session, "tls")


@check("CL-TLS-ROOTS-ENV")
def tls_roots_env(session: ClientSession) -> None:
    # A testee of its own, started with GRPC_DEFAULT_SSL_ROOTS_FILE_PATH naming the run's CA;
    # the calls name no CA. Another CA's certificate must still be refused (no "trust all").
    ok_call(session, "tls", roots_from_env=True)
    _refused(
        session,
        "tls-other-ca",
        "with no CA given, a server certificate from a CA the roots file does not hold",
        roots_from_env=True,
    )


@check("CL-MTLS-CLIENT-CERT")
def mtls_client_cert(session: ClientSession) -> None:
    ok_call(session, "mtls")


# ---------------------------------------------------------------------------------------------
# limits


def _large(count_bytes: int) -> np.ndarray:
    return (np.arange(count_bytes // 4, dtype=np.uint32) * 2654435761).astype(np.uint32)


@check("CL-LIMITS-LARGE-REQUEST")
def large_request(session: ClientSession) -> None:
    array = _large(LARGE_BYTES)
    session.server("tcp").respond(SMALL_OK)
    exchange = session.call("tcp", [{"x": to_form(array)}])
    if not exchange.requests:
        fail(exchange, f"a request of {array.nbytes} bytes never reached the server")
    problem = sent_array_problem(array, exchange.request().instances[0].items["x"])
    if problem:
        fail(exchange, f"input 'x' ({array.nbytes} bytes): {problem}")
    expect_results(exchange, [SMALL_OK_FORM])


@check("CL-LIMITS-LARGE-REPLY")
def large_reply(session: ClientSession) -> None:
    array = _large(LARGE_BYTES)
    session.server("tcp").respond(reply_of([{"y": codec.array_to_tensor(array)}]))
    exchange = session.call("tcp", [{"x": {"int": "1"}}])
    expect_results(exchange, [{"y": to_form(array)}])


@check("CL-LIMITS-RESOURCE-EXHAUSTED")
def resource_exhausted(session: ClientSession) -> None:
    session.server("limits").respond(SMALL_OK)
    array = _large(2 * LIMIT_BYTES)
    exchange = session.call("limits", [{"x": to_form(array)}])
    expect_error(
        exchange, f"a {array.nbytes}-byte request to a server whose limit is {LIMIT_BYTES}"
    )
    ok_call(session, "limits")


# ---------------------------------------------------------------------------------------------
# client-strict (SHOULD)

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


@check("CL-STRICT-PLAIN-MAPPING")
def strict_plain(session: ClientSession) -> None:
    session.server("tcp").respond(echo)
    exchange = session.call("tcp", [{name: to_form(value) for name, value, _ in _UPSTREAM_PLAIN}])
    items = exchange.request().instances[0].items
    for name, value, code in _UPSTREAM_PLAIN:
        tensor = items[name]
        if tensor.dtype != code or list(tensor.shape.dims) != [1]:
            fail(
                exchange,
                f"{type(value).__name__} {value!r:.40} sent as {tensor_text(tensor)}, "
                f"expected {_dtype_name(code)} dims [1]",
            )
        problem = plain_problem(value, tensor)
        if problem:
            fail(exchange, f"{name}: {problem}")


@check("CL-STRICT-SCALAR-DIMS")
def strict_scalar_dims(session: ClientSession) -> None:
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


@check("CL-STRICT-RPC-ERROR-TEXT")
def strict_rpc_error_text(session: ClientSession) -> None:
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


def requirement_params(profile: str) -> list[Any]:
    """One pytest parameter per requirement of a client profile, marked with its ID."""
    return [
        pytest.param(i, marks=requirement(i), id=i)
        for i, r in CLIENT_BY_ID.items()
        if r.profile == profile
    ]


def run_check(session: ClientSession, requirement_id: str) -> None:
    """A client requirement's check; "not applicable" when the testee's hello lacks its feature
    (a testee that cannot say hello fails here)."""
    feature = BY_ID[requirement_id].feature
    if feature is not None and feature not in session.pool.hello.features:
        not_applicable(f"the testee's hello does not declare the feature {feature}")
    session.last_replay = None
    try:
        CHECKS[requirement_id](session)
    except Exception:
        # Whatever failed (a comparison, the request count, the testee itself): the report
        # gets the last call, replayable, and the testee's stderr.
        repro.record_client_failure(session.last_replay, session.testee_log())
        raise


def _all_registered() -> None:
    missing = sorted(set(CLIENT_BY_ID) - set(CHECKS))
    if missing:
        raise AssertionError(f"client requirements without a check: {missing}")


_all_registered()

__all__ = [
    "CHECKS",
    "CLIENT_BY_ID",
    "ClientCheckFailed",
    "echo",
    "reply_of",
    "requirement_params",
    "run_check",
]
