"""What the client suites (conformance/suites/test_clients_*.py) share: how a check becomes a
suite test, how it fails, how it compares, and the replies and properties it scripts.

Each client check scripts the recording server, sends calls through the testee and compares the
whole request on the wire and the whole result with what the requirement says, exactly (bit
patterns, not ``==``). Properties draw requests and replies with hypothesis; a failure carries
the call as a command line that replays it to the testee, the testee's stderr, and hypothesis's
reproduction (its falsifying example and ``@reproduce_failure`` blob, as notes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from conformance.catalogue import BY_ID, CLIENT_PROFILE_NAMES, ClientCheckFailed, TesteeFailure
from conformance.drive import ClientSession, Exchange
from conformance.reporting import repro
from conformance.verify import hypo
from conformance.verify.marks import not_applicable, requirement
from protos import codec
from protos import ms_service_pb2 as pb
from reference_client.forms import (
    FormError,
    canonical,
    describe,
    to_form,
)

CLIENT_BY_ID = {i: r for i, r in BY_ID.items() if r.profile in CLIENT_PROFILE_NAMES}
Check = Callable[[ClientSession], None]

DEAD_SERVER_BOUND_S = 5.0  # a call to an address where nothing listens has failed by then


def client_check(requirement_id: str) -> Callable[[Check], Callable[[ClientSession], None]]:
    """Make ``check(session)`` the suite test of a client requirement: marked with its ID,
    given the run's client session, "not applicable" when the testee's hello lacks the
    requirement's feature, and, when it fails, its report gets the last call (replayable) and
    the testee's stderr."""
    if requirement_id not in CLIENT_BY_ID:
        raise LookupError(f"unknown client requirement {requirement_id!r}")
    feature = CLIENT_BY_ID[requirement_id].feature

    def make_test(check: Check) -> Callable[[ClientSession], None]:
        # pytest gives this test its fixture by the parameter's name.
        def test(conformance_client_session: ClientSession) -> None:
            session = conformance_client_session
            if feature is not None and feature not in session.pool.hello.features:
                not_applicable(f"the testee's hello does not declare the feature {feature}")
            session.last_replay = None
            try:
                check(session)
            except Exception:
                # Whatever failed (a comparison, the request count, the testee itself): the
                # report gets the last call, replayable, and the testee's stderr.
                repro.record_client_failure(session.last_replay, session.testee_log())
                raise

        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(test, attribute, getattr(check, attribute))
        marked: Callable[[ClientSession], None] = requirement(requirement_id)(test)
        return marked

    return make_test


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
        return f"dtype {dtype_name(tensor.dtype)}, expected {wire.name}"
    if dims not in want_dims:
        return f"dims {dims}, expected {' or '.join(str(d) for d in want_dims)}"
    if bytes(tensor.data) != want_data:
        sent = bytes(tensor.data)[:32].hex()
        return f"data {sent} differs from {want_data[:32].hex()} (little-endian, C order)"
    if len(tensor.bytes_val):
        return "numeric tensor carries bytes_val"
    return None


def dtype_name(code: int) -> str:
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
# Properties


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
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        + ([Phase.shrink] if hypo.current().shrink else []),
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


def plain_problem(value: Any, tensor: pb.Tensor) -> str | None:
    """Why ``tensor`` does not carry the plain value ``value`` (CL-CORE-REQUEST-PLAIN)."""
    dims = [int(d) for d in tensor.shape.dims]
    if dims not in ([], [1]):
        return f"dims {dims}, expected [] or [1]"
    if isinstance(value, str | bytes):
        want = codec.STRING if isinstance(value, str) else codec.BYTES
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if tensor.dtype != want.code:
            return f"dtype {dtype_name(tensor.dtype)}, expected {want.name}"
        if [bytes(b) for b in tensor.bytes_val] != [raw] or tensor.data:
            return f"bytes_val {[bytes(b) for b in tensor.bytes_val]!r:.80}, expected [{raw!r:.60}]"
        return None
    try:
        row = codec.dtype_of_code(tensor.dtype)
    except codec.CodecError:
        return f"dtype {dtype_name(tensor.dtype)}"
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


__all__ = [
    "CLIENT_BY_ID",
    "DEAD_SERVER_BOUND_S",
    "ClientCheckFailed",
    "client_check",
    "dtype_name",
    "echo",
    "expect_error",
    "expect_results",
    "fail",
    "ok_call",
    "plain_problem",
    "reply_of",
    "run_property",
    "sent_array_problem",
    "tensor_text",
]
