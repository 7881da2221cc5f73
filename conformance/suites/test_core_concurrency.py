"""core: concurrent requests are never mixed up, and answered ones free their place in the queue."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import CAPACITY_CALLS, CAPACITY_WINDOW
from conformance.reporting import repro
from conformance.verify import assertions, compare, kit, oracle
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import RpcFailure, Target
from protos import codec
from protos import ms_service_pb2 as pb

CALLS = 32


def payloads() -> st.SearchStrategy[list[list[pb.Tensor]]]:
    """CALLS requests of 1-3 instances each, every request distinct from the others."""
    requests = st.lists(gen.tensors(), min_size=1, max_size=3)
    return st.lists(
        requests,
        min_size=CALLS,
        max_size=CALLS,
        unique_by=lambda xs: b"|".join(x.SerializeToString(deterministic=True) for x in xs),
    )


def assert_concurrent(server: Target, batches: list[list[pb.Tensor]]) -> None:
    __tracebackhide__ = True
    requests = [kit.echo_request(xs) for xs in batches]
    replies = kit.run_concurrently(server, requests)
    for call, (xs, request, reply) in enumerate(zip(batches, requests, replies, strict=True)):
        try:
            instances = assertions.assert_all_ok(reply, len(xs), f"concurrent call {call}")
            for index, (instance, x) in enumerate(zip(instances, xs, strict=True)):
                kit.assert_echo(instance, x, f"concurrent call {call}, instance {index}")
            compare.check(request, reply, f"concurrent call {call}")
        except AssertionError:
            repro.record(server.endpoint, request)  # the call that went wrong, for the report
            raise


@requirement("CORE-CONCURRENT-NO-MIXUP")
@examples(3, shrink=False)
@given(batches=payloads())
def test_concurrent_no_mixup(conformance_server: Target, batches: list[list[pb.Tensor]]) -> None:
    assert_concurrent(conformance_server, batches)


CAPACITY_BUDGET_S = 240.0  # for all the calls: about 4 s on a quiet 2-core machine


def capacity_request() -> pb.PredictRequest:
    """A request that passes every request-level check, so that it takes a place in the queue,
    and takes both ways out of a method: one instance computed, one failed by its stage (the
    usual leak is a place freed on one way only)."""
    xs = [codec.text_tensor("capacity"), codec.text_tensor("released")]
    return kit.fail_request(xs, ["", "capacity"])


@requirement("CORE-CAPACITY-RELEASED")
def test_capacity_released(conformance_server: Target) -> None:
    request = capacity_request()
    expected = oracle.expect(request, oracle.MUST)
    calls = conformance_server.pipeline(request, CAPACITY_CALLS, CAPACITY_WINDOW, CAPACITY_BUDGET_S)
    try:
        for index, outcome in calls:
            what = f"call {index + 1} of {CAPACITY_CALLS:,} (at most {CAPACITY_WINDOW} in flight)"
            if isinstance(outcome, RpcFailure):
                assertions.fail(f"{what} ended with {outcome}")
            found = compare.difference(expected, outcome)
            if found is not None:
                assertions.fail(
                    f"{what}: the reply differs from the kit's model at {found}; a server whose "
                    "answered requests still count against its capacity refuses later ones "
                    "with code 1"
                )
    except TimeoutError as exc:
        assertions.fail(f"not every call was answered in time: {exc}")


__all__ = [
    "assert_concurrent",
    "payloads",
]
