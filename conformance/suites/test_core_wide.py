"""core: the space a real server meets, every reply compared in full with the kit's model
(conformance.oracle): tensors up to several MiB, texts from all of Unicode at every length
boundary, hundreds of instances, near-miss names, versions over the whole uint64 range, and
concurrent calls that mix all of these.

Gating runs are derandomized and small: each property's ``@example`` rows put its boundaries
(the largest tensor, the most instances, versions at 2**32 and 2**63) in every run, and the
strategies (conformance.wide_strategies) try large cases first; ``--thorough`` explores.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import assume, example, given
from hypothesis import strategies as st

from conformance.reporting import repro
from conformance.verify import compare, kit, named
from conformance.verify import strategies as gen
from conformance.verify import wide_strategies as wide
from conformance.verify.hypo import examples
from conformance.verify.marks import requirement
from conformance.verify.wire import Target, make_request
from protos import codec
from protos import ms_service_pb2 as pb

CALLS = 16


def _roundtrip(server: Target, request: pb.PredictRequest, what: str) -> None:
    __tracebackhide__ = True
    compare.check(request, server.predict(request), what)


def _tensor(dtype: str, dims: list[int], fill: int = 0x5A) -> wide.Built[pb.Tensor]:
    return wide.Built(f"<{dtype} tensor {dims}>", lambda: _make_tensor(dtype, dims, fill))


def _make_tensor(dtype: str, dims: list[int], fill: int) -> pb.Tensor:
    count = codec.element_count(dims)
    data = (bytes(range(fill, 256)) + bytes(range(fill))) * (
        count * np.dtype(dtype).itemsize // 256 + 1
    )
    tensor = pb.Tensor(dtype=codec.dtype_of_numpy(np.dtype(dtype)).code)
    tensor.data = data[: count * np.dtype(dtype).itemsize]
    tensor.shape.dims.extend(dims)
    return tensor


@requirement("CORE-WIDE-TENSORS")
@examples(6)
@given(x=wide.large_numeric_tensors(), version=st.sampled_from([0, 1, 2]))
@example(x=_tensor("<f8", [wide.LARGE_BYTES // 8]), version=0)  # 4 MiB
@example(x=_tensor("<u2", [2, 3, 2, 2, 64, 32, 16]), version=1)  # 1.5 MiB, 7 dims
@example(x=_tensor("|i1", [1, 2, 1, 2, 1, 2, 3, 4]), version=2)  # 8 dims
@example(x=_tensor("<f4", [7, 0]), version=0)  # empty
def test_wide_tensors(
    conformance_server: Target, x: pb.Tensor | wide.Built[pb.Tensor], version: int
) -> None:
    request = kit.echo_request([wide.built(x)], version)
    _roundtrip(conformance_server, request, "echo of a wide tensor")


def _text(length: int, unit: str) -> wide.Built[pb.Tensor]:
    return wide.Built(
        f"<text of {length} characters of {unit!r}>",
        lambda: codec.text_tensor((unit * length)[:length]),
    )


AWKWARD_ERROR = "\x00\t\n\u202e\U0001f600e\u0301"


@requirement("CORE-WIDE-TEXTS")
@examples(8)
@given(
    xs=st.lists(wide.wide_string_tensors() | wide.wide_bytes_tensors(), min_size=1, max_size=4),
    errors=wide.error_patterns(4),
)
@example(xs=[_text(385, "é漢😀\x00\n")], errors=[AWKWARD_ERROR] * 4)
@example(
    xs=[_text(65537, "\u202e\U0001f600e\u0301"), _text(193, "\r")], errors=["", AWKWARD_ERROR] * 2
)
@example(
    xs=[wide.Built("<4097 bytes>", lambda: codec.bytes_tensor(bytes(range(256)) * 16 + b"\x00"))],
    errors=[""] * 4,
)
def test_wide_texts(
    conformance_server: Target, xs: list[pb.Tensor | wide.Built[pb.Tensor]], errors: list[str]
) -> None:
    # echo returns each value as sent; fail echoes it too, and fails those given an error text
    # (controls, NUL, combining, right-to-left, astral) with a text that contains that error.
    tensors = [wide.built(x) for x in xs]
    _roundtrip(conformance_server, kit.echo_request(tensors), "echo of wide texts")
    request = kit.fail_request(tensors, errors[: len(xs)])
    _roundtrip(conformance_server, request, "fail with wide texts")


@st.composite
def _many(draw: st.DrawFn) -> pb.PredictRequest:
    """Up to hundreds of instances. Drawing each one would spend the budget in hypothesis, so
    a few drawn tensors and error texts are spread by a drawn seed among cheap distinct ones
    (each instance's own index), which keeps every instance telling apart from the others."""
    method = draw(st.sampled_from([kit.FAIL, kit.ECHO, kit.ADD_COMMON]))
    counts = st.sampled_from([wide.MANY_INSTANCES, 101, 1]) | st.integers(1, wide.MANY_INSTANCES)
    count = draw(counts)
    rng = random.Random(draw(st.integers(0, 2**32)))
    drawn = draw(st.lists(gen.tensors(), min_size=1, max_size=4))
    xs = [
        drawn[i % len(drawn)] if rng.random() < 0.2 else codec.text_tensor(f"instance {i}")
        for i in range(count)
    ]
    if method == kit.ECHO:
        return kit.echo_request(xs, draw(st.sampled_from([0, 1, 2])))
    if method == kit.FAIL:
        failing = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
        texts = draw(wide.error_patterns(3, max_error=12))
        errors = [
            (texts[i % 3] or f"error {i}") if rng.random() < failing else "" for i in range(count)
        ]
        return kit.fail_request(xs, errors)
    model = [_make_tensor("<f4", [2, 2], i % 256) for i in range(min(count, 256))]
    pairs = [
        (model[i % len(model)], xs[i] if rng.random() < 0.1 else model[-i % len(model)])
        for i in range(count)
    ]
    return kit.add_request(kit.ADD_COMMON, pairs)


@requirement("CORE-WIDE-INSTANCES")
@examples(4)
@given(request=_many())
@example(
    request=wide.Built(
        f"<echo of {wide.MANY_INSTANCES} instances>",
        lambda: kit.echo_request([codec.text_tensor(str(i)) for i in range(wide.MANY_INSTANCES)]),
    )
)
@example(
    request=wide.Built(
        "<fail of 150 instances, the last 51 failing>",
        lambda: kit.fail_request(
            [codec.text_tensor(str(i)) for i in range(150)], [""] * 99 + ["x"] * 51
        ),
    )
)
def test_wide_instances(
    conformance_server: Target, request: pb.PredictRequest | wide.Built[pb.PredictRequest]
) -> None:
    request = wide.built(request)
    _roundtrip(conformance_server, request, f"{len(request.instances)} instances")


@st.composite
def _lookups(draw: st.DrawFn) -> pb.PredictRequest:
    servable = draw(st.sampled_from(sorted(kit.SERVABLES)))
    method = draw(st.sampled_from(kit.SERVABLES[servable]))
    name = draw(st.just(servable) | wide.near_misses(servable))
    method_name = draw(st.just(method) | wide.near_misses(method))
    inputs = wide.INPUTS[method]
    instance = {
        n: codec.text_tensor("") if n == "error" else codec.text_tensor("n") for n in inputs
    }
    if draw(st.booleans()):  # a near miss of one input name instead of the name
        missed = draw(st.sampled_from(inputs))
        instance[draw(wide.near_misses(missed))] = instance.pop(missed)
    return make_request(name, method_name, [instance], draw(wide.versions()))


def _echo_at(version: int) -> pb.PredictRequest:
    return make_request(kit.CONFORMANCE, kit.ECHO, [{"x": codec.text_tensor("v")}], version)


def _variants(name: str) -> dict[str, list[str]]:
    """Near misses of ``name``, by the class CORE-WIDE-LOOKUP's sentence names them: each
    both ways where it has two (a letter's case at the start and throughout, whitespace before
    and after, a name cut short or extended at either end)."""
    look = next(i for i, char in enumerate(name) if char in wide.LOOK_ALIKES)
    cut = len(name) > 1  # a one-letter name has no shorter prefix or suffix but ""
    return {
        "case": sorted({name.upper(), name.capitalize()} - {name}),
        "surrounding whitespace": [" " + name, name + "\t"],
        "prefixes": ["_" + name, *([name[:-1]] if cut else [])],
        "suffixes": [name + "s", *([name[1:]] if cut else [])],
        "look-alikes": [name[:look] + wide.LOOK_ALIKES[name[look]] + name[look + 1 :]],
    }


def _lookup_examples() -> named.Explicit:
    """Every class the sentence names, for every name it names, with the other names exact
    (so the near miss alone decides): the servable, the method, and the inputs, a method's
    first (echo's x) and a later one (fail's error); then versions that wrap to deployed ones."""
    lookup = named.Explicit("CORE-WIDE-LOOKUP")
    echo_x = {"x": codec.text_tensor("v")}
    for near, names in _variants(kit.CONFORMANCE).items():
        for name in names:
            lookup.case([("servable", near)], request=make_request(name, kit.ECHO, [echo_x]))
    for near, names in _variants(kit.ECHO).items():
        for name in names:
            request = make_request(kit.CONFORMANCE, name, [echo_x])
            lookup.case([("method", near)], request=request)
    for method, missed in ((kit.ECHO, "x"), (kit.FAIL, "error")):
        for near, names in _variants(missed).items():
            for name in names:
                items = {"x": codec.text_tensor("v"), "error": codec.text_tensor("")}
                items = {n: t for n, t in items.items() if n in wide.INPUTS[method]}
                items[name] = items.pop(missed)
                request = make_request(kit.CONFORMANCE, method, [items])
                lookup.case([("input", near)], request=request)
    for version in (2**63, 2**63 + 2, 2**64 - 1):
        lookup.case([("versions", "2**63 and above")], request=_echo_at(version))
    lookup.case([("versions", "2**32 + 2")], request=_echo_at(2**32 + 2))
    return lookup


LOOKUP = _lookup_examples()


@requirement("CORE-WIDE-LOOKUP")
@examples(25)
@given(request=_lookups())
@LOOKUP.examples
def test_wide_lookup(conformance_server: Target, request: pb.PredictRequest) -> None:
    spec = request.servable_spec
    _roundtrip(
        conformance_server,
        request,
        f"lookup of {spec.name!r}.{spec.method_name!r} v{spec.version_number}",
    )


@st.composite
def _mixed_calls(draw: st.DrawFn) -> list[pb.PredictRequest]:
    """CALLS distinct calls in a drawn order: any requests (conformance.wide_strategies), and
    echo calls at every version, so that calls differing only in version run side by side."""
    anything = draw(
        st.lists(
            wide.requests(max_bytes=256 * 1024, max_instances=4),
            min_size=CALLS // 2,
            max_size=CALLS // 2,
        )
    )
    payloads = st.lists(wide.wide_tensors(256 * 1024), min_size=1, max_size=3)
    echoes = [kit.echo_request(draw(payloads), i % 3) for i in range(CALLS - len(anything))]
    calls = draw(st.permutations(anything + echoes))
    unique = {r.SerializeToString(deterministic=True) for r in calls}
    assume(len(unique) == len(calls))
    return calls


# Large payloads at once: each size from tens of KiB to a few MiB twice (numeric tensors of
# seeded random bytes, every call's its own), so that two large tensors are in flight together
# whatever the server's threshold, beside small calls of the other methods. About 9 MiB each
# way; kit.run_concurrently keeps up to 8 calls in flight.
LARGE_AT_ONCE = (32 * 1024, 48 * 1024, 256 * 1024, wide.MIB, 3 * wide.MIB)
LARGE_DTYPES = ("<f4", "<u2", "<i8", "|u1", "<f8")


def _large_at_once() -> list[pb.PredictRequest]:
    calls = []
    for copy in range(2):
        for index, (size, dtype) in enumerate(zip(LARGE_AT_ONCE, LARGE_DTYPES, strict=True)):
            itemsize = np.dtype(dtype).itemsize
            tensor = pb.Tensor(dtype=codec.dtype_of_numpy(np.dtype(dtype)).code)
            tensor.data = random.Random(f"large {copy} {index}").randbytes(size)
            tensor.shape.dims.extend([2, size // itemsize // 2])
            calls.append(kit.echo_request([tensor], (index + copy) % 3))
    calls += [
        kit.fail_request([codec.text_tensor("small")], ["boom"]),
        kit.fail_request([codec.text_tensor("a"), codec.text_tensor("b")], ["", "x"], 1),
        kit.add_request(kit.ADD_COMMON, [(_make_tensor("<f4", [2, 2], 7),) * 2]),
        kit.add_request(
            kit.ADD_CAST, [(_make_tensor("<i4", [3], 9), _make_tensor("|u1", [3], 11))]
        ),
        kit.echo_request([codec.text_tensor("small echo")], 2),
        make_request(kit.CONFORMANCE, "no-such-method", [{"x": codec.text_tensor("x")}]),
    ]
    random.Random(0).shuffle(calls)  # large and small interleaved
    return calls


CONCURRENT = named.Explicit("CORE-CONCURRENT-MIXED")
CONCURRENT.case(
    ["tens of KiB to a few MiB in flight at once"],
    requests=wide.Built("<10 large echoes of 32 KiB to 3 MiB, 6 small calls>", _large_at_once),
)


@requirement("CORE-CONCURRENT-MIXED")
@examples(2, shrink=False)
@given(requests=_mixed_calls())
@CONCURRENT.examples
def test_concurrent_mixed(
    conformance_server: Target,
    requests: list[pb.PredictRequest] | wide.Built[list[pb.PredictRequest]],
) -> None:
    # Servables, methods, versions, sizes and error patterns at once: each reply must be its
    # own request's, in full (another request's data or version is a difference).
    requests = wide.built(requests)
    replies = kit.run_concurrently(conformance_server, requests)
    for call, (request, reply) in enumerate(zip(requests, replies, strict=True)):
        try:
            compare.check(request, reply, f"concurrent call {call}")
        except AssertionError:
            repro.record(conformance_server.endpoint, request)  # the call that went wrong
            raise


__all__: list[str] = []  # pytest collects its tests; nothing here is imported
