"""The pytest plugin (entry point ``pytest11: conformance``).

It loads in every pytest run of an environment where this package is installed, so it is cheap
and inert: importing it imports nothing but pytest, and unless a conformance run is asked for it
only declares its options (from the table in conformance.catalogue, the same the command is
built from) and its marker. A run is asked for in one of three ways, each giving the run's
options (conformance.catalogue.RunOptions) parsed once:

* ``--conformance-target``, ``--conformance-server-cmd`` or ``--conformance-client-cmd`` on
  pytest's command line: the plugin builds the options from its ``--conformance-*`` options;
* the ``conformance`` command registers a ``CommandLine`` (conformance._handover) holding
  the options it parsed;
* an xdist worker receives its controller's options.

Then it activates conformance._active, which starts or probes the server, runs the shipped
suite and writes the reports.
"""

from __future__ import annotations

import pytest

from conformance._handover import WORKER_OPTIONS, command_plugin

MARKER_LINE = "conformance_requirement(id): the catalogue requirement a conformance test checks"


def pytest_addoption(parser: pytest.Parser) -> None:
    from conformance.catalogue import OPTIONS  # pure data (no grpc, numpy...)

    group = parser.getgroup("conformance", "MindSpore Serving conformance (the shipped suite)")
    for option in OPTIONS:
        kwargs = option.argparse_kwargs()
        if option.repeat:
            kwargs["default"] = []
        group.addoption(option.plugin_flag, **kwargs)


_DRIVE_OPTIONS = ("target", "server_cmd", "client_cmd")


def _given(config: pytest.Config) -> list[str]:
    """The --conformance-* drive options this run was given, as typed on the command line."""
    return [
        "--conformance-" + name.replace("_", "-")
        for name in _DRIVE_OPTIONS
        if config.getoption(f"conformance_{name}")
    ]


def _requested(config: pytest.Config) -> bool:
    worker = WORKER_OPTIONS in getattr(config, "workerinput", {})
    return worker or command_plugin(config) is not None or bool(_given(config))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    if _requested(config):
        from reference_client.extras import MissingExtraError, require

        try:  # pytest is here, but a client-only install lacks the rest of the harness
            require("harness", "/".join(_given(config)) or "conformance")
        except MissingExtraError as exc:
            raise pytest.UsageError(f"conformance: {exc}") from None
        from conformance._active import activate  # the heavy part, only when asked for

        activate(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The shipped suite collected without a server to test: say so instead of failing every
    # test on a missing fixture. (Listing it with --collect-only is fine.)
    if _requested(config) or config.option.collectonly:
        return
    if any(item.get_closest_marker("conformance_requirement") for item in items):
        raise pytest.UsageError(
            "conformance: the conformance suite needs --conformance-target ADDRESS, "
            "--conformance-server-cmd COMMAND or --conformance-client-cmd COMMAND"
        )


__all__ = [
    "MARKER_LINE",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
]
