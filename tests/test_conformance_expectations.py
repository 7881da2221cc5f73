"""An expectation file against a real deviation: the mutant ``strict-truncate-bytes`` (tests/
mutants) cuts error texts by UTF-8 bytes above 200 characters. Listed as a known deviation, its
failure is an expected failure, the profile passes with it, and the certificate says so; which
truncation cases fail shows the check tells the two ways of counting apart."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from conformance.api import certify

TESTS = Path(__file__).resolve().parent
SERVE = TESTS / "mutants" / "serve.py"
SERVER_ARGS = "--address {address} --device cpu"


def test_a_listed_deviation_is_an_expected_failure(tmp_path: Path) -> None:
    expected = tmp_path / "expected.txt"
    expected.write_text("STRICT-TEXT-TRUNCATION  # cut by bytes\n")
    certificate = tmp_path / "c.md"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVE))} "
    command += f"--mutant strict-truncate-bytes {SERVER_ARGS}"
    result = certify(
        server_cmd=command,
        profiles=["strict"],
        args=["--expect-failures", str(expected), "--certificate", str(certificate)],
        timeout_s=180,
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
