"""A check of level L draws only inputs whose expected behaviour is required at level L (issue 18).

The inputs whose expected reply only SHOULD asks for are those that meet one of upstream's
documented defects (conformance.verify.oracle.upstream_defect: zero instances, a non-UTF-8
MS_STRING, dims numpy or upstream cannot count). The generators tag their input classes with a
level (wide_strategies.DEFECTS, hostile.HANDMADE) and take the level of the check that draws;
these tests hold every generator a MUST check draws from to those tags, and show that a server
which copies one of upstream's defects fails no MUST for it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import zygote

from conformance.verify import hostile, kit, malformed, oracle
from conformance.verify import strategies as gen
from conformance.verify import wide_strategies as wide
from conformance.verify.oracle import MUST, SHOULD
from protos import codec
from protos import ms_service_pb2 as pb

SERVE = Path(__file__).resolve().parent / "mutants" / "serve.py"
DRAWS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", list(wide.DEFECTS))
def test_each_request_class_meets_a_defect_exactly_when_tagged_should(name: str) -> None:
    @DRAWS
    @given(request=wide.requests(only=name))
    def check(request: pb.PredictRequest) -> None:
        found = oracle.upstream_defect(request)
        if wide.DEFECTS[name] == MUST:
            assert found is None, f"class {name!r} is tagged MUST but drew {found}"
        else:
            assert found is not None, f"class {name!r} is tagged SHOULD but met no defect"

    check()


def _echo(tensor: pb.Tensor) -> pb.PredictRequest:
    return kit.echo_request([tensor])


# Every generator a MUST check draws whole requests or tensors from, at MUST level.
MUST_DRAWN: dict[str, st.SearchStrategy[pb.PredictRequest]] = {
    "wide.requests": wide.requests(),
    "hostile.hostile_requests": hostile.hostile_requests(MUST),
    "gen.tensors": gen.tensors().map(_echo),
    "wide.wide_tensors": wide.wide_tensors(4097).map(_echo),
    "wide.large_numeric_tensors": wide.large_numeric_tensors().map(_echo),
    **{f"malformed {c.requirement}": c.tensors().map(_echo) for c in malformed.CASES},
}


@pytest.mark.parametrize("name", list(MUST_DRAWN))
def test_must_generators_draw_no_input_only_should_covers(name: str) -> None:
    @DRAWS
    @given(request=MUST_DRAWN[name])
    def check(request: pb.PredictRequest) -> None:
        assert oracle.upstream_defect(request) is None

    check()


def test_should_level_generators_reach_the_defects() -> None:
    # The SHOULD checks do draw the classes MUST leaves out (else they cover nothing).
    found: set[str] = set()

    @DRAWS
    @given(request=hostile.hostile_requests(SHOULD))
    def draw(request: pb.PredictRequest) -> None:
        defect = oracle.upstream_defect(request)
        if defect is not None:
            found.add(defect.split(" (")[0])

    draw()
    assert {"zero instances", "a dim above 2**31-1"} <= found, found


@pytest.mark.parametrize(("name", "level"), [(name, level) for name, level, _ in hostile.HANDMADE])
def test_each_handmade_case_is_tagged_with_its_level(name: str, level: str) -> None:
    request = next(build for case, _, build in hostile.HANDMADE if case == name)()
    defect = oracle.upstream_defect(request)
    assert (defect is None) == (level == MUST), f"{name} is tagged {level}; defect: {defect}"


def test_a_must_expectation_refuses_an_input_only_should_covers() -> None:
    zero = kit.echo_request([])
    non_utf8 = _echo(pb.Tensor(dtype=pb.MS_STRING, bytes_val=[b"\xff"]))
    for request in (zero, non_utf8):
        with pytest.raises(oracle.LevelError, match="MUST check drew"):
            oracle.expect(request, MUST)
        assert oracle.expect(request, SHOULD).error is not None
    assert oracle.expect(_echo(codec.text_tensor("ok")), MUST).error is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mutant", "should"),
    [
        ("strict-zero-instances-hang", ()),
        ("strict-non-utf8-crash", ("ROBUSTNESS-UPSTREAM-DEFECTS",)),
    ],
)
def test_a_server_copying_an_upstream_defect_fails_no_must_for_it(
    mutant: str, should: tuple[str, ...], tmp_path: Path
) -> None:
    # Each hangs or dies where upstream does; the MUST checks that drew such inputs before
    # (the mixed concurrent calls, the hostile requests) pass, and a SHOULD one fails.
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVE))} --mutant {mutant} "
    command += "--address {address} --device cpu"
    musts = ["CORE-CONCURRENT-MIXED", "ROBUSTNESS-HOSTILE-REQUESTS"]
    args = [f"--requirement={r}" for r in [*musts, *should]]
    result = zygote.certify(server_cmd=command, args=args, timeout_s=180)
    expected = {**dict.fromkeys(musts, "passed"), **dict.fromkeys(should, "failed")}
    got = {r: result.outcomes[r] for r in expected}
    assert got == expected, result.output[-3000:]
