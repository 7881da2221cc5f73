"""Reply assembly (protocol.md §2), pure: the three shapes, output mapping, truncation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from support.rpc import errors

from protos import ms_service_pb2 as pb
from reference_server import replies
from reference_server.backend import ArrayBackend
from reference_server.dispatch import Dispatcher
from reference_server.errors import queue_full
from reference_server.registry import (
    BatchFunction,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Registry,
    Servable,
    method_table,
)

SPEC = pb.ServableSpec(name="s", method_name="m", version_number=0)
OK = {"y": np.float32(1.0)}


def test_truncate_keeps_texts_of_384_bytes() -> None:
    assert replies.truncate("x" * 384) == b"x" * 384
    assert replies.truncate("é" * 192) == "é".encode() * 192  # 192 characters, 384 bytes


def test_truncate_counts_bytes_and_may_split_a_character() -> None:
    text = "a" + "é" * 192  # 193 characters, 385 bytes
    cut = replies.truncate(text)
    data = text.encode()
    assert cut == data[:192] + b"..." + data[-192:]
    assert len(cut) == 387
    assert cut[191:192] == b"\xc3"  # the first half ends inside an e-acute, as upstream's does


def test_truncate_escapes_lone_surrogates() -> None:
    assert replies.truncate("a\udc80") == b"a\\udc80"


def test_all_ok_is_n_instances_and_no_error() -> None:
    reply = replies.outcomes_reply(SPEC, ("y",), [OK, OK])
    assert len(reply.instances) == 2 and not reply.error_msg
    assert reply.servable_spec == SPEC


def test_identical_failures_collapse_into_one_error() -> None:
    failure = InstanceError(3, "boom")
    reply = replies.outcomes_reply(SPEC, ("y",), [failure, InstanceError(3, "boom")])
    assert not reply.instances
    assert errors(reply) == [(3, "boom")]


def test_single_failed_instance_is_one_error() -> None:
    reply = replies.outcomes_reply(SPEC, ("y",), [InstanceError(2, "bad")])
    assert not reply.instances and errors(reply) == [(2, "bad")]


@pytest.mark.parametrize(
    "failures",
    [
        [InstanceError(3, "a"), InstanceError(3, "b")],
        [InstanceError(2, "a"), InstanceError(3, "a")],
    ],
)
def test_different_failures_are_mixed_shape(failures: list[InstanceError]) -> None:
    reply = replies.outcomes_reply(SPEC, ("y",), failures)
    assert len(reply.instances) == 2
    assert all(not instance.items for instance in reply.instances)
    assert errors(reply) == [(f.code, f.message) for f in failures]


def test_mixed_shape_keeps_request_order() -> None:
    reply = replies.outcomes_reply(SPEC, ("y",), [InstanceError(3, "x"), OK, InstanceError(3, "x")])
    assert errors(reply) == [(3, "x"), (0, ""), (3, "x")]
    assert [len(i.items) for i in reply.instances] == [0, 1, 0]


def test_every_error_text_is_truncated() -> None:
    long = "L" * 200 + "M" * 100 + "R" * 200
    reply = replies.outcomes_reply(SPEC, ("y",), [InstanceError(3, long), OK])
    assert errors(reply)[0] == (3, replies.truncate(long).decode())
    assert len(errors(reply)[0][1]) == 387
    reply = replies.error_reply(SPEC, 2, long)
    assert errors(reply) == [(2, replies.truncate(long).decode())]


def test_error_reply_echoes_spec_verbatim() -> None:
    spec = pb.ServableSpec(name="ü", method_name="", version_number=2**64 - 1)
    assert replies.error_reply(spec, 1, "t").servable_spec == spec


@pytest.mark.parametrize(
    ("value", "dtype", "data"),
    [
        (True, pb.MS_BOOL, b"\x01"),
        (-2, pb.MS_INT64, (-2).to_bytes(8, "little", signed=True)),
        (0.5, pb.MS_FLOAT64, np.float64(0.5).tobytes()),
        (np.float16(1.0), pb.MS_FLOAT16, np.float16(1.0).tobytes()),
        (np.uint32(7), pb.MS_UINT32, b"\x07\0\0\0"),
    ],
)
def test_scalars_become_0d_tensors(value: object, dtype: int, data: bytes) -> None:
    tensor = pb.Tensor()
    replies.fill_tensor(tensor, value)
    assert (tensor.dtype, list(tensor.shape.dims), tensor.data) == (dtype, [], data)


@pytest.mark.parametrize(("value", "dtype"), [("hé", pb.MS_STRING), (b"\0\xff", pb.MS_BYTES)])
def test_text_outputs_are_one_value_with_empty_dims(value: str | bytes, dtype: int) -> None:
    tensor = pb.Tensor()
    replies.fill_tensor(tensor, value)
    raw = value.encode() if isinstance(value, str) else value
    assert (tensor.dtype, list(tensor.shape.dims), list(tensor.bytes_val)) == (dtype, [], [raw])


def test_arrays_keep_shape_and_become_little_endian() -> None:
    array = np.arange(6, dtype=">i2").reshape(3, 2)[::-1]  # big-endian, not contiguous
    tensor = pb.Tensor()
    replies.fill_tensor(tensor, array)
    assert tensor.dtype == pb.MS_INT16 and list(tensor.shape.dims) == [3, 2]
    assert tensor.data == array.astype("<i2").tobytes()


def test_unmappable_outputs_fail_that_instance_with_code_3() -> None:
    outcomes: list[Outcome] = [{"y": object()}, {"y": np.array([1j])}, {}, OK]
    reply = replies.outcomes_reply(SPEC, ("y",), outcomes)
    codes = [code for code, _ in errors(reply)]
    assert codes == [3, 3, 3, 0]
    assert "no output y" in errors(reply)[2][1]
    assert not reply.instances[0].items  # the half-filled instance was emptied


def test_int_output_out_of_int64_range_fails_the_instance() -> None:
    reply = replies.outcomes_reply(SPEC, ("y",), [{"y": 2**70}, OK])
    assert errors(reply)[0][0] == 3


# -- dispatcher (no gRPC) ------------------------------------------------------------------


def _dispatcher(run: BatchFunction, **kwargs: Any) -> Dispatcher:
    method = Method("m", ("x",), ("y",), run)
    return Dispatcher(Registry([Servable("s", {1: method_table(method)})]), **kwargs)


def _one_instance() -> pb.PredictRequest:
    message = pb.PredictRequest(servable_spec=SPEC)
    message.instances.add().items["x"].CopyFrom(pb.Tensor(dtype=pb.MS_BYTES, bytes_val=[b"x"]))
    return message


def test_a_raising_batch_function_fails_every_instance_with_code_3() -> None:
    def run(batch: Sequence[Inputs], backend: ArrayBackend) -> list[Outcome]:
        raise ValueError("kaput")

    message = _one_instance()
    message.instances.add().CopyFrom(message.instances[0])
    reply = _dispatcher(run).predict(message)
    assert not reply.instances
    [(code, text)] = errors(reply)
    assert code == 3 and "kaput" in text and text.startswith("Call Function 's.m' Failed")


def test_a_wrong_outcome_count_is_a_code_3_error() -> None:
    reply = _dispatcher(lambda batch, backend: []).predict(_one_instance())
    assert errors(reply)[0][0] == 3


def test_queue_limit_answers_code_1_while_full() -> None:
    dispatcher = _dispatcher(lambda batch, backend: [{"y": 1}] * len(batch), queue_limit=1)
    # Simulate one request in flight: the next one is refused at once, spec echoed.
    dispatcher._in_flight = 1
    reply = dispatcher.predict(_one_instance())
    assert errors(reply) == [(1, queue_full(1))]
    assert errors(reply)[0][1] == "Serving Error: enqueued requests count exceeds the limit 1"
    assert reply.servable_spec == SPEC
    dispatcher._in_flight = 0
    assert not dispatcher.predict(_one_instance()).error_msg
    assert dispatcher.in_flight == 0


def test_a_stage_text_with_lone_surrogates_still_fails_only_its_instance() -> None:
    failure = InstanceError(3, "bad \ud800 text")
    reply = replies.outcomes_reply(SPEC, ("y",), [{"y": 1}, failure])
    assert errors(reply) == [(0, ""), (3, "bad \\ud800 text")]


def test_request_checks_come_before_the_queue_limit() -> None:
    # protocol.md §3: the queue limit is step 5, after lookup and input checks.
    dispatcher = _dispatcher(lambda batch, backend: [{"y": 1}] * len(batch), queue_limit=1)
    dispatcher._in_flight = 1
    unknown = pb.PredictRequest(servable_spec=pb.ServableSpec(name="nope", method_name="m"))
    unknown.instances.add()
    assert errors(dispatcher.predict(unknown))[0][0] == 2
    assert errors(dispatcher.predict(_one_instance())) == [(1, queue_full(1))]
