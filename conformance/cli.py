"""The ``conformance`` command: certify a MindSpore Serving server, or a client (``--client-cmd``).

It parses its command line once, into the run's options (conformance.catalogue.RunOptions),
and runs the shipped suite through pytest (``pytest --pyargs conformance.suites``), isolated
from the caller's pytest configuration, handing the options to the plugin as they are
(conformance._handover.CommandLine): they are not written out as ``--conformance-*`` flags to be
parsed again.

Exit status: 0 nothing failed (every requested profile conformant, or "incomplete" where a
deliberate selection such as ``-k`` left requirements unchecked: the certificate then says
INCOMPLETE, not CONFORMANT); 1 not conformant; 2 the harness could not run or finish (bad
options, a server that exits or never answers, an interrupted run, ``--run-timeout`` reached).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from types import FrameType
from typing import NoReturn

from conformance import __version__
from conformance.catalogue import (
    GROUPS,
    OPTIONS,
    PLACEHOLDERS,
    REQUIREMENTS,
    OptionsError,
    RunOptions,
    build,
    render_markdown,
    writable,
)
from reference_client.extras import MissingExtraError, require

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_HARNESS = 0, 1, 2

_DESCRIPTION = """\
Certify a MindSpore Serving (r1.6) gRPC server, or a client: property-based checks of the
protocol, grouped in profiles, each check tied to a requirement ID (see --list-requirements).

Drive modes (exactly one):
  --target ADDRESS        a server that is already running (host:port or unix:PATH)
  --server-cmd COMMAND    servers the harness starts itself, once per configuration, from a
                          shell command template with placeholders {placeholders}
  --client-cmd COMMAND    a client, through its testee program (JSON lines on stdin/stdout,
                          docs/client-conformance.md); the harness runs the servers
"""

# The placeholders come from the profile declarations' vocabulary, wrapped as before.
_WORDS = [f"{{{name}}}" for name in PLACEHOLDERS]
DESCRIPTION = _DESCRIPTION.format(
    placeholders=" ".join(_WORDS[:2]) + "\n" + " " * 26 + " ".join(_WORDS[2:])
)

EPILOG = """\
exit status: 0 nothing failed (conformant, or incomplete where tests were deselected),
             1 not conformant, 2 the harness could not run or finish (bad options, server
             exited or never ready, interrupted, --run-timeout reached)

examples:
  conformance --server-cmd 'reference-server --address {address} --certificate {certificate} \\
      --private-key {private_key} --custom-ca {custom_ca} --verify-client {verify_client} \\
      --max-msg-mb-size {max_msg_mb_size} --grace {grace}' --certificate cert.md
  conformance --target 127.0.0.1:5500 --profile core --json-report report.json
  conformance --target 127.0.0.1:5500 --requirement CORE-SPEC-ECHO   (rerun one requirement)
  conformance --target 127.0.0.1:5500 -- -k echo -x     (arguments after -- go to pytest)
  conformance --client-cmd 'python3 -m reference_client.testee' --certificate client.md
  conformance --list-requirements json | jq '.[].id'
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # The one format of every usage error: one line, no usage dump, exit status 2.
        print(f"conformance: error: {message} (see conformance --help)", file=sys.stderr)
        sys.exit(EXIT_HARNESS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conformance",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = {key: parser.add_argument_group(title) for key, title in GROUPS.items()}
    for option in OPTIONS:  # the table the plugin's --conformance-* options come from too
        groups[option.group].add_argument(f"--{option.name}", **option.argparse_kwargs())
    run = groups["run"]
    run.add_argument(
        "-n",
        "--workers",
        metavar="N",
        help="run tests in N processes (pytest-xdist; 'auto' for one per CPU)",
    )
    run.add_argument(
        "-k", metavar="EXPRESSION", dest="keyword", help="only tests matching (pytest -k)"
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more output (repeatable); -v: each failure's full traceback",
    )
    run.add_argument("-q", "--quiet", action="count", default=0, help="less output (repeatable)")
    groups["reports"].add_argument("--junitxml", metavar="FILE", help="JUnit XML (pytest's)")
    info = parser.add_argument_group("catalogue")
    info.add_argument(
        "--list-requirements",
        nargs="?",
        const="text",
        choices=("text", "json"),
        metavar="FORMAT",
        help="print the requirement catalogue (FORMAT text, the default, or json) and exit",
    )
    info.add_argument(
        "--write-requirements",
        metavar="FILE",
        help="write the catalogue as Markdown (docs/requirements.md) and exit",
    )
    info.add_argument("--version", action="version", version=f"conformance {__version__}")
    return parser


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(our arguments, pytest's arguments after a lone --)."""
    argv = list(argv)
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def pytest_arguments(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    """The pytest command line that runs the shipped suite: pytest's own options only (the
    run's options reach the plugin as an object, conformance._handover.CommandLine)."""
    package = resources.files("conformance")
    ini = package.joinpath("data/pytest.ini")
    command = ["-c", str(ini), "--rootdir", str(package)]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        command += ["-p", "conformance"]  # the entry point's name: loads it even then
    if args.junitxml:
        command += ["--junitxml", args.junitxml]
    if args.workers:
        command += ["-n", str(args.workers)]
    if args.keyword:
        command += ["-k", args.keyword]
    command += ["-v"] * args.verbose + ["-q"] * args.quiet
    return [*command, *extra, "--pyargs", "conformance.suites"]


def _exit_status(pytest_status: int) -> int:
    if pytest_status in (EXIT_CONFORMANT, EXIT_NOT_CONFORMANT):
        return pytest_status
    return EXIT_HARNESS  # interrupted, internal or usage error, nothing collected


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so that the servers the harness started are stopped.
    raise KeyboardInterrupt


def _check_workers(workers: str | None) -> None:
    if workers is None:
        return
    if workers not in ("auto", "logical") and not (workers.isdigit() and int(workers) >= 0):
        raise OptionsError(
            f"-n/--workers: expected a number >= 0, auto or logical, got {workers!r}"
        )
    if importlib.util.find_spec("xdist") is None:
        raise OptionsError("-n/--workers needs pytest-xdist (pip install pytest-xdist)")


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run's options from the parsed command line, every one checked before pytest starts
    (OptionsError: one line, exit status 2)."""
    options = build({option.dest: getattr(args, option.dest) for option in OPTIONS})
    _check_workers(args.workers)
    writable("--junitxml", args.junitxml)
    return options


def _list_requirements(form: str) -> None:
    if form == "json":
        fields = ("id", "level", "profile", "sentence")
        rows = [{name: getattr(req, name) for name in fields} for req in REQUIREMENTS]
        print(json.dumps(rows, indent=2))
        return
    for req in REQUIREMENTS:
        print(f"{req.id:<40} {req.level:<6} {req.profile:<6} {req.sentence}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # Piped to `head`: the reader left. Quietly, with no traceback (and none at exit when
        # Python flushes stdout again).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CONFORMANT


def _main(argv: Sequence[str] | None) -> int:
    ours, extra = _split(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(ours)
    if args.list_requirements:
        _list_requirements(args.list_requirements)
        return EXIT_CONFORMANT
    try:
        if args.write_requirements:
            path = str(writable("--write-requirements", args.write_requirements))
            with open(path, "w", encoding="utf-8") as file:
                file.write(render_markdown())
            print(f"wrote {len(REQUIREMENTS)} requirements to {path}")
            return EXIT_CONFORMANT
        require("harness", "conformance")
        options = run_options(args)
    except (OptionsError, MissingExtraError) as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)  # one line, no usage dump
        return EXIT_HARNESS
    import pytest  # only now: --help and the catalogue stay fast

    # Ctrl-C, SIGTERM and --run-timeout all stop the run as an interrupt (the servers stopped,
    # the reports written), also where the caller's shell left SIGINT ignored.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        from conformance._handover import CommandLine

        status = pytest.main(pytest_arguments(args, extra), plugins=[CommandLine(options)])
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
    return _exit_status(int(status))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = [
    "EXIT_CONFORMANT",
    "EXIT_HARNESS",
    "EXIT_NOT_CONFORMANT",
    "build_parser",
    "main",
    "pytest_arguments",
    "run_options",
]
