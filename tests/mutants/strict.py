"""Mutants of the strict (SHOULD) and resnet profiles."""

from __future__ import annotations

import argparse
import copy
import os
import threading
from collections.abc import Sequence
from typing import Any

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    around,
    is_request_error,
    on_decode,
    on_method,
    whole_request_fails,
)
from protos import ms_service_pb2 as pb
from protos.labels import imagenet_labels
from reference_server import checks, replies
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    INVALID_INPUTS,
    BatchFunction,
    Inputs,
    InstanceError,
    Outcome,
)
from reference_server.servables import add, model_inputs
from reference_server.servables.model_inputs import ModelInput, size_and_dtype

Args = argparse.Namespace
TEXT_MALFORMED = (
    "STRICT-TEXT-MALFORMED-STRING-COUNT",
    "STRICT-TEXT-MALFORMED-STRING-DIMS",
    "STRICT-TEXT-MALFORMED-SHAPE",
    "STRICT-TEXT-MALFORMED-DTYPE",
    "STRICT-TEXT-MALFORMED-DATA-SIZE",
)
STRICT = ("strict",)


# -- texts ----------------------------------------------------------------------------------


@mutant(
    "strict-spec-text-single-spaces",
    "the servable/method/version part of lookup errors has single spaces, not upstream's",
    trips=(
        "STRICT-TEXT-UNKNOWN-SERVABLE",
        "STRICT-TEXT-UNKNOWN-VERSION",
        "STRICT-TEXT-UNKNOWN-METHOD",
    ),
    profiles=STRICT,
)
def strict_spec_text_single_spaces(args: Args) -> None:
    @around(checks, "spec_repr")
    def spec_repr(original: Wrapper, *spec: Any) -> str:
        return " ".join(str(original(*spec)).split())


@mutant(
    "strict-missing-input-text",
    "a missing input is reported as 'missing input NAME'",
    trips=("STRICT-TEXT-MISSING-INPUT",),
    profiles=STRICT,
)
def strict_missing_input_text(args: Args) -> None:
    @around(checks, "missing_input")
    def missing_input(original: Wrapper, name: str, servable: str, method: str) -> str:
        return f"missing input {name}"


@mutant(
    "strict-malformed-no-prefix",
    "a malformed tensor is reported by its detail alone, without 'Instances input x check "
    "failed, detail: '",
    trips=TEXT_MALFORMED,
    profiles=STRICT,
)
def strict_malformed_no_prefix(args: Args) -> None:
    @around(checks, "input_check_failed")
    def input_check_failed(original: Wrapper, name: str, detail: str) -> str:
        return detail


@mutant(
    "strict-add-common-one-based",
    "add_common's size and dtype texts number the model inputs from 1",
    trips=("STRICT-TEXT-ADD-COMMON-SIZE", "STRICT-TEXT-ADD-COMMON-DTYPE"),
    profiles=STRICT,
)
def strict_add_common_one_based(args: Args) -> None:
    for name in ("size_mismatch", "dtype_mismatch"):
        around(model_inputs, name)(lambda original, index, *rest: original(index + 1, *rest))


@mutant(
    "strict-add-common-dtype-first",
    "add_common checks an input's dtype before its byte size (a wrong-size int8 input gets "
    "the dtype text)",
    trips=("STRICT-TEXT-ADD-COMMON-SIZE",),
    profiles=STRICT,
)
def strict_add_common_dtype_first(args: Args) -> None:
    def dtype_first(values: Sequence[Any], model: Sequence[ModelInput]) -> InstanceError | None:
        for index, (value, expected) in enumerate(zip(values, model, strict=True)):
            nbytes, dtype = size_and_dtype(value)
            if dtype != expected.dtype:
                text = model_inputs.dtype_mismatch(index, dtype, expected.dtype)
                return InstanceError(INVALID_INPUTS, text)
            if nbytes != expected.nbytes:
                text = model_inputs.size_mismatch(index, nbytes, expected.nbytes)
                return InstanceError(INVALID_INPUTS, text)
        return None

    add.model_input_error = dtype_first  # add.py imported it by name


def _fail_codes(code: int) -> Any:
    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            return [
                InstanceError(code, o.message) if isinstance(o, InstanceError) else o
                for o in run(inputs, backend)
            ]

        return batch

    return wrap


@mutant(
    "strict-fail-code-2",
    "fail's instance errors have code 2 (invalid inputs) instead of 3 (a stage raised)",
    trips=("STRICT-FAIL-TEXT",),
    profiles=STRICT,
)
def strict_fail_code_2(args: Args) -> None:
    on_method("conformance", "fail", _fail_codes(INVALID_INPUTS))


@mutant(
    "fail-text-generic",
    "fail's instance errors say 'instance failed' instead of containing the given error",
    trips=("STRICT-FAIL-TEXT",),
    profiles=STRICT,  # the core profile does not look at fail's texts
)
def fail_text_generic(args: Args) -> None:
    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            return [
                InstanceError(o.code, "instance failed") if isinstance(o, InstanceError) else o
                for o in run(inputs, backend)
            ]

        return batch

    on_method("conformance", "fail", wrap)


@mutant(
    "strict-no-truncation",
    "error texts over 384 characters are sent whole",
    trips=("STRICT-TEXT-TRUNCATION",),
    profiles=STRICT,
)
def strict_no_truncation(args: Args) -> None:
    replies.truncate = lambda text: text


@mutant(
    "strict-truncate-bytes",
    "error texts over 200 characters are cut by UTF-8 bytes (192 + '...' + 192), not over 384 "
    "characters",
    trips=("STRICT-TEXT-TRUNCATION",),
    profiles=STRICT,
)
def strict_truncate_bytes(args: Args) -> None:
    def truncate(text: str) -> str:
        if len(text) <= 200:
            return text
        data = text.encode()
        return (data[:192] + b"..." + data[-192:]).decode("utf-8", "replace")

    replies.truncate = truncate


# -- zero instances, collapsing, non-UTF-8 --------------------------------------------------


def _on_zero_instances(answer: Any) -> None:
    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if not request.instances:
            return answer(request)
        return original(self, request)


@mutant(
    "strict-zero-instances-hang",
    "a request with zero instances is answered only after 8 s (upstream never answers it)",
    trips=("STRICT-ZERO-INSTANCES",),
    profiles=STRICT,
)
def strict_zero_instances_hang(args: Args) -> None:
    never = threading.Event()

    def answer(request: pb.PredictRequest) -> pb.PredictReply:
        never.wait(8.0)  # bounded: longer than the harness's 5 s, shorter than forever
        return pb.PredictReply(servable_spec=request.servable_spec)

    _on_zero_instances(answer)


@mutant(
    "strict-zero-instances-empty",
    "a request with zero instances gets an empty reply (no instance, no error)",
    trips=("STRICT-ZERO-INSTANCES",),
    profiles=STRICT,
)
def strict_zero_instances_empty(args: Args) -> None:
    _on_zero_instances(lambda request: pb.PredictReply(servable_spec=request.servable_spec))


@mutant(
    "strict-no-collapse",
    "identical failures of every instance are listed once per instance, not collapsed",
    trips=("STRICT-COLLAPSE-IDENTICAL-FAILURES",),
    profiles=STRICT,
)
def strict_no_collapse(args: Args) -> None:
    @around(replies, "outcomes_reply")
    def outcomes_reply(
        original: Wrapper, spec: pb.ServableSpec, outputs: Any, outcomes: Sequence[Outcome]
    ) -> pb.PredictReply:
        reply: pb.PredictReply = original(spec, outputs, outcomes)
        if len(outcomes) > 1 and is_request_error(reply):  # collapsed: spell it out again
            entry = reply.error_msg[0]
            reply.instances.extend(pb.Instance() for _ in outcomes)
            reply.error_msg.extend(copy.deepcopy(entry) for _ in outcomes[1:])
        return reply


@mutant(
    "strict-collapse-distinct",
    "when every instance fails, only the first error is sent, even when the errors differ",
    trips=("STRICT-DISTINCT-FAILURES-PER-INSTANCE",),
    profiles=STRICT,
)
def strict_collapse_distinct(args: Args) -> None:
    @around(replies, "outcomes_reply")
    def outcomes_reply(
        original: Wrapper, spec: pb.ServableSpec, outputs: Any, outcomes: Sequence[Outcome]
    ) -> pb.PredictReply:
        failed = [o for o in outcomes if isinstance(o, InstanceError)]
        if failed and len(failed) == len(outcomes):
            return replies.error_reply(spec, failed[0].code, failed[0].message)
        return original(spec, outputs, outcomes)


@mutant(
    "strict-non-utf8-accepted",
    "an MS_STRING input that is not UTF-8 is accepted and echoed",
    trips=("STRICT-NON-UTF8-STRING",),
    profiles=STRICT,
)
def strict_non_utf8_accepted(args: Args) -> None:
    on_decode(lambda tensor, detail: detail == checks.NOT_UTF8)


@mutant(
    "strict-non-utf8-crash",
    "an MS_STRING input that is not UTF-8 kills the server (as upstream's worker dies)",
    trips=("STRICT-NON-UTF8-STRING",),
    profiles=STRICT,
)
def strict_non_utf8_crash(args: Args) -> None:
    def crash(tensor: pb.Tensor, detail: str) -> bool:
        if detail == checks.NOT_UTF8:
            os._exit(70)
        return False

    on_decode(crash)


# -- resnet ---------------------------------------------------------------------------------

RESNET = ("resnet",)


def _labels(edit: Any) -> Any:
    """A classify_top1 wrapper: each OK instance's label becomes ``edit(index, label)``."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            return [
                o if isinstance(o, InstanceError) else {"label": edit(i, o["label"])}
                for i, o in enumerate(run(inputs, backend))
            ]

        return batch

    return wrap


@mutant(
    "resnet-label-upper-case",
    "classify_top1 answers its label in upper case (not an ImageNet label text)",
    trips=("RESNET-LABEL-IN-IMAGENET",),
    profiles=RESNET,
)
def resnet_label_upper_case(args: Args) -> None:
    on_method("resnet50", "classify_top1", _labels(lambda index, label: label.upper()))


@mutant(
    "resnet-label-by-position",
    "classify_top1's label depends on the instance's position in the request",
    trips=("RESNET-SAME-IMAGE-SAME-LABEL",),
    profiles=RESNET,
)
def resnet_label_by_position(args: Args) -> None:
    labels = imagenet_labels()

    def shifted(index: int, label: str) -> str:
        return labels[(labels.index(label) + index) % len(labels)]

    on_method("resnet50", "classify_top1", _labels(shifted))


@mutant(
    "resnet-broken-image-fails-all",
    "an undecodable image fails every instance of its request",
    trips=("RESNET-BROKEN-IMAGE-ALONE",),
    profiles=RESNET,
)
def resnet_broken_image_fails_all(args: Args) -> None:
    on_method("resnet50", "classify_top1", whole_request_fails)


@mutant(
    "resnet-servable-broken",
    "resnet50 is deployed but answers every request with a request-level code 3 error",
    trips=("RESNET-LABEL-IN-IMAGENET",),
    profiles=RESNET,  # run with --requirement alone: the resnet probe must not skip it
)
def resnet_servable_broken(args: Args) -> None:
    @around(Dispatcher, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if request.servable_spec.name == "resnet50":
            return replies.error_reply(request.servable_spec, 3, "resnet50: weights not loaded")
        return original(self, request)
