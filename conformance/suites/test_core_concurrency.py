"""core: concurrent requests are never mixed up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.reporting import repro
from conformance.verify import assertions, kit
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import Target
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
        except AssertionError:
            repro.record(server.endpoint, request)  # the call that went wrong, for the report
            raise


@requirement("CORE-CONCURRENT-NO-MIXUP")
@examples(3, shrink=False)
@given(batches=payloads())
def test_concurrent_no_mixup(conformance_server: Target, batches: list[list[pb.Tensor]]) -> None:
    assert_concurrent(conformance_server, batches)
