"""Flaws the harness once let through, each in a reference server broken in that one way (this
module is also that server: ``python tests/test_conformance_flaws.py --flaw NAME ARGS...``
runs ``reference-server ARGS...`` with the flaw installed). Each run must now be caught.

* ``collapse``: an all-failed reply collapses to (1, "Serving Error: something failed"), not to
  the instances' own error;
* ``truncate-bytes``: error texts are cut by UTF-8 bytes, above 200 characters;
* ``request-code-1``: request-level errors carry code 1 instead of 2;
* ``hang-fail-3``: a ``fail`` request of 3 or more instances is never answered;
* ``resnet-broken``: resnet50 answers every request with a request-level code 3 error.
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.api import Certification, certify

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
SERVER_ARGS = (
    "--address {address} --certificate {certificate} --private-key {private_key} "
    "--custom-ca {custom_ca} --verify-client {verify_client} "
    "--max-msg-mb-size {max_msg_mb_size} --device cpu"
)
RUN_TIMEOUT_S = 180


def command(flaw: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE))} --flaw {flaw} {SERVER_ARGS}"


def run(flaw: str, *args: str) -> Certification:
    return certify(server_cmd=command(flaw), args=args, timeout_s=RUN_TIMEOUT_S)


def assert_failed(result: Certification, *requirements: str) -> None:
    assert result.exit_status == 1, result.output[-3000:]
    missed = [r for r in requirements if result.outcomes.get(r) != "failed"]
    assert not missed, f"not reported as failed: {missed}; failed: {result.failed}"


def test_a_collapsed_error_must_be_the_instances_own() -> None:
    selection = "fail_pattern or reply_all_failed or add_common_size or fail_text or collapse"
    result = run("collapse", "--profile", "core", "--profile", "strict", "-k", selection)
    assert_failed(
        result,
        "CORE-FAIL-PATTERN",
        "CORE-REPLY-ALL-FAILED",
        "CORE-ADD-COMMON-SIZE",
        "STRICT-FAIL-TEXT",
        "STRICT-TEXT-ADD-COMMON-SIZE",
        "STRICT-COLLAPSE-IDENTICAL-FAILURES",
    )
    assert "its text must contain the error it was given" in result.output
    assert "the expected code is 2 (INVALID_INPUTS)" in result.output


def test_truncation_counts_characters_at_the_threshold(tmp_path: Path) -> None:
    # Listed as a known deviation, on a complete profile: caught (an expected failure), and the
    # profile passes with that deviation, saying so.
    expected = tmp_path / "expected.txt"
    expected.write_text("STRICT-TEXT-TRUNCATION  # cut by bytes\n")
    certificate = tmp_path / "c.md"
    result = run(
        "truncate-bytes",
        "--profile",
        "strict",
        "--expect-failures",
        str(expected),
        "--certificate",
        str(certificate),
    )
    assert result.exit_status == 0, result.output[-3000:]
    assert result.outcomes["STRICT-TEXT-TRUNCATION"] == "expected-failure"
    assert result.verdicts == {"strict": "passed-with-expected-failures"}
    assert result.report["result"] == "conformant-with-expected-failures"
    truncation = next(r for r in result.report["requirements"] if r["id"].endswith("TRUNCATION"))
    cases = sorted(test.rsplit("[", 1)[1].rstrip("]") for test in truncation["failed_tests"])
    # Cut too early (384 kept whole by a correct server), and by bytes; 385 ASCII is right.
    assert cases == ["384-ascii-kept", "384-non-ascii-kept", "385-non-ascii-cut", "600-e-acute-cut"]
    text = certificate.read_text()
    assert "with the expected failures listed below" in text
    assert "- `STRICT-TEXT-TRUNCATION` (SHOULD, strict, expected-failure)" in text


def test_request_level_errors_carry_code_2() -> None:
    result = run("request-code-1", "--profile", "core", "-k", "missing_input or unknown_servable")
    assert_failed(result, "CORE-MISSING-INPUT", "CORE-UNKNOWN-SERVABLE")
    assert "a request-level error with code 2 (INVALID_INPUTS) is expected" in result.output


@pytest.mark.slow
def test_a_hung_server_ends_the_run_quickly() -> None:
    started = time.monotonic()
    result = run("hang-fail-3", "--profile", "core")
    elapsed = time.monotonic() - started
    # One 20 s deadline (a reference-client call), then every call fails at once.
    assert elapsed < 90, f"the run took {elapsed:.0f} s"
    assert_failed(result, "CORE-FAIL-PATTERN", "CLIENT-RESULT-SHAPES")
    assert "hung on an earlier request" in result.output
    assert "every later call to it fails at once" in result.output


def test_a_broken_resnet50_fails_its_profile() -> None:
    result = run("resnet-broken", "-k", "resnet")  # no --profile: resnet only if deployed
    assert_failed(result, "RESNET-LABEL-IN-IMAGENET")
    assert result.verdicts["resnet"] == "failed"


# --- the flawed servers ------------------------------------------------------------------------


def _collapse() -> None:
    import reference_server.replies as replies

    original = replies.outcomes_reply

    def outcomes_reply(spec: Any, outputs: Any, outcomes: Any) -> Any:
        reply = original(spec, outputs, outcomes)
        if not reply.instances and len(reply.error_msg) == 1:
            return replies.error_reply(spec, 1, "Serving Error: something failed")
        return reply

    replies.outcomes_reply = outcomes_reply


def _truncate_bytes() -> None:
    import reference_server.replies as replies

    def truncate(text: str) -> str:
        if len(text) <= 200:
            return text
        data = text.encode()
        return (data[:192] + b"..." + data[-192:]).decode("utf-8", "replace")

    replies.truncate = truncate


def _request_code_1() -> None:
    import reference_server.dispatch as dispatch
    import reference_server.replies as replies

    original = replies.error_reply

    class Replies:
        def __getattr__(self, name: str) -> Any:
            return getattr(replies, name)

        @staticmethod
        def error_reply(spec: Any, code: int, text: str) -> Any:
            return original(spec, 1 if code == 2 else code, text)

    dispatch.replies = Replies()  # type: ignore[assignment]


def _hang_fail_3() -> None:
    import reference_server.dispatch as dispatch

    original = dispatch.Dispatcher.predict
    never = threading.Event()

    def predict(self: Any, request: Any) -> Any:
        if request.servable_spec.method_name == "fail" and len(request.instances) >= 3:
            never.wait(600)
        return original(self, request)

    dispatch.Dispatcher.predict = predict  # type: ignore[method-assign]


def _resnet_broken() -> None:
    import reference_server.dispatch as dispatch
    import reference_server.replies as replies

    original = dispatch.Dispatcher.predict

    def predict(self: Any, request: Any) -> Any:
        if request.servable_spec.name == "resnet50":
            return replies.error_reply(request.servable_spec, 3, "resnet50: weights not loaded")
        return original(self, request)

    dispatch.Dispatcher.predict = predict  # type: ignore[method-assign]


FLAWS: dict[str, Callable[[], None]] = {
    "collapse": _collapse,
    "truncate-bytes": _truncate_bytes,
    "request-code-1": _request_code_1,
    "hang-fail-3": _hang_fail_3,
    "resnet-broken": _resnet_broken,
}


def serve(argv: list[str]) -> int:
    at = argv.index("--flaw")
    flaw = argv[at + 1]
    sys.path.insert(0, str(ROOT))
    FLAWS[flaw]()
    from reference_server.cli import main

    return main(argv[:at] + argv[at + 2 :])


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
