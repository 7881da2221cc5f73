"""uds: the same calls over a unix domain socket."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.suites.test_core_concurrency import assert_concurrent, payloads
from conformance.verify import assertions, kit
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb


@requirement("UDS-ECHO-ROUNDTRIP")
@examples(25)
@given(xs=st.lists(gen.tensors(), min_size=1, max_size=4))
def test_echo_roundtrip(conformance_uds: Target, xs: list[pb.Tensor]) -> None:
    instances = assertions.assert_all_ok(
        conformance_uds.predict(kit.echo_request(xs)), len(xs), "echo"
    )
    for index, (instance, x) in enumerate(zip(instances, xs, strict=True)):
        kit.assert_echo(instance, x, f"echo over unix, instance {index}")


@requirement("UDS-ERRORS")
def test_errors(conformance_uds: Target) -> None:
    x = codec.text_tensor("uds")
    unknown = conformance_uds.predict(make_request("no-such-servable", kit.ECHO, [{"x": x}]))
    assertions.assert_invalid_inputs(unknown, "an unknown servable over unix")
    missing = conformance_uds.predict(make_request(kit.CONFORMANCE, kit.ECHO, [{"x": x}, {}]))
    assertions.assert_invalid_inputs(missing, "a missing input over unix")
    for errors in (["", "uds failure", ""], ["uds failure"]):
        reply = conformance_uds.predict(kit.fail_request([x] * len(errors), errors))
        what = f"fail over unix with errors {errors}"
        kit.assert_fail_errors(
            assertions.assert_failure_pattern(reply, [bool(e) for e in errors], what), errors, what
        )


@requirement("UDS-CONCURRENT-NO-MIXUP")
@examples(2, shrink=False)
@given(batches=payloads())
def test_concurrent_no_mixup(conformance_uds: Target, batches: list[list[pb.Tensor]]) -> None:
    assert_concurrent(conformance_uds, batches)
