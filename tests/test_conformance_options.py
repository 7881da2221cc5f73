"""Option checking: every mistake is one line (OptionsError), never a traceback; and the one
option table both front ends (the command and the pytest plugin) are built from."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from conformance._active import options_of
from conformance.catalogue import (
    DEFAULT_READY_TIMEOUT_S,
    DEFAULT_RUN_TIMEOUT_S,
    OPTIONS,
    PROFILE_NAMES,
    OptionsError,
    RunOptions,
    build,
    parse_expectations,
    writable,
)
from conformance.cli import build_parser, main, pytest_arguments, run_options

pytest_plugins = ["pytester"]

CMD = "server --address {address}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "exactly one of --target"),
        ({"target": "a:1", "server_cmd": CMD}, "exactly one of --target"),
        ({"server_cmd": "server"}, "{address} placeholder"),
        ({"client_cmd": "t", "server_cmd": CMD}, "exactly one of --target"),
        ({"client_cmd": "t", "target": "a:1"}, "or --client-cmd COMMAND"),
        ({"client_cmd": "  "}, "--client-cmd: empty command"),
        ({"client_cmd": "t", "tls_ca": __file__}, "the harness runs its own servers"),
        ({"client_cmd": "t", "max_msg_mb_size": 3}, "the harness runs its own servers"),
        ({"server_cmd": CMD, "tls_ca": __file__}, "are for --target"),
        ({"target": "localhost"}, "host:port or unix:PATH"),
        ({"target": "a:99999"}, "host:port or unix:PATH"),
        ({"target": "unix:"}, "empty unix socket path"),
        ({"target": "a:1", "tls_cert": __file__}, "come together"),
        ({"target": "a:1", "tls_cert": __file__, "tls_key": __file__}, "needs --tls-ca"),
        ({"target": "a:1", "tls_ca": "/no/such/ca.pem"}, "cannot read /no/such/ca.pem"),
        ({"target": "a:1", "profile": ["core", "speed"]}, "unknown profile 'speed'"),
        ({"target": "a:1", "max_msg_mb_size": 513}, "expected 1..512"),
        ({"target": "a:1", "max_msg_mb_size": 0}, "expected 1..512"),
        ({"target": "a:1", "max_msg_mb_size": True}, "expected 1..512"),
        ({"target": "a:1", "ready_timeout": -1.0}, "seconds > 0"),
        ({"target": "a:1", "ready_timeout": 0.0}, "seconds > 0, got 0.0"),  # not the default
        ({"target": "a:1", "ready_timeout": math.nan}, "finite number of seconds > 0, got nan"),
        ({"target": "a:1", "ready_timeout": math.inf}, "finite number of seconds > 0, got inf"),
        ({"target": "a:1", "run_timeout": math.nan}, "--run-timeout: expected a finite"),
        ({"target": "a:1", "run_timeout": 0}, "--run-timeout: expected a finite"),
        ({"target": "a:1", "seed": -1}, "--seed: expected an integer >= 0"),
        ({"target": "a:1", "certificate": "cert.pdf"}, "must end in .md or .html"),
        ({"target": "a:1", "expect_failures": "/no/such/file"}, "cannot read expectation file"),
        ({"target": "a:1", "json_report": "/no/such/dir/r.json"}, "no folder /no/such/dir"),
        ({"target": "a:1", "certificate": "/no/such/dir/c.md"}, "no folder /no/such/dir"),
        ({"target": "a:1", "json_report": "/etc/hostname/r.json"}, "no folder /etc/hostname"),
        ({"target": "a:1", "json_report": ""}, "empty file name"),
        ({"target": "a:1", "readiness": 3}, "unknown options: readiness"),
        ({"target": "a:1", "requirement": ["CORE-NOPE"]}, "unknown requirement ID 'CORE-NOPE'"),
        ({"target": "a:1", "requirement": ["core-spec-echo"]}, "unknown requirement ID"),
        (
            {"target": "a:1", "profile": ["core"], "requirement": ["STRICT-FAIL-TEXT"]},
            "STRICT-FAIL-TEXT is in profile strict, which no --profile requests",
        ),
    ],
)
def test_bad_options(values: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionsError, match=message.replace("(", r"\(").replace("{", r"\{")):
        build(values)


def test_good_options() -> None:
    options = build({"target": "unix:/tmp/s", "profile": ["core", "uds", "core"]})
    assert options.mode == "target" and options.subject == "unix:/tmp/s"
    assert options.profiles == ("core", "uds")  # de-duplicated, order kept
    assert options.ready_timeout_s == DEFAULT_READY_TIMEOUT_S
    assert options.run_timeout_s == DEFAULT_RUN_TIMEOUT_S
    launched = build(
        {"server_cmd": CMD, "max_msg_mb_size": 2, "thorough": True, "seed": 5, "ready_timeout": 1}
    )
    assert launched.mode == "server-cmd" and launched.max_msg_mb_size == 2 and launched.seed == 5
    assert launched.ready_timeout_s == 1.0


def test_requirements_select_their_profiles() -> None:
    picked = ["STRICT-FAIL-TEXT", "CORE-SPEC-ECHO", "STRICT-FAIL-TEXT", "TLS-ACCEPT-TRUSTED-CA"]
    options = build({"server_cmd": CMD, "requirement": picked})
    assert options.requirements == ("STRICT-FAIL-TEXT", "CORE-SPEC-ECHO", "TLS-ACCEPT-TRUSTED-CA")
    assert options.profiles == ()  # not named: resnet would still be probed for
    assert options.profiles_to_run() == ("core", "tls", "strict")  # the catalogue's order
    given = build({"server_cmd": CMD, "profile": ["strict", "core"], "requirement": picked[:2]})
    assert given.profiles_to_run() == ("strict", "core")  # --profile as given, holding both
    everything = build({"server_cmd": CMD})
    servers = tuple(p for p in PROFILE_NAMES if not p.startswith("client-"))
    assert everything.requirements == () and everything.profiles_to_run() == servers
    clients = build({"client_cmd": "my-testee"})
    assert clients.mode == "client-cmd" and clients.subject == "my-testee"
    assert clients.profiles_to_run() == tuple(p for p in PROFILE_NAMES if p.startswith("client-"))
    one = build({"client_cmd": "t", "requirement": ["CL-UDS-CALL"]})
    assert one.profiles_to_run() == ("client-uds",)


def test_an_unknown_requirement_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(
        ["--target", "127.0.0.1:1", "--requirement", "CORE-SPEC-ECHO", "--requirement", "NOPE"]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err == (
        "conformance: error: --requirement: unknown requirement ID 'NOPE' "
        "(see --list-requirements)\n"
    )


def test_report_paths_must_be_writable_up_front(tmp_path: Path) -> None:
    folder = tmp_path / "reports.md"
    folder.mkdir()
    with pytest.raises(OptionsError, match="it is a folder"):
        build({"target": "a:1", "certificate": str(folder)})
    report = tmp_path / "r.json"
    options = build({"target": "a:1", "json_report": str(report)})
    assert options.json_report == str(report)
    assert list(tmp_path.iterdir()) == [folder]  # the check leaves nothing behind
    report.write_text("old")
    assert writable("--json-report", str(report)) == str(report)
    assert report.read_text() == "old"  # opened for writing, not changed


def test_one_table_makes_both_front_ends(pytester: pytest.Pytester, tmp_path: Path) -> None:
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names))
    parser = build_parser()
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {f"--{name}" for name in names} <= flags
    # Every option the command takes gives the plugin's --conformance- option the same value:
    # the same options object, parsed once by either front end.
    pem = tmp_path / "x.pem"
    pem.write_text("")
    expected = tmp_path / "expected.txt"
    expected.write_text("CORE-SPEC-ECHO\n")
    argv = f"""--target a:1 --profile core --profile uds --thorough --ready-timeout 2.5
        --run-timeout 60 --seed 7 --max-msg-mb-size 3 --json-report {tmp_path}/r.json
        --certificate {tmp_path}/c.md --tls-ca {pem} --tls-cert {pem} --tls-key {pem}
        --expect-failures {expected} --requirement CORE-SPEC-ECHO
        --requirement CORE-STATUS-OK""".split()
    by_command = run_options(parser.parse_args(argv))
    assert by_command.seed == 7 and by_command.run_timeout_s == 60.0
    assert by_command.expected_failures == {"CORE-SPEC-ECHO"}
    assert by_command.requirements == ("CORE-SPEC-ECHO", "CORE-STATUS-OK")
    plugin_argv = [word.replace("--", "--conformance-", 1) for word in argv]
    assert options_of(pytester.parseconfig(*plugin_argv)) == by_command
    # ... and xdist workers get the controller's object, not a command line to parse again.
    assert RunOptions.from_dict(json.loads(json.dumps(by_command.to_dict()))) == by_command


def test_the_command_hands_pytest_no_conformance_options() -> None:
    args = build_parser().parse_args(["--target", "a:1", "--profile", "core", "-k", "echo"])
    forwarded = pytest_arguments(args, ["-x"])
    assert not [word for word in forwarded if word.startswith("--conformance")]
    assert forwarded[-4:] == ["echo", "-x", "--pyargs", "conformance.suites"]


def test_plugin_declares_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"*{option.plugin_flag}*"])


def test_expectation_file(tmp_path: Path) -> None:
    path = tmp_path / "expected.txt"
    path.write_text("# header\n\nCORE-SPEC-ECHO  # why\n  STRICT-TEXT-TRUNCATION\nCORE-SPEC-ECHO\n")
    assert parse_expectations(str(path)) == {"CORE-SPEC-ECHO", "STRICT-TEXT-TRUNCATION"}
    path.write_text("CORE-SPEC-ECHO\ncore-spec-echo\n")
    with pytest.raises(OptionsError, match=r"expected.txt:2: unknown requirement ID"):
        parse_expectations(str(path))
