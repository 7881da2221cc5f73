"""The suite's reading of replies and its generated values, tested without a server: a check
that accepted a broken reply, or a strategy that made an invalid "valid" tensor, would let a
broken server pass."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.verify import assertions, malformed
from conformance.verify import strategies as gen
from protos import codec
from protos import ms_service_pb2 as pb


def reply(instances: int = 0, errors: tuple[tuple[int, bytes], ...] = ()) -> pb.PredictReply:
    message = pb.PredictReply()
    for _ in range(instances):
        message.instances.add().items["y"].CopyFrom(codec.text_tensor("out"))
    for code, text in errors:
        message.error_msg.add(error_code=code, error_msg=text)
    return message


def test_the_three_legal_shapes() -> None:
    assert len(assertions.assert_reply_shape(reply(3), 3)) == 3
    collapsed = assertions.assert_reply_shape(reply(0, ((2, b"bad"),)), 3)
    assert collapsed == [assertions.Failed(2, "bad")] * 3
    mixed = reply(2, ((0, b""), (3, b"boom")))
    del mixed.instances[1].items["y"]
    got = assertions.assert_reply_shape(mixed, 2)
    assert isinstance(got[0], pb.Instance) and got[1] == assertions.Failed(3, "boom")


@pytest.mark.parametrize(
    ("message", "count", "complaint"),
    [
        (reply(2), 3, "expected 3 instances"),
        (reply(0, ((0, b""),)), 2, "carries error code 0"),
        (reply(2, ((2, b"x"),)), 2, "or 2 errors and 2 instances"),
        (reply(2, ((0, b"note"), (0, b""))), 2, "is OK (code 0) but its error text"),
        (reply(2, ((0, b""), (3, b"x"))), 2, "failed (code 3) but carries outputs"),
    ],
)
def test_illegal_shapes_are_rejected(message: pb.PredictReply, count: int, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        assertions.assert_reply_shape(message, count)


def test_request_error_and_pattern() -> None:
    assert assertions.assert_request_error(reply(0, ((2, b"no"),)), "x") == assertions.Failed(
        2, "no"
    )
    with pytest.raises(AssertionError, match="request-level error"):
        assertions.assert_request_error(reply(1), "x")
    with pytest.raises(AssertionError, match="instance 1 should have failed"):
        assertions.assert_failure_pattern(reply(2), [False, True], "fail")


def test_same_tensor_is_bit_exact() -> None:
    nan = pb.Tensor(dtype=pb.MS_FLOAT32, data=bytes.fromhex("0000c07f"))
    payload = pb.Tensor(dtype=pb.MS_FLOAT32, data=bytes.fromhex("0100c07f"))
    assertions.assert_same_tensor(nan, nan, "nan")
    with pytest.raises(AssertionError, match="got back MS_FLOAT32"):
        assertions.assert_same_tensor(nan, payload, "nan payload")
    scalar, single = (
        pb.Tensor(dtype=pb.MS_INT8, data=b"\x01"),
        pb.Tensor(dtype=pb.MS_INT8, data=b"\x01"),
    )
    single.shape.dims.append(1)
    with pytest.raises(AssertionError):
        assertions.assert_same_tensor(scalar, single, "dims [] vs [1]")
    # Text values may come back with dims [] or [1], never anything else.
    assertions.assert_same_tensor(codec.text_tensor("é", dims=()), codec.text_tensor("é"), "text")
    with pytest.raises(AssertionError):
        assertions.assert_same_tensor(
            codec.text_tensor("é", dims=(2,)), codec.text_tensor("é"), "text"
        )


def _well_formed(tensor: pb.Tensor) -> bool:
    """An independent statement of protocol §3.3 for one tensor."""
    dims = list(tensor.shape.dims)
    if tensor.dtype in (pb.MS_STRING, pb.MS_BYTES):
        return len(tensor.bytes_val) == 1 and dims in ([], [1])
    if tensor.dtype not in codec.BY_CODE or any(d < 0 for d in dims):
        return False
    if 0 in dims[:-1]:
        return False
    return len(tensor.data) == codec.element_count(dims) * codec.BY_CODE[tensor.dtype].itemsize


@settings(max_examples=200, deadline=None)
@given(gen.tensors())
def test_generated_tensors_are_well_formed(tensor: pb.Tensor) -> None:
    assert _well_formed(tensor)
    assert len(tensor.shape.dims) <= 6


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(malformed.CASES).flatmap(lambda case: case.tensors()))
def test_malformed_tensors_are_malformed(tensor: pb.Tensor) -> None:
    assert not _well_formed(tensor)


def test_special_values_cover_the_edges() -> None:
    float32 = gen.special_elements(codec.BY_CODE[pb.MS_FLOAT32])
    for bits in ("80000000", "7f800000", "ff800000", "7fc00000", "7f800001", "00000001"):
        assert int(bits, 16).to_bytes(4, "little") in float32
    uint64 = gen.special_elements(codec.BY_CODE[pb.MS_UINT64])
    assert any(int.from_bytes(v, "little") > 2**63 for v in uint64)
