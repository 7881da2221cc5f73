"""What a requirement's sentence names, every gating run sends (issue 20).

The catalogue lists, per requirement, the variant classes its sentence names and the fields it
names them for (conformance.catalogue.NAMED, each phrase in the sentence's own words). The
suites declare explicit examples with the cells each sends (conformance.verify.named). Read side
by side here: every phrase is in its sentence, every cell has an explicit example, every
example is of the classes it claims (a classifier below looks at the values, not the labels),
and the examples are wired into the requirement's own tests (as ``@example`` rows or fixed
parameters), so a derandomized run sends them whatever it draws.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import conformance.suites
from conformance.catalogue import BY_ID, NAMED, Cell, named_cells
from conformance.verify import kit, named
from conformance.verify import wide_strategies as wide
from conformance.verify.marks import MARKER
from protos import codec
from protos import ms_service_pb2 as pb

for _module in pkgutil.iter_modules(conformance.suites.__path__):
    importlib.import_module(f"conformance.suites.{_module.name}")

MODEL_BYTES, MODEL_ELEMENTS = 16, 4  # add_common's float32 [2, 2]
KIB, MIB = 1024, 1024 * 1024


# -- classifiers: which named cells a declared example's values really send -----------------


def _near(sent: str, exact: str) -> set[str]:
    """The classes of CORE-WIDE-LOOKUP's sentence that ``sent`` is of, as a near miss of
    ``exact`` (none when it is ``exact`` or unrelated)."""
    if sent == exact:
        return set()
    found = set()
    if sent.lower() == exact.lower():
        found.add("case")
    if sent.strip() == exact:
        found.add("surrounding whitespace")
    if (sent and exact.startswith(sent)) or sent.endswith(exact):
        found.add("prefixes")  # the name cut short at its end, or something put before it
    if (sent and exact.endswith(sent)) or sent.startswith(exact):
        found.add("suffixes")
    differing = [a for a, b in zip(sent, exact, strict=False) if a != b]
    if len(sent) == len(exact) and differing and not any(a.isascii() for a in differing):
        found.add("look-alikes")
    return found


def _nearest(sent: str, exacts: list[str]) -> tuple[str | None, set[str]]:
    if sent in exacts:
        return sent, set()
    for exact in exacts:
        if _near(sent, exact):
            return exact, _near(sent, exact)
    return None, set()


def _lookup(arguments: dict[str, Any]) -> set[Cell]:
    """One field varied, the others exact: the variant alone decides the answer."""
    request: pb.PredictRequest = arguments["request"]
    spec = request.servable_spec
    servable, servable_classes = _nearest(spec.name, sorted(kit.SERVABLES))
    if servable is None:
        return set()
    method, method_classes = _nearest(spec.method_name, list(kit.SERVABLES[servable]))
    if method is None:
        return set()
    input_classes: set[str] = set()
    for instance in request.instances:
        names = set(instance.items)
        missing, extra = set(wide.INPUTS[method]) - names, names - set(wide.INPUTS[method])
        if missing or extra:
            if len(missing) != 1 or len(extra) != 1 or len(request.instances) != 1:
                return set()
            input_classes = _near(extra.pop(), missing.pop())
    version = spec.version_number
    version_classes = {"2**32 + 2"} if version == 2**32 + 2 else set()
    if version >= 2**63:
        version_classes.add("2**63 and above")
    if version not in (0, 1, 2) and not version_classes:
        return set()
    varied = {
        "servable": servable_classes,
        "method": method_classes,
        "input": input_classes,
        "versions": version_classes,
    }
    fields = [name for name, classes in varied.items() if classes]
    if len(fields) != 1:
        return set()
    return {(fields[0], c) for c in varied[fields[0]]}


def _missing_input(arguments: dict[str, Any]) -> set[Cell]:
    declared = wide.INPUTS[arguments["method"]]
    if arguments["missing"] not in declared:
        return set()
    first = declared.index(arguments["missing"]) == 0
    cells = {("input", "the method's first" if first else "a later one")}
    if "where" in arguments:
        cells.add(("instance", "the first" if arguments["where"] == 0 else "a later one"))
    return cells


def _size_classes(tensor: pb.Tensor) -> set[str]:
    """How a model input's byte size is wrong, in the size sentences' words."""
    dtype = codec.BY_CODE[tensor.dtype]
    if not dtype.is_numeric:
        return {dtype.name, "a text input"}  # size 0
    size = len(tensor.data)
    found = set()
    if size != MODEL_BYTES:
        found.add("larger" if size > MODEL_BYTES else "smaller")
        if size // dtype.itemsize == MODEL_ELEMENTS:
            found.add("not elements")  # the model's element count, another item size
    if dtype is not codec.BY_CODE[pb.MS_FLOAT32]:
        found.add("the dtype is wrong too")
    return found


def _add_common_size(arguments: dict[str, Any]) -> set[Cell]:
    found: set[str] = set()
    for x1, x2, bad in arguments["cases"]:
        wrong = [_size_classes(x) for x in (x1, x2)]
        sized = [w - {"the dtype is wrong too"} for w in wrong]
        if bad != any(sized):  # the example's own claim of which instances fail
            return set()
        for classes in sized:
            found |= classes
    if all(bad for _, _, bad in arguments["cases"]):
        found.add("every instance")
    return {("", c) for c in found}


def _add_common_size_text(arguments: dict[str, Any]) -> set[Cell]:
    bad: pb.Tensor = arguments["bad"]
    classes = _size_classes(bad)
    text = not codec.BY_CODE[bad.dtype].is_numeric
    if arguments["size"] != (0 if text else len(bad.data)):
        return set()  # the size the text must give is not this input's
    classes.add({"mixed": "beside a good instance", "alone": "alone"}[arguments["form"]])
    return {("", c) for c in classes}


def _largest(request: pb.PredictRequest) -> int:
    tensors = [t for instance in request.instances for t in instance.items.values()]
    return max((len(t.data) + sum(map(len, t.bytes_val)) for t in tensors), default=0)


def _concurrent(arguments: dict[str, Any]) -> set[Cell]:
    """Several calls of tens of KiB, several of a MiB or more (a few at most), all sent at once
    (kit.run_concurrently keeps CONCURRENT_THREADS in flight): two of each size class."""
    sizes = [_largest(r) for r in wide.built(arguments["requests"])]
    tens = [s for s in sizes if 10 * KIB <= s < 100 * KIB]
    mibs = [s for s in sizes if MIB <= s <= 4 * MIB]
    if len(tens) >= 2 and len(mibs) >= 2 and max(sizes) <= 4 * MIB and kit.CONCURRENT_THREADS > 1:
        return {("", "tens of KiB to a few MiB in flight at once")}
    return set()


CLASSIFY: dict[str, Callable[[dict[str, Any]], set[Cell]]] = {
    "CORE-WIDE-LOOKUP": _lookup,
    "CORE-MISSING-INPUT": _missing_input,
    "STRICT-TEXT-MISSING-INPUT": _missing_input,
    "CORE-ADD-COMMON-SIZE": _add_common_size,
    "STRICT-TEXT-ADD-COMMON-SIZE": _add_common_size_text,
    "CORE-CONCURRENT-MIXED": _concurrent,
}


def _cases(requirement: str) -> list[named.Case]:
    return [c for d in named.DECLARED.get(requirement, []) for c in d.cases]


# -- the tests ------------------------------------------------------------------------------


def test_every_listed_requirement_has_a_classifier() -> None:
    assert set(NAMED) <= set(BY_ID)
    assert set(NAMED) == set(CLASSIFY)
    assert set(named.DECLARED) <= set(NAMED), "explicit examples of a requirement NAMED lacks"


@pytest.mark.parametrize("requirement", sorted(NAMED))
def test_named_phrases_are_the_sentences_words(requirement: str) -> None:
    sentence = BY_ID[requirement].sentence
    for group in NAMED[requirement]:
        for phrase in group.phrases():
            assert phrase in sentence, f"{requirement}: {phrase!r} is not in {sentence!r}"


@pytest.mark.parametrize("requirement", sorted(NAMED))
def test_every_named_cell_has_an_explicit_example(requirement: str) -> None:
    declared = set().union(*(c.covers for c in _cases(requirement)))
    wanted = named_cells(requirement)
    assert wanted - declared == set(), f"{requirement}: no explicit example of these"
    assert declared - wanted == set(), f"{requirement}: declared cells its sentence lacks"


@pytest.mark.parametrize("requirement", sorted(NAMED))
def test_each_explicit_example_is_of_the_classes_it_claims(requirement: str) -> None:
    for case in _cases(requirement):
        got = CLASSIFY[requirement](case.arguments)
        assert case.covers <= got, f"{requirement} {case.id}: claims {case.covers}, sends {got}"


def _test_function(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("requirement", sorted(NAMED))
def test_explicit_examples_are_sent_by_the_requirements_tests(requirement: str) -> None:
    for declaration in named.DECLARED[requirement]:
        assert declaration.applied_to, f"{requirement}: examples declared but never applied"
        for module, name in declaration.applied_to:
            test = _test_function(module, name)
            marks = getattr(test, "pytestmark", [])
            ids = [m.args[0] for m in marks if m.name == MARKER]
            assert ids == [requirement], f"{module}.{name} is a test of {ids}"
            if hasattr(test, "hypothesis"):  # @example rows of the property
                rows = [r.kwargs for r in test.hypothesis.inner_test.hypothesis_explicit_examples]
            else:  # the parameters of a fixed test
                rows = [
                    dict(zip(mark.args[0], param.values, strict=True))
                    for mark in marks
                    if mark.name == "parametrize"
                    for param in mark.args[1]
                    if hasattr(param, "values")  # a pytest.param, not a plain value
                ]
            for case in declaration.cases:
                assert any(
                    all(row.get(key) is value for key, value in case.arguments.items())
                    for row in rows
                ), f"{module}.{name} does not send {case.id}"


def test_a_mislabelled_example_is_refused() -> None:
    """The classifiers are the check: a padded servable name claimed as a padded method name,
    or a float32 input claimed as counting elements, is not what it claims."""
    padded = kit.echo_request([codec.text_tensor("v")])
    padded.servable_spec.name = " conformance"
    assert _lookup({"request": padded}) >= {("servable", "surrounding whitespace")}
    assert ("method", "surrounding whitespace") not in _lookup({"request": padded})
    both = kit.echo_request([codec.text_tensor("v")])
    both.servable_spec.name, both.servable_spec.method_name = " conformance", " echo"
    assert _lookup({"request": both}) == set(), "two fields varied: neither decides alone"
    float32 = codec.array_to_tensor(np.zeros([5], "<f4"))
    assert "not elements" not in _size_classes(float32)
