"""Option checking: every mistake is one line (OptionsError), never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.options import OptionsError, build, parse_expectations

CMD = "server --address {address}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "exactly one of --target"),
        ({"target": "a:1", "server_cmd": CMD}, "exactly one of --target"),
        ({"server_cmd": "server"}, "{address} placeholder"),
        ({"server_cmd": CMD, "tls_ca": __file__}, "are for --target"),
        ({"target": "localhost"}, "host:port or unix:PATH"),
        ({"target": "a:99999"}, "host:port or unix:PATH"),
        ({"target": "unix:"}, "empty unix socket path"),
        ({"target": "a:1", "tls_cert": __file__}, "come together"),
        ({"target": "a:1", "tls_cert": __file__, "tls_key": __file__}, "needs --tls-ca"),
        ({"target": "a:1", "tls_ca": "/no/such/ca.pem"}, "cannot read /no/such/ca.pem"),
        ({"target": "a:1", "profiles": ["core", "speed"]}, "unknown profile 'speed'"),
        ({"target": "a:1", "max_msg_mb_size": 513}, "expected 1..512"),
        ({"target": "a:1", "ready_timeout": -1.0}, "seconds > 0"),
        ({"target": "a:1", "certificate": "cert.pdf"}, "must end in .md or .html"),
        ({"target": "a:1", "expect_failures": "/no/such/file"}, "cannot read expectation file"),
    ],
)
def test_bad_options(values: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionsError, match=message.replace("(", r"\(").replace("{", r"\{")):
        build(values)


def test_good_options() -> None:
    options = build({"target": "unix:/tmp/s", "profiles": ["core", "uds", "core"]})
    assert options.mode == "target" and options.subject == "unix:/tmp/s"
    assert options.profiles == ("core", "uds")  # de-duplicated, order kept
    launched = build({"server_cmd": CMD, "max_msg_mb_size": 2, "thorough": True, "seed": 5})
    assert launched.mode == "server-cmd" and launched.max_msg_mb_size == 2 and launched.seed == 5


def test_expectation_file(tmp_path: Path) -> None:
    path = tmp_path / "expected.txt"
    path.write_text("# header\n\nCORE-SPEC-ECHO  # why\n  STRICT-TEXT-TRUNCATION\nCORE-SPEC-ECHO\n")
    assert parse_expectations(str(path)) == {"CORE-SPEC-ECHO", "STRICT-TEXT-TRUNCATION"}
    path.write_text("CORE-SPEC-ECHO\ncore-spec-echo\n")
    with pytest.raises(OptionsError, match=r"expected.txt:2: unknown requirement ID"):
        parse_expectations(str(path))
