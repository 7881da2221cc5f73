"""core: per-instance errors and the three reply shapes, through conformance.fail and
add.add_common / add.add_cast."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from conformance.verify import assertions, compare, kit, named
from conformance.verify import strategies as gen
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import Target
from protos import codec
from protos import ms_service_pb2 as pb

MODEL_DIMS = [2, 2]


@st.composite
def _fail_requests(
    draw: st.DrawFn, patterns: st.SearchStrategy[list[str]]
) -> tuple[list[pb.Tensor], list[str]]:
    errors = draw(patterns)
    xs = [draw(gen.tensors()) for _ in errors]
    return xs, errors


def _mixed() -> st.SearchStrategy[list[str]]:
    return gen.fail_patterns(min_size=2).filter(lambda p: "" in p and any(p))


@requirement("CORE-FAIL-PATTERN")
@examples(40)
@given(request=_fail_requests(gen.fail_patterns()))
def test_fail_pattern(
    conformance_server: Target, request: tuple[list[pb.Tensor], list[str]]
) -> None:
    xs, errors = request
    request_ = kit.fail_request(xs, errors)
    reply = conformance_server.predict(request_)
    got = assertions.assert_failure_pattern(reply, [bool(e) for e in errors], "fail")
    kit.assert_fail_errors(got, errors, "fail")
    for index, (outcome, x) in enumerate(zip(got, xs, strict=True)):
        if isinstance(outcome, pb.Instance):
            kit.assert_echo(outcome, x, f"fail instance {index} (error '')")
    compare.check(request_, reply, "fail")


@requirement("CORE-REPLY-ALL-OK")
@examples(15)
@given(xs=st.lists(gen.tensors(), min_size=1, max_size=6))
def test_reply_all_ok(conformance_server: Target, xs: list[pb.Tensor]) -> None:
    request = kit.fail_request(xs, [""] * len(xs))
    reply = conformance_server.predict(request)
    assertions.assert_all_ok(reply, len(xs), f"fail with {len(xs)} succeeding instances")
    compare.check(request, reply, f"fail with {len(xs)} succeeding instances")


@requirement("CORE-REPLY-MIXED")
@examples(30)
@given(request=_fail_requests(_mixed()))
def test_reply_mixed(
    conformance_server: Target, request: tuple[list[pb.Tensor], list[str]]
) -> None:
    xs, errors = request
    request_ = kit.fail_request(xs, errors)
    reply = conformance_server.predict(request_)
    count = len(errors)
    if len(reply.instances) != count or len(reply.error_msg) != count:
        assertions.fail(
            f"{count} instances, some failing: expected {count} instances and {count} "
            f"errors, got {assertions.describe(reply)}"
        )
    for index, (error, entry, instance) in enumerate(
        zip(errors, reply.error_msg, reply.instances, strict=True)
    ):
        if error:
            assert entry.error_code != 0, f"instance {index} failed but its entry has code 0"
            assert not instance.items, f"failed instance {index} carries outputs"
        else:
            assert entry.error_code == 0, f"OK instance {index} has code {entry.error_code}"
            assert not entry.error_msg, f"OK instance {index} has error text {entry.error_msg!r}"
            assert instance.items, f"OK instance {index} carries no outputs"
    kit.assert_fail_errors(
        assertions.assert_reply_shape(reply, count), errors, "fail, some failing"
    )
    compare.check(request_, reply, "fail, some failing")


@requirement("CORE-REPLY-ALL-FAILED")
@examples(15)
@given(request=_fail_requests(st.lists(gen.error_texts(), min_size=1, max_size=5)))
def test_reply_all_failed(
    conformance_server: Target, request: tuple[list[pb.Tensor], list[str]]
) -> None:
    xs, errors = request
    request_ = kit.fail_request(xs, errors)
    reply = conformance_server.predict(request_)
    what = "fail with every instance failing"
    kit.assert_fail_errors(
        assertions.assert_failure_pattern(reply, [True] * len(errors), what), errors, what
    )
    compare.check(request_, reply, what)


def _model_inputs() -> st.SearchStrategy[pb.Tensor]:
    # 16 bytes of float32; the shape is never compared (docs/protocol.md#step-method-runs).
    dims = st.sampled_from([MODEL_DIMS, [4], [1, 4], [4, 1]])
    return gen.numeric_tensors(dtypes=st.just(gen.FLOAT32), dims=dims)


def _wrong_size_inputs() -> st.SearchStrategy[pb.Tensor]:
    # Any numeric dtype: a wrong size with a wrong dtype is code 2 too (which text wins is
    # STRICT-TEXT-ADD-COMMON-SIZE's business). A text input has size 0 for a model
    # (docs/protocol.md#step-method-runs), so MS_STRING and MS_BYTES are wrong sizes as well.
    numeric = gen.numeric_tensors(dims=gen.shapes(max_rank=3)).filter(
        lambda t: len(t.data) != kit.MODEL_INPUT_BYTES
    )
    return st.one_of(numeric, gen.string_tensors(), gen.bytes_tensors())


def _wrong_dtype_inputs() -> st.SearchStrategy[pb.Tensor]:
    # Exactly 16 bytes, so only the dtype is wrong.
    others = [d for d in codec.NUMERIC_DTYPES if d is not gen.FLOAT32]
    return st.sampled_from(others).flatmap(
        lambda d: gen.numeric_tensors(
            dtypes=st.just(d), dims=st.just([kit.MODEL_INPUT_BYTES // d.itemsize])
        )
    )


def _add_common_case(
    bad: st.SearchStrategy[pb.Tensor],
) -> st.SearchStrategy[tuple[pb.Tensor, pb.Tensor, bool]]:
    """(x1, x2, should_fail): each input independently good or bad."""
    return st.tuples(st.booleans(), st.booleans()).flatmap(
        lambda flags: st.tuples(
            bad if flags[0] else _model_inputs(),
            bad if flags[1] else _model_inputs(),
            st.just(flags[0] or flags[1]),
        )
    )


def _check_add_common(
    server: Target, cases: list[tuple[pb.Tensor, pb.Tensor, bool]], what: str
) -> None:
    request = kit.add_request(kit.ADD_COMMON, [(a, b) for a, b, _ in cases])
    reply = server.predict(request)
    got = assertions.assert_failure_pattern(reply, [bad for _, _, bad in cases], what)
    for index, (outcome, (x1, x2, _)) in enumerate(zip(got, cases, strict=True)):
        if isinstance(outcome, pb.Instance):
            kit.assert_float32_sum(outcome, x1, x2, MODEL_DIMS, f"add_common instance {index}")
        elif outcome.code != assertions.INVALID_INPUTS:
            # docs/protocol.md#step-method-runs: a model input of the wrong size or dtype fails
            # its instance with code 2, whether the reply lists every instance or collapses to
            # this one error.
            assertions.fail(
                f"{what}: instance {index} failed with ({outcome.code}, {outcome.text!r}); "
                f"the expected code is {assertions.INVALID_INPUTS} (INVALID_INPUTS)"
            )
    if all(bad for _, _, bad in cases):  # refused whole: proof only if the server still serves
        kit.still_serves(server, f"right after {what} failed every instance")
    compare.check(request, reply, what)


@requirement("CORE-ADD-COMMON-RESULT")
@examples(20)
@given(
    cases=st.lists(
        st.tuples(_model_inputs(), _model_inputs(), st.just(False)), min_size=1, max_size=4
    )
)
def test_add_common_result(
    conformance_server: Target, cases: list[tuple[pb.Tensor, pb.Tensor, bool]]
) -> None:
    _check_add_common(conformance_server, cases, "add_common on float32 [2,2] inputs")


_GOOD = codec.array_to_tensor(np.ones([2, 2], "<f4"))


def _zeros(dims: list[int], dtype: str) -> pb.Tensor:
    return codec.array_to_tensor(np.zeros(dims, dtype))


# Always sent, whatever the draw: text inputs (size 0 for a model) beside a good instance;
# float32 inputs larger than 16 bytes, every instance failing (a check written as "at most 16
# bytes" passes them); 4-element inputs of another item size, 4 and 32 bytes (a check that
# counts elements passes them), beside a float32 one of 12 bytes.
ADD_COMMON_SIZE = named.Explicit("CORE-ADD-COMMON-SIZE")
ADD_COMMON_SIZE.case(
    ["MS_STRING", "MS_BYTES"],
    cases=[
        (_GOOD, _GOOD, False),
        (codec.text_tensor("a"), _GOOD, True),
        (_GOOD, codec.bytes_tensor(b"0123456789abcdef", [1]), True),
    ],
)
ADD_COMMON_SIZE.case(
    ["larger", "every instance"],
    cases=[(_zeros([5], "<f4"), _GOOD, True), (_GOOD, _zeros([2, 3], "<f4"), True)],
)
ADD_COMMON_SIZE.case(
    ["not elements", "smaller", "larger"],
    cases=[
        (_zeros([2, 2], "i1"), _GOOD, True),
        (_GOOD, _GOOD, False),
        (_GOOD, _zeros([2, 2], "<f8"), True),
        (_zeros([3], "<f4"), _GOOD, True),
    ],
)


@requirement("CORE-ADD-COMMON-SIZE")
@examples(25)
@given(cases=st.lists(_add_common_case(_wrong_size_inputs()), min_size=1, max_size=5))
@ADD_COMMON_SIZE.examples
def test_add_common_size(
    conformance_server: Target, cases: list[tuple[pb.Tensor, pb.Tensor, bool]]
) -> None:
    _check_add_common(conformance_server, cases, "add_common with wrong byte sizes")


@requirement("CORE-ADD-COMMON-DTYPE")
@examples(25)
@given(cases=st.lists(_add_common_case(_wrong_dtype_inputs()), min_size=1, max_size=5))
def test_add_common_dtype(
    conformance_server: Target, cases: list[tuple[pb.Tensor, pb.Tensor, bool]]
) -> None:
    _check_add_common(conformance_server, cases, "add_common with wrong dtypes")


@st.composite
def _cast_pairs(draw: st.DrawFn) -> tuple[pb.Tensor, pb.Tensor]:
    dims = draw(gen.shapes(max_rank=3))
    x1 = draw(gen.numeric_tensors(dims=st.just(dims)))
    x2 = draw(gen.numeric_tensors(dims=st.just(dims)))
    return x1, x2


@requirement("CORE-ADD-CAST-RESULT")
@examples(25)
@given(pairs=st.lists(_cast_pairs(), min_size=1, max_size=3))
def test_add_cast(conformance_server: Target, pairs: list[tuple[pb.Tensor, pb.Tensor]]) -> None:
    request = kit.add_request(kit.ADD_CAST, pairs)
    reply = conformance_server.predict(request)
    instances = assertions.assert_all_ok(
        reply, len(pairs), "add_cast on numeric inputs of equal shape"
    )
    for index, (instance, (x1, x2)) in enumerate(zip(instances, pairs, strict=True)):
        kit.assert_float32_sum(instance, x1, x2, list(x1.shape.dims), f"add_cast instance {index}")
    compare.check(request, reply, "add_cast on numeric inputs of equal shape")


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
