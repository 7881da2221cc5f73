"""Mutants of the strict (SHOULD) and resnet profiles."""

from __future__ import annotations

import argparse
import copy
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mutants.catalogue import mutant
from mutants.seams import (
    Wrapper,
    declared_inputs,
    is_request_error,
    on_decode,
    on_method,
    on_request_errors,
    step,
    whole_request_fails,
)
from protos import ms_service_pb2 as pb
from reference_server import checks, errors, replies
from reference_server.behaviour import Behaviour
from reference_server.dispatch import Dispatcher
from reference_server.registry import (
    INVALID_INPUTS,
    BatchFunction,
    Inputs,
    InstanceError,
    Method,
    Outcome,
    Registry,
)
from reference_server.servables import add
from reference_server.servables.model_inputs import ModelInput, size_and_dtype
from reference_server.servables.resnet50.labels import imagenet_labels

Args = argparse.Namespace
TEXT_MALFORMED = (
    "STRICT-TEXT-MALFORMED-STRING-COUNT",
    "STRICT-TEXT-MALFORMED-STRING-DIMS",
    "STRICT-TEXT-MALFORMED-SHAPE",
    "STRICT-TEXT-MALFORMED-DTYPE",
    "STRICT-TEXT-MALFORMED-DATA-SIZE",
)
STRICT = ("strict",)
# The number in add_common's size and dtype texts (errors.size_mismatch, errors.dtype_mismatch).
MODEL_INPUT = re.compile(r"^(Given model input )(\d+)")


def _each_outcome(edit: Any) -> Any:
    """A batch-function wrapper that passes every outcome through ``edit``."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            return [edit(outcome) for outcome in run(inputs, backend)]

        return batch

    return wrap


# -- texts ----------------------------------------------------------------------------------


@mutant(
    "strict-fail-stage-zero",
    "fail's stage text numbers its stage from 0 (`stage index(begin with 1): 0`)",
    trips=("STRICT-FAIL-TEXT",),
    profiles=STRICT,
)
def strict_fail_stage_zero(args: Args, behaviour: Behaviour) -> None:
    def edit(outcome: Outcome) -> Outcome:
        if isinstance(outcome, InstanceError):
            text = outcome.message.replace("(begin with 1): 1,", "(begin with 1): 0,", 1)
            return InstanceError(outcome.code, text)
        return outcome

    on_method(behaviour, "conformance", "fail", _each_outcome(edit))


@mutant(
    "strict-empty-element-limit-off",
    "the element limit of empty tensors is (2**63 - 1) // 7 instead of // 8: [2**60, 0] is "
    "accepted",
    trips=("STRICT-EMPTY-ELEMENT-LIMIT",),
    profiles=STRICT,
)
def strict_empty_element_limit_off(args: Args, behaviour: Behaviour) -> None:
    def accept(tensor: pb.Tensor, detail: str) -> bool:
        count = 1
        for dim in tensor.shape.dims:
            count *= dim or 1
        return detail.endswith("too large for any tensor") and count <= (2**63 - 1) // 7

    on_decode(behaviour, accept)


@mutant(
    "strict-validate-last-instance-first",
    "request validation walks the instances from the back: the refusal names the last bad "
    "instance's problem",
    trips=("STRICT-TEXT-FIRST-PROBLEM",),
    profiles=STRICT,
)
def strict_validate_last_instance_first(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "check_request")
    def check_request(original: Wrapper, request: pb.PredictRequest, registry: Registry) -> Any:
        checked = original(request, registry)
        if isinstance(checked, checks.RequestError):
            backwards = pb.PredictRequest()
            backwards.CopyFrom(request)
            backwards.ClearField("instances")
            backwards.instances.extend(reversed(request.instances))
            again = original(backwards, registry)
            if isinstance(again, checks.RequestError):
                return again
        return checked


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
def strict_spec_text_single_spaces(args: Args, behaviour: Behaviour) -> None:
    def single_spaces(request: pb.PredictRequest, _: Registry, error: checks.RequestError) -> Any:
        spec = request.servable_spec
        found = (spec.name, spec.method_name, spec.version_number)
        upstream = errors.spec_repr(*found)
        for text in (errors.servable_unavailable, errors.method_unavailable):
            if error.message == text(*found):
                single = " ".join(upstream.split())
                return checks.RequestError(error.code, error.message.replace(upstream, single))
        return None

    on_request_errors(behaviour, single_spaces)


@mutant(
    "strict-missing-input-text",
    "a missing input is reported as 'missing input NAME'",
    trips=("STRICT-TEXT-MISSING-INPUT",),
    profiles=STRICT,
)
def strict_missing_input_text(args: Args, behaviour: Behaviour) -> None:
    def short(request: pb.PredictRequest, registry: Registry, error: checks.RequestError) -> Any:
        spec = request.servable_spec
        for name in declared_inputs(registry, spec):
            if error.message == errors.missing_input(name, spec.name, spec.method_name):
                return checks.RequestError(error.code, f"missing input {name}")
        return None

    on_request_errors(behaviour, short)


@mutant(
    "strict-missing-input-names-first",
    "the missing-input text names the method's first input, whichever input is missing",
    trips=("STRICT-TEXT-MISSING-INPUT",),
    profiles=STRICT,
)
def strict_missing_input_names_first(args: Args, behaviour: Behaviour) -> None:
    def first(request: pb.PredictRequest, registry: Registry, error: checks.RequestError) -> Any:
        spec = request.servable_spec
        declared = declared_inputs(registry, spec)
        for name in declared:
            if error.message == errors.missing_input(name, spec.name, spec.method_name):
                text = errors.missing_input(declared[0], spec.name, spec.method_name)
                return checks.RequestError(error.code, text)
        return None

    on_request_errors(behaviour, first)


@mutant(
    "strict-malformed-no-prefix",
    "a malformed tensor is reported by its detail alone, without 'Instances input x check "
    "failed, detail: '",
    trips=TEXT_MALFORMED,
    profiles=STRICT,
)
def strict_malformed_no_prefix(args: Args, behaviour: Behaviour) -> None:
    def detail_alone(
        request: pb.PredictRequest, registry: Registry, error: checks.RequestError
    ) -> Any:
        for name in declared_inputs(registry, request.servable_spec):
            prefix = errors.input_check_failed(name, "")
            if error.message.startswith(prefix):
                return checks.RequestError(error.code, error.message[len(prefix) :])
        return None

    on_request_errors(behaviour, detail_alone)


@mutant(
    "strict-add-common-one-based",
    "add_common's size and dtype texts number the model inputs from 1",
    trips=("STRICT-TEXT-ADD-COMMON-SIZE", "STRICT-TEXT-ADD-COMMON-DTYPE"),
    profiles=STRICT,
)
def strict_add_common_one_based(args: Args, behaviour: Behaviour) -> None:
    def one_based(outcome: Outcome) -> Outcome:
        if isinstance(outcome, InstanceError):
            found = MODEL_INPUT.match(outcome.message)
            if found is not None:
                text = f"{found[1]}{int(found[2]) + 1}{outcome.message[found.end() :]}"
                return InstanceError(outcome.code, text)
        return outcome

    on_method(behaviour, "add", "add_common", _each_outcome(one_based))


ModelCheck = Callable[[Sequence[Any], Sequence[ModelInput]], InstanceError | None]


def _add_common_checked_by(behaviour: Behaviour, check: ModelCheck) -> None:
    """add_common's per-instance model checks replaced by ``check``: an instance with any
    mismatch fails either way; only which text it gets changes."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            outcomes = list(run(inputs, backend))
            for index, instance in enumerate(inputs):
                found = check((instance["x1"], instance["x2"]), (add.MATRIX, add.MATRIX))
                if found is not None:
                    outcomes[index] = found
            return outcomes

        return batch

    on_method(behaviour, "add", "add_common", wrap)


@mutant(
    "strict-add-common-dtype-first",
    "add_common checks an input's dtype before its byte size (a wrong-size int8 input gets "
    "the dtype text)",
    trips=("STRICT-TEXT-ADD-COMMON-SIZE",),
    profiles=STRICT,
)
def strict_add_common_dtype_first(args: Args, behaviour: Behaviour) -> None:
    def dtype_first(values: Sequence[Any], model: Sequence[ModelInput]) -> InstanceError | None:
        for index, (value, expected) in enumerate(zip(values, model, strict=True)):
            nbytes, dtype = size_and_dtype(value)
            if dtype != expected.dtype:
                text = errors.dtype_mismatch(index, dtype, expected.dtype)
                return InstanceError(INVALID_INPUTS, text)
            if nbytes != expected.nbytes:
                text = errors.size_mismatch(index, nbytes, expected.nbytes)
                return InstanceError(INVALID_INPUTS, text)
        return None

    _add_common_checked_by(behaviour, dtype_first)


MODEL_ELEMENTS = 4  # float32 [2, 2]


@mutant(
    "strict-add-common-size-counts-elements",
    "add_common's size check counts elements (4) instead of bytes (16): a 4-element input of "
    "another item size gets the dtype text, not the size text",
    trips=("STRICT-TEXT-ADD-COMMON-SIZE",),
    profiles=STRICT,
)
def strict_add_common_size_counts_elements(args: Args, behaviour: Behaviour) -> None:
    def by_elements(values: Sequence[Any], model: Sequence[ModelInput]) -> InstanceError | None:
        for index, (value, expected) in enumerate(zip(values, model, strict=True)):
            nbytes, dtype = size_and_dtype(value)
            elements = np.asarray(value).size if isinstance(value, np.ndarray) else 0
            if elements != MODEL_ELEMENTS:  # the text still gives the byte size
                text = errors.size_mismatch(index, nbytes, expected.nbytes)
                return InstanceError(INVALID_INPUTS, text)
            if dtype != expected.dtype:
                text = errors.dtype_mismatch(index, dtype, expected.dtype)
                return InstanceError(INVALID_INPUTS, text)
        return None

    _add_common_checked_by(behaviour, by_elements)


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
def strict_fail_code_2(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "conformance", "fail", _fail_codes(INVALID_INPUTS))


@mutant(
    "fail-text-generic",
    "fail's instance errors say 'instance failed' instead of containing the given error",
    trips=("STRICT-FAIL-TEXT",),
    profiles=STRICT,  # the core profile does not look at fail's texts
)
def fail_text_generic(args: Args, behaviour: Behaviour) -> None:
    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            return [
                InstanceError(o.code, "instance failed") if isinstance(o, InstanceError) else o
                for o in run(inputs, backend)
            ]

        return batch

    on_method(behaviour, "conformance", "fail", wrap)


@mutant(
    "strict-no-truncation",
    "error texts over 384 bytes are sent whole",
    trips=("STRICT-TEXT-TRUNCATION",),
    profiles=STRICT,
)
def strict_no_truncation(args: Args, behaviour: Behaviour) -> None:
    behaviour.truncate = lambda text: text.encode()  # type: ignore[method-assign]


@mutant(
    "strict-truncate-chars",
    "error texts are cut by characters (over 384 characters: 192 + '...' + 192), not by UTF-8 "
    "bytes",
    trips=("STRICT-TEXT-TRUNCATION",),
    profiles=STRICT,
)
def strict_truncate_chars(args: Args, behaviour: Behaviour) -> None:
    def truncate(text: str) -> bytes:
        cut = text if len(text) <= 384 else text[:192] + "..." + text[-192:]
        return cut.encode()

    behaviour.truncate = truncate  # type: ignore[method-assign]


@mutant(
    "strict-truncate-whole-characters",
    "error texts over 384 bytes are cut by bytes, but never inside a character (each half "
    "stops at the character boundary before)",
    trips=("STRICT-TEXT-TRUNCATION",),
    profiles=STRICT,
)
def strict_truncate_whole_characters(args: Args, behaviour: Behaviour) -> None:
    def truncate(text: str) -> bytes:
        data = text.encode()
        if len(data) <= 384:
            return data
        head = data[:192].decode("utf-8", "ignore").encode()
        tail = data[-192:].decode("utf-8", "ignore").encode()
        return head + b"..." + tail

    behaviour.truncate = truncate  # type: ignore[method-assign]


# -- zero instances, collapsing, non-UTF-8 --------------------------------------------------


def _on_zero_instances(behaviour: Behaviour, answer: Any) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if not request.instances:
            return answer(request)
        return original(self, request)


@mutant(
    "strict-zero-instances-hang",
    "a request with zero instances is answered only after 8 s (upstream never answers it)",
    trips=("STRICT-ZERO-INSTANCES",),
    profiles=STRICT,
    waits=True,
)
def strict_zero_instances_hang(args: Args, behaviour: Behaviour) -> None:
    never = threading.Event()

    def answer(request: pb.PredictRequest) -> pb.PredictReply:
        never.wait(8.0)  # bounded: longer than the harness's 5 s, shorter than forever
        return pb.PredictReply(servable_spec=request.servable_spec)

    _on_zero_instances(behaviour, answer)


@mutant(
    "strict-zero-instances-crash",
    "the process exits on a request with zero instances (as upstream's worker dies on what it "
    "cannot build)",
    trips=("STRICT-ZERO-INSTANCES",),
    profiles=STRICT,
)
def strict_zero_instances_crash(args: Args, behaviour: Behaviour) -> None:
    def answer(request: pb.PredictRequest) -> pb.PredictReply:
        os._exit(70)

    _on_zero_instances(behaviour, answer)


@mutant(
    "strict-zero-instances-empty",
    "a request with zero instances gets an empty reply (no instance, no error)",
    trips=("STRICT-ZERO-INSTANCES",),
    profiles=STRICT,
)
def strict_zero_instances_empty(args: Args, behaviour: Behaviour) -> None:
    _on_zero_instances(
        behaviour, lambda request: pb.PredictReply(servable_spec=request.servable_spec)
    )


@mutant(
    "strict-no-collapse",
    "identical failures of every instance are listed once per instance, not collapsed",
    trips=("STRICT-COLLAPSE-IDENTICAL-FAILURES",),
    profiles=STRICT,
)
def strict_no_collapse(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "outcomes_reply")
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
def strict_collapse_distinct(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "outcomes_reply")
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
def strict_non_utf8_accepted(args: Args, behaviour: Behaviour) -> None:
    on_decode(behaviour, lambda tensor, detail: detail == errors.NOT_UTF8)


@mutant(
    "strict-non-utf8-crash",
    "an MS_STRING input that is not UTF-8 kills the server (as upstream's worker dies)",
    trips=("STRICT-NON-UTF8-STRING",),
    profiles=STRICT,
)
def strict_non_utf8_crash(args: Args, behaviour: Behaviour) -> None:
    def crash(tensor: pb.Tensor, detail: str) -> bool:
        if detail == errors.NOT_UTF8:
            os._exit(70)
        return False

    on_decode(behaviour, crash)


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
def resnet_label_upper_case(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "resnet50", "classify_top1", _labels(lambda index, label: label.upper()))


@mutant(
    "resnet-label-by-position",
    "classify_top1's label depends on the instance's position in the request",
    trips=("RESNET-SAME-IMAGE-SAME-LABEL",),
    profiles=RESNET,
)
def resnet_label_by_position(args: Args, behaviour: Behaviour) -> None:
    labels = imagenet_labels()

    def shifted(index: int, label: str) -> str:
        return labels[(labels.index(label) + index) % len(labels)]

    on_method(behaviour, "resnet50", "classify_top1", _labels(shifted))


@mutant(
    "resnet-broken-image-fails-all",
    "an undecodable image fails every instance of its request",
    trips=("RESNET-BROKEN-IMAGE-ALONE",),
    profiles=RESNET,
)
def resnet_broken_image_fails_all(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "resnet50", "classify_top1", whole_request_fails)


@mutant(
    "resnet-servable-broken",
    "resnet50 is deployed but answers every request with a request-level code 3 error",
    trips=("RESNET-LABEL-IN-IMAGENET",),
    profiles=RESNET,  # run with --requirement alone: the resnet probe must not skip it
)
def resnet_servable_broken(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "predict")
    def predict(original: Wrapper, self: Dispatcher, request: pb.PredictRequest) -> Any:
        if request.servable_spec.name == "resnet50":
            return replies.error_reply(request.servable_spec, 3, "resnet50: weights not loaded")
        return original(self, request)


# classify_top1_v1 and classify_top5 (docs/protocol.md#kit-resnet50)

Top5Edit = Callable[[int, list[str], np.ndarray], tuple[list[str], np.ndarray]]


def _top5(edit: Top5Edit) -> Any:
    """A classify_top5 wrapper: each OK instance's (labels, scores) become
    ``edit(index, labels, scores)``."""

    def wrap(run: BatchFunction) -> BatchFunction:
        def batch(inputs: Sequence[Inputs], backend: Any) -> Sequence[Outcome]:
            out: list[Outcome] = []
            for i, o in enumerate(run(inputs, backend)):
                if isinstance(o, InstanceError):
                    out.append(o)
                    continue
                labels, scores = edit(i, o["label"].split(";"), np.asarray(o["score"]))
                out.append({"label": ";".join(labels), "score": scores})
            return out

        return batch

    return wrap


@mutant(
    "resnet-top1-v1-missing",
    "resnet50 deploys classify_top1 but not classify_top1_v1 (an older kit's servable)",
    trips=("RESNET-TOP1-V1-SAME-LABEL",),
    profiles=RESNET,
)
def resnet_top1_v1_missing(args: Args, behaviour: Behaviour) -> None:
    @step(behaviour, "deployed")
    def deployed(original: Wrapper, registry: Registry) -> Registry:
        registry = original(registry)
        found = registry.servable("resnet50")
        assert found is not None, "the kit has no servable resnet50"
        for methods in found.versions.values():
            table: dict[str, Method] = methods  # type: ignore[assignment]  # built as a dict
            del table["classify_top1_v1"]
        return registry


@mutant(
    "resnet-top1-v1-other-label",
    "classify_top1_v1 answers the label of the class after classify_top1's",
    trips=("RESNET-TOP1-V1-SAME-LABEL",),
    profiles=RESNET,
)
def resnet_top1_v1_other_label(args: Args, behaviour: Behaviour) -> None:
    labels = imagenet_labels()

    def next_class(index: int, label: str) -> str:
        return labels[(labels.index(label) + 1) % len(labels)]

    on_method(behaviour, "resnet50", "classify_top1_v1", _labels(next_class))


@mutant(
    "resnet-top5-four-labels",
    "classify_top5's label holds four labels (its five scores kept)",
    trips=("RESNET-TOP5-OUTPUTS",),
    profiles=RESNET,
)
def resnet_top5_four_labels(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "resnet50", "classify_top5", _top5(lambda i, labels, s: (labels[:4], s)))


@mutant(
    "resnet-top5-score-float64",
    "classify_top5's score is sent as float64 [5]",
    trips=("RESNET-TOP5-OUTPUTS",),
    profiles=RESNET,
)
def resnet_top5_score_float64(args: Args, behaviour: Behaviour) -> None:
    on_method(
        behaviour,
        "resnet50",
        "classify_top5",
        _top5(lambda i, labels, s: (labels, s.astype(np.float64))),
    )


@mutant(
    "resnet-top5-score-dims-1x5",
    "classify_top5's score has dims [1, 5], not [5]",
    trips=("RESNET-TOP5-OUTPUTS",),
    profiles=RESNET,
)
def resnet_top5_score_dims_1x5(args: Args, behaviour: Behaviour) -> None:
    on_method(
        behaviour, "resnet50", "classify_top5", _top5(lambda i, labels, s: (labels, s[None, :]))
    )


@mutant(
    "resnet-top5-ascending",
    "classify_top5 answers its five labels and scores worst first",
    trips=("RESNET-TOP5-ORDER",),
    profiles=RESNET,
)
def resnet_top5_ascending(args: Args, behaviour: Behaviour) -> None:
    on_method(
        behaviour,
        "resnet50",
        "classify_top5",
        _top5(lambda i, labels, s: (labels[::-1], s[::-1].copy())),
    )


@mutant(
    "resnet-top5-labels-reversed",
    "classify_top5's labels are worst first while its scores stay descending",
    trips=("RESNET-TOP5-ORDER",),
    profiles=RESNET,
)
def resnet_top5_labels_reversed(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "resnet50", "classify_top5", _top5(lambda i, labels, s: (labels[::-1], s)))


@mutant(
    "resnet-top5-by-position",
    "classify_top5's five labels are rotated by the instance's position in the request",
    trips=("RESNET-TOP5-SAME-IMAGE",),
    profiles=RESNET,
)
def resnet_top5_by_position(args: Args, behaviour: Behaviour) -> None:
    def rotated(index: int, labels: list[str], scores: np.ndarray) -> tuple[list[str], np.ndarray]:
        shift = index % len(labels)
        return labels[shift:] + labels[:shift], scores

    on_method(behaviour, "resnet50", "classify_top5", _top5(rotated))


@mutant(
    "resnet-top5-broken-image-fails-all",
    "in classify_top5, an undecodable image fails every instance of its request",
    trips=("RESNET-BROKEN-IMAGE-ALONE",),
    profiles=RESNET,
)
def resnet_top5_broken_image_fails_all(args: Args, behaviour: Behaviour) -> None:
    on_method(behaviour, "resnet50", "classify_top5", whole_request_fails)
