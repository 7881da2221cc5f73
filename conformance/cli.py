"""The ``conformance`` command: certify a MindSpore Serving server.

It runs the shipped suite through pytest (``pytest --pyargs conformance.suites`` with the
plugin's ``--conformance-*`` options), isolated from the caller's pytest configuration.

Exit status: 0 conformant in every requested profile; 1 not conformant; 2 the harness could not
run (bad options, a server that exits or never answers, an interrupted run).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from types import FrameType

from conformance import __version__
from conformance.requirements import PROFILE_NAMES, REQUIREMENTS, render_markdown

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_HARNESS = 0, 1, 2

DESCRIPTION = """\
Certify a MindSpore Serving (r1.6) gRPC server: property-based checks of the protocol,
grouped in profiles, each check tied to a requirement ID (see --list-requirements).

Drive modes (exactly one):
  --target ADDRESS        a server that is already running (host:port or unix:PATH)
  --server-cmd COMMAND    servers the harness starts itself, once per configuration, from a
                          shell command template with placeholders {address} {certificate}
                          {private_key} {custom_ca} {verify_client} {max_msg_mb_size}
"""

EPILOG = """\
exit status: 0 conformant in every requested profile, 1 not conformant,
             2 the harness could not run (bad options, server exited or never ready)

examples:
  conformance --server-cmd 'reference-server --address {address} --certificate {certificate} \\
      --private-key {private_key} --custom-ca {custom_ca} --verify-client {verify_client} \\
      --max-msg-mb-size {max_msg_mb_size}' --certificate cert.md
  conformance --target 127.0.0.1:5500 --profile core --json-report report.json
  conformance --target 127.0.0.1:5500 -- -k echo -x     (arguments after -- go to pytest)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_argument_group("what to certify")
    mode.add_argument(
        "--target", metavar="ADDRESS", help="a running server: host:port or unix:PATH"
    )
    mode.add_argument(
        "--server-cmd", metavar="COMMAND", help="start servers from this command template"
    )
    tls = parser.add_argument_group("TLS material for --target")
    tls.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="PEM of the CA that signed the server certificate (profile tls)",
    )
    tls.add_argument("--tls-cert", metavar="FILE", help="client certificate PEM (profile mtls)")
    tls.add_argument("--tls-key", metavar="FILE", help="client private key PEM (profile mtls)")
    run = parser.add_argument_group("what to run")
    run.add_argument(
        "--profile",
        metavar="PROFILE",
        action="append",
        choices=PROFILE_NAMES,
        help=f"a profile to run, repeatable: {', '.join(PROFILE_NAMES)} "
        "(default: every profile the drive mode allows; resnet only if resnet50 "
        "answers a probe)",
    )
    run.add_argument(
        "--max-msg-mb-size",
        metavar="N",
        type=int,
        help="profile limits: the target's declared max_msg_mb_size, or the one "
        "given to the harness's limits server (default 1)",
    )
    run.add_argument(
        "--ready-timeout",
        metavar="SECONDS",
        type=float,
        help="how long a server may take to answer its first Predict (default 30)",
    )
    run.add_argument(
        "--thorough",
        action="store_true",
        help="10x the hypothesis examples, randomized (the seed is reported)",
    )
    run.add_argument("--seed", metavar="N", type=int, help="explore with this hypothesis seed")
    run.add_argument(
        "--expect-failures",
        metavar="FILE",
        help="requirement IDs (one per line, # comments) allowed to fail; a listed "
        "ID that passes fails the run",
    )
    run.add_argument(
        "-n",
        "--workers",
        metavar="N",
        help="run tests in N processes (pytest-xdist; 'auto' for one per CPU)",
    )
    run.add_argument(
        "-k", metavar="EXPRESSION", dest="keyword", help="only tests matching (pytest -k)"
    )
    run.add_argument("-v", "--verbose", action="count", default=0, help="more output (repeatable)")
    run.add_argument("-q", "--quiet", action="count", default=0, help="less output (repeatable)")
    out = parser.add_argument_group("reports")
    out.add_argument(
        "--json-report", metavar="FILE", help="JSON: every requirement with its outcome"
    )
    out.add_argument(
        "--certificate", metavar="FILE", help="the certificate, Markdown (.md) or HTML (.html)"
    )
    out.add_argument("--junitxml", metavar="FILE", help="JUnit XML (pytest's)")
    info = parser.add_argument_group("catalogue")
    info.add_argument(
        "--list-requirements", action="store_true", help="print the requirement catalogue and exit"
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
    """The pytest command line that runs the shipped suite with these options."""
    package = resources.files("conformance")
    ini = package.joinpath("data/pytest.ini")
    command = ["-c", str(ini), "--rootdir", str(package)]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        command += ["-p", "conformance"]  # the entry point's name: loads it even then
    for name in (
        "target",
        "server_cmd",
        "tls_ca",
        "tls_cert",
        "tls_key",
        "max_msg_mb_size",
        "ready_timeout",
        "seed",
        "json_report",
        "certificate",
        "expect_failures",
    ):
        value = getattr(args, name)
        if value is not None:
            command += [f"--conformance-{name.replace('_', '-')}", str(value)]
    for profile in args.profile or ():
        command += ["--conformance-profile", profile]
    if args.thorough:
        command.append("--conformance-thorough")
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


def main(argv: Sequence[str] | None = None) -> int:
    ours, extra = _split(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(ours)
    if args.list_requirements:
        for req in REQUIREMENTS:
            print(f"{req.id:<40} {req.level:<6} {req.profile:<6} {req.sentence}")
        return EXIT_CONFORMANT
    if args.write_requirements:
        with open(args.write_requirements, "w", encoding="utf-8") as file:
            file.write(render_markdown())
        print(f"wrote {len(REQUIREMENTS)} requirements to {args.write_requirements}")
        return EXIT_CONFORMANT
    if (args.target is None) == (args.server_cmd is None):
        parser.error("give exactly one of --target ADDRESS or --server-cmd COMMAND")
    import pytest  # only now: --help and the catalogue stay fast

    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        status = pytest.main(pytest_arguments(args, extra))
    finally:
        signal.signal(signal.SIGTERM, previous)
    return _exit_status(int(status))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["build_parser", "main", "pytest_arguments"]
