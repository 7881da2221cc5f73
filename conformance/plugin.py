"""The pytest plugin (entry point ``pytest11: conformance``).

It loads in every pytest run of an environment where this package is installed, so it is cheap
and inert: importing it imports nothing but pytest, and unless ``--conformance-target`` or
``--conformance-server-cmd`` is given it only declares its options and its marker. With one of
them it activates conformance.active, which starts or probes the server, runs the shipped suite
(``pytest --pyargs conformance ...``) and writes the reports.
"""

from __future__ import annotations

import pytest

MARKER_LINE = "conformance_requirement(id): the catalogue requirement a conformance test checks"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "MindSpore Serving conformance (the shipped suite)")
    add = group.addoption
    add(
        "--conformance-target",
        metavar="ADDRESS",
        help="certify a running server at host:port or unix:PATH",
    )
    add(
        "--conformance-server-cmd",
        metavar="COMMAND",
        help="certify servers started from this shell command template ({address}, "
        "{certificate}, {private_key}, {custom_ca}, {verify_client}, {max_msg_mb_size})",
    )
    add(
        "--conformance-tls-ca",
        metavar="FILE",
        help="with --conformance-target: PEM of the CA that signed the server's certificate",
    )
    add(
        "--conformance-tls-cert",
        metavar="FILE",
        help="with --conformance-target: the client certificate (PEM) for mutual TLS",
    )
    add(
        "--conformance-tls-key",
        metavar="FILE",
        help="with --conformance-target: the client private key (PEM) for mutual TLS",
    )
    add(
        "--conformance-profile",
        metavar="PROFILE",
        action="append",
        default=[],
        help="run this profile (repeatable): core uds tls mtls limits strict resnet; "
        "default: every profile the drive mode allows",
    )
    add(
        "--conformance-max-msg-mb-size",
        metavar="N",
        type=int,
        help="limits profile: the target's declared max_msg_mb_size, or the one the harness "
        "gives its limits server (default 1)",
    )
    add(
        "--conformance-ready-timeout",
        metavar="SECONDS",
        type=float,
        help="how long a server may take to answer its first Predict (default 30)",
    )
    add(
        "--conformance-thorough",
        action="store_true",
        help="10x the examples, randomized (reported seed)",
    )
    add(
        "--conformance-seed",
        metavar="N",
        type=int,
        help="explore with this hypothesis seed instead of the derandomized gating run",
    )
    add(
        "--conformance-json-report",
        metavar="FILE",
        help="write the JSON report (every requirement with its outcome) here",
    )
    add(
        "--conformance-certificate",
        metavar="FILE",
        help="write the certificate here, Markdown (.md) or HTML (.html)",
    )
    add(
        "--conformance-expect-failures",
        metavar="FILE",
        help="requirement IDs (one per line, # comments) that may fail; a listed one that "
        "passes fails the run",
    )


def _requested(config: pytest.Config) -> bool:
    return bool(
        config.getoption("conformance_target") or config.getoption("conformance_server_cmd")
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    if _requested(config):
        from conformance.active import activate  # the heavy part, only when asked for

        activate(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The shipped suite collected without a server to test: say so instead of failing every
    # test on a missing fixture. (Listing it with --collect-only is fine.)
    if _requested(config) or config.option.collectonly:
        return
    if any(item.get_closest_marker("conformance_requirement") for item in items):
        raise pytest.UsageError(
            "conformance: the conformance suite needs --conformance-target ADDRESS or "
            "--conformance-server-cmd COMMAND"
        )
