"""How the run's options, parsed once, reach the plugin without being parsed again: the
``conformance`` command registers a CommandLine holding them, and an xdist controller hands
them to its workers under WORKER_OPTIONS. Imports nothing but typing (the plugin is cheap)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from conformance.catalogue import RunOptions

# xdist: the controller hands its workers the run's options under this workerinput key.
WORKER_OPTIONS = "conformance_options"


class CommandLine:
    """Registered by the ``conformance`` command (``pytest.main(plugins=...)``) with the options
    it parsed: the run takes them as they are, and the harness's errors come in the command's
    one format, ``conformance: error: ...``."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options


def command_plugin(config: pytest.Config) -> CommandLine | None:
    """The conformance command's options object, if this pytest run is the command's."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, CommandLine):
            return plugin
    return None


__all__ = ["WORKER_OPTIONS", "CommandLine", "command_plugin"]
