"""An expectation file against a real deviation: the mutant ``strict-truncate-chars`` (tests/
mutants) cuts error texts by characters, not by UTF-8 bytes as upstream does. Listed as a known
deviation, its failure is an expected failure, the profile passes with it, and the certificate
says so; which truncation cases fail shows the check tells the two ways of counting apart."""

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
    expected.write_text("STRICT-TEXT-TRUNCATION  # cut by characters\n")
    certificate = tmp_path / "c.md"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVE))} "
    command += f"--mutant strict-truncate-chars {SERVER_ARGS}"
    result = certify(
        server_cmd=command,
        profiles=["strict"],
        args=["--expect-failures", str(expected), "--certificate", str(certificate)],
        timeout_s=180,
    )
    assert result.exit_status == 0, result.output[-3000:]
    assert result.outcomes["STRICT-TEXT-TRUNCATION"] == "expected-failure"
    assert result.verdicts == {"strict": "passed-with-expected-failures"}
    assert result.report is not None
    assert result.report.result == "conformant-with-expected-failures"
    truncation = next(r for r in result.report.requirements if r.id.endswith("TRUNCATION"))
    cases = sorted(test.rsplit("[", 1)[1].rstrip("]") for test in truncation.failed_tests)
    # Non-ASCII texts over 384 bytes are kept whole (385 bytes) or cut elsewhere (600 bytes);
    # ASCII, where bytes are characters, and 384 bytes kept whole are right.
    assert cases == ["385-non-ascii-cut", "600-e-acute-split"]
    text = certificate.read_text()
    assert "with the expected failures listed below" in text
    assert "- `STRICT-TEXT-TRUNCATION` (SHOULD, strict, expected-failure)" in text
