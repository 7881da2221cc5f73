"""The kit's servables as the suites see them (docs/protocol.md#kit-servables): names,
versions, request builders and the assertions on what each method returns."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from conformance.reporting import repro
from conformance.verify import assertions
from conformance.verify.wire import RpcFailure, Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb

CONFORMANCE = "conformance"
ECHO, FAIL = "echo", "fail"
CONFORMANCE_VERSIONS = (1, 2)
LATEST = 2
ADD = "add"
ADD_COMMON, ADD_CAST = "add_common", "add_cast"
ADD_VERSIONS = (1,)
SERVABLES = {CONFORMANCE: (ECHO, FAIL), ADD: (ADD_COMMON, ADD_CAST)}
MODEL_INPUT_BYTES = 16  # add_common behaves as a model with two float32 [2,2] inputs

CONCURRENT_THREADS = 8


def echo_request(xs: Sequence[pb.Tensor], version: int = 0) -> pb.PredictRequest:
    return make_request(CONFORMANCE, ECHO, [{"x": x} for x in xs], version)


def fail_request(
    xs: Sequence[pb.Tensor], errors: Sequence[str], version: int = 0
) -> pb.PredictRequest:
    instances = [{"x": x, "error": codec.text_tensor(e)} for x, e in zip(xs, errors, strict=True)]
    return make_request(CONFORMANCE, FAIL, instances, version)


def add_request(method: str, pairs: Sequence[tuple[pb.Tensor, pb.Tensor]]) -> pb.PredictRequest:
    return make_request(ADD, method, [{"x1": a, "x2": b} for a, b in pairs])


def assert_echo(
    instance: pb.Instance, sent: pb.Tensor, where: str, version: int | None = None
) -> None:
    """echo's outputs: y is x bit-exactly; version (if given) is the serving version."""
    __tracebackhide__ = True
    assertions.assert_same_tensor(
        assertions.assert_output(instance, "y", where), sent, f"{where}, output y"
    )
    if version is not None:
        got = assertions.assert_int64_scalar(
            assertions.assert_output(instance, "version", where), f"{where}, version"
        )
        if got != version:
            assertions.fail(f"{where}: version output {got}, expected {version}")


def assert_fail_errors(
    got: Sequence[assertions.InstanceResult], errors: Sequence[str], where: str
) -> None:
    """Each instance that ``fail`` failed carries a text containing its ``error`` verbatim
    (docs/protocol.md#kit-servables). A reply collapsed to one error gives that error to every
    instance, so it passes only if every instance failed with that same error."""
    __tracebackhide__ = True
    collapsed = len(got) > 1 and all(outcome is got[0] for outcome in got)
    note = " (the reply's one error, standing for every instance)" if collapsed else ""
    for index, (outcome, error) in enumerate(zip(got, errors, strict=True)):
        if isinstance(outcome, assertions.Failed) and error not in outcome.text:
            assertions.fail(
                f"{where}: instance {index} failed with ({outcome.code}, {outcome.text!r}){note}; "
                f"its text must contain the error it was given, {error!r}, verbatim"
            )


# The well-formed call that proves a server still serves: float32 values whose bits a server
# that mangles data would change (a sign on zero, a fraction).
_PROOF = codec.array_to_tensor(np.array([1.5, -0.0, -10.0], dtype="<f4"))


def still_serves(server: Target, when: str) -> None:
    """``server`` answers a well-formed echo exactly. The failure report still reproduces the
    request sent before (repro.kept)."""
    __tracebackhide__ = True
    with repro.kept():
        reply = server.call(echo_request([_PROOF]), note=False)
    if isinstance(reply, RpcFailure):
        assertions.fail(f"a well-formed echo {when} ended with {reply}")
    if reply.error_msg or len(reply.instances) != 1:
        assertions.fail(f"a well-formed echo {when} got {assertions.describe(reply)}")
    assert_echo(reply.instances[0], _PROOF, f"a well-formed echo {when}")


def refused(
    server: Target, reply: pb.PredictReply, what: str, *, any_code: bool = False
) -> assertions.Failed:
    """The request-level error of ``reply`` (code 2, INVALID_INPUTS; any non-zero code with
    ``any_code``), credited only if ``server`` then answers a well-formed echo exactly."""
    __tracebackhide__ = True
    if any_code:
        error = assertions.assert_request_error(reply, what)
    else:
        error = assertions.assert_invalid_inputs(reply, what)
    # A refusal alone proves no check was made: a server whose worker died refuses everything
    # (upstream answers code 2 or 5, `servable is not available`, until a new worker serves).
    # So the same server must serve the very next call; a health check after the whole check
    # would miss a server that recovers meanwhile.
    refusal = f"({error.code}, {error.text[:120]!r})"
    still_serves(
        server,
        f"right after the refusal of {what} {refusal} (a refusal counts only from a server that "
        "still serves)",
    )
    return error


def as_float32(tensor: pb.Tensor) -> np.ndarray:
    """A numeric tensor's values converted to float32 (bools as 0/1)."""
    return codec.tensor_to_array(tensor).astype(np.float32)


def assert_float32_sum(
    instance: pb.Instance,
    x1: pb.Tensor,
    x2: pb.Tensor,
    dims: Sequence[int],
    where: str,
) -> None:
    """y is float32(x1) + float32(x2) with ``dims`` (NaN compares equal to NaN)."""
    __tracebackhide__ = True
    y = assertions.assert_output(instance, "y", where)
    if y.dtype != pb.MS_FLOAT32 or list(y.shape.dims) != list(dims):
        assertions.fail(
            f"{where}: y should be MS_FLOAT32 dims {list(dims)}, got {assertions.tensor_summary(y)}"
        )
    with np.errstate(all="ignore"):
        expected = (as_float32(x1).ravel() + as_float32(x2).ravel()).astype(np.float32)
    got = codec.tensor_to_array(y).ravel()
    if not np.array_equal(got, expected, equal_nan=True):
        assertions.fail(f"{where}: y = {got.tolist()}, expected x1 + x2 = {expected.tolist()}")


def run_concurrently(
    server: Target, requests: Sequence[pb.PredictRequest], timeout_s: float = 30.0
) -> list[pb.PredictReply]:
    """Send every request at once from a bounded pool; replies in request order."""
    with ThreadPoolExecutor(max_workers=CONCURRENT_THREADS) as pool:
        futures = [pool.submit(server.predict, r, timeout_s, note=False) for r in requests]
        return [future.result(timeout=timeout_s + 5) for future in futures]


__all__ = [
    "ADD",
    "ADD_CAST",
    "ADD_COMMON",
    "ADD_VERSIONS",
    "CONCURRENT_THREADS",
    "CONFORMANCE",
    "CONFORMANCE_VERSIONS",
    "ECHO",
    "FAIL",
    "LATEST",
    "MODEL_INPUT_BYTES",
    "SERVABLES",
    "add_request",
    "as_float32",
    "assert_echo",
    "assert_fail_errors",
    "assert_float32_sum",
    "echo_request",
    "fail_request",
    "refused",
    "run_concurrently",
    "still_serves",
]
