"""core: the same server through the reference client (docs/protocol.md#client-mapping) — its
value mapping and result shapes. The raw suites certify the server; these certify that the
client and the server agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.catalogue import CORE
from conformance.drive import Endpoint, RunContext, guard
from conformance.verify import assertions, kit
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import not_applicable, requirement
from conformance.verify.wire import RPC_TIMEOUT_S
from protos import codec


@pytest.fixture(scope="session")
def conformance_client_factory(conformance_context: RunContext) -> Iterator[Any]:
    """Makes reference clients of the core endpoint; closes them at the end."""
    from reference_client import Client, SSLConfig

    endpoint = conformance_context.endpoint(CORE)
    if endpoint is None:
        not_applicable("no core endpoint")
    if endpoint.target_name is not None:
        not_applicable("the reference client has no target-name override")
    ssl = None
    if endpoint.is_tls:
        ssl = SSLConfig(endpoint.client_cert, endpoint.client_key, endpoint.root_ca)
    made: list[Any] = []

    def make(servable: str = kit.CONFORMANCE, method: str = kit.ECHO, version: int = 0) -> Any:
        client = Client(endpoint.address, servable, method, version, ssl, timeout=RPC_TIMEOUT_S)
        made.append(client)
        return GuardedClient(client, endpoint)

    yield make
    for client in made:
        client.close()


# How the reference client reports a call past its deadline (docs/protocol.md#client-mapping).
_DEADLINE_ERROR = f"Grpc Error, {grpc.StatusCode.DEADLINE_EXCEEDED.value}"


class GuardedClient:
    """A reference client whose calls take part in hang detection (conformance.drive.guard) as the
    raw calls do: a server that hung costs one timeout, not one per call."""

    def __init__(self, client: Any, endpoint: Endpoint) -> None:
        self._client, self._endpoint = client, endpoint

    def _before(self) -> None:
        __tracebackhide__ = True
        hung = guard.hung(self._endpoint.address)
        if hung is not None:
            assertions.fail(f"reference client call to {self._endpoint.describe()} {hung}")

    def _after(self, result: Any) -> Any:
        if isinstance(result, dict) and str(result.get("error", "")).startswith(_DEADLINE_ERROR):
            self._mark_hung()
        return result

    def _after_rpc_error(self, error: grpc.RpcError) -> None:
        # infer_async(...).result() raises a failed RPC (as upstream's client does) where infer
        # returns its error dict: the same bookkeeping, then the caller sees the raise.
        code = error.code() if isinstance(error, grpc.Call) else None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            self._mark_hung()

    def _mark_hung(self) -> None:
        address = self._endpoint.address
        guard.mark_hung(
            address,
            f"not sent: the server at {address} hung on an earlier request (a reference "
            f"client call: no answer within {RPC_TIMEOUT_S:g} s); every later call to it "
            "fails at once",
        )

    def infer(self, instances: Any) -> Any:
        self._before()
        return self._after(self._client.infer(instances))

    def infer_async(self, instances: Any) -> Any:
        self._before()
        return _GuardedResult(self._client.infer_async(instances), self)


class _GuardedResult:
    def __init__(self, future: Any, client: GuardedClient) -> None:
        self._future, self._client = future, client

    def result(self) -> Any:
        try:
            result = self._future.result()
        except grpc.RpcError as error:
            self._client._after_rpc_error(error)
            raise
        return self._client._after(result)


def _arrays() -> st.SearchStrategy[np.ndarray]:
    dtypes = st.sampled_from([d.numpy for d in codec.NUMERIC_DTYPES])
    shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)
    return dtypes.flatmap(lambda dt: hnp.arrays(dt, shapes))


def _same_array(got: Any, sent: np.ndarray, where: str) -> None:
    __tracebackhide__ = True
    assert isinstance(got, np.ndarray), f"{where}: expected a numpy array, got {type(got)}"
    assert got.dtype == sent.dtype, f"{where}: dtype {got.dtype}, sent {sent.dtype}"
    assert got.shape == sent.shape, f"{where}: shape {got.shape}, sent {sent.shape}"
    assert got.tobytes() == sent.tobytes(), f"{where}: values differ: {got!r} vs {sent!r}"
    assert not got.flags.writeable, f"{where}: result arrays are read-only"


@requirement("CLIENT-NUMERIC-MAPPING")
@examples(30)
@given(array=_arrays(), as_scalar=st.booleans())
def test_numeric_mapping(
    conformance_client_factory: Any, array: np.ndarray, as_scalar: bool
) -> None:
    client = conformance_client_factory()
    value: Any = array[()] if as_scalar and array.ndim == 0 else array
    result = client.infer({"x": value})
    assert isinstance(result, list) and len(result) == 1, f"infer returned {result!r}"
    _same_array(result[0]["y"], np.asarray(value), "echo through the client")
    version = result[0]["version"]
    assert isinstance(version, np.ndarray) and version.shape == () and version.dtype == np.int64


@requirement("CLIENT-PYTHON-VALUES")
@examples(20)
@given(
    value=st.one_of(
        gen.texts(max_size=20),
        st.binary(max_size=20),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(),
    )
)
def test_python_values(conformance_client_factory: Any, value: Any) -> None:
    result = conformance_client_factory().infer([{"x": value}])
    assert isinstance(result, list) and len(result) == 1, f"infer returned {result!r}"
    got = result[0]["y"]
    if isinstance(value, str | bytes):
        assert type(got) is type(value) and got == value, f"sent {value!r}, got {got!r}"
        return
    dtype = {bool: np.bool_, int: np.int64, float: np.float64}[type(value)]
    _same_array(got, np.array([value], dtype=dtype), f"echo of {value!r}")


@requirement("CLIENT-RESULT-SHAPES")
def test_result_shapes(conformance_client_factory: Any) -> None:
    x = np.arange(4, dtype=np.float32)
    unknown = conformance_client_factory(method="no-such-method").infer({"x": x})
    assert isinstance(unknown, dict) and set(unknown) == {"error"}, unknown
    assert isinstance(unknown["error"], str) and unknown["error"], unknown
    fail = conformance_client_factory(method=kit.FAIL)
    mixed = fail.infer([{"x": x, "error": ""}, {"x": x, "error": "broken"}, {"x": x, "error": ""}])
    assert isinstance(mixed, list) and len(mixed) == 3, f"mixed reply gave {mixed!r}"
    assert set(mixed[1]) == {"error"} and mixed[1]["error"], mixed[1]
    for index in (0, 2):
        _same_array(mixed[index]["y"], x, f"instance {index} of a mixed reply")
    ok = fail.infer([{"x": x, "error": ""}] * 2)
    assert isinstance(ok, list) and len(ok) == 2 and all("y" in r for r in ok), ok


@requirement("CLIENT-INFER-ASYNC")
@examples(10)
@given(array=_arrays())
def test_infer_async(conformance_client_factory: Any, array: np.ndarray) -> None:
    client = conformance_client_factory()
    waited = client.infer_async([{"x": array}, {"x": "text"}]).result()
    direct = client.infer([{"x": array}, {"x": "text"}])
    assert isinstance(waited, list) and len(waited) == 2, waited
    _same_array(waited[0]["y"], direct[0]["y"], "infer_async vs infer")
    assert waited[1]["y"] == direct[1]["y"] == "text"


__all__ = [
    "GuardedClient",
]
