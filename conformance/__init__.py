"""Conformance harness for MindSpore Serving's gRPC protocol (r1.6).

* ``conformance`` / ``python -m conformance``: the command (conformance.cli);
* ``pytest --pyargs conformance.suites --conformance-...``: the same suite as a pytest plugin
  (conformance.plugin, inert unless its options are given);
* ``conformance.api.certify(...)``: run it from Python and read outcomes per requirement;
* ``conformance.catalogue``: the requirement IDs, the profile declarations and the options.

Packages by role: ``catalogue`` (pure data), ``drive`` (servers, endpoints, TLS files, probes,
guards), ``reporting`` (typed outcomes, JSON report and schema, certificate, repro), ``verify``
(what the suites use: wire, strategies, assertions), ``suites`` (the shipped tests). Each layer
imports only those before it in this list; the front ends (cli, plugin, api, and the plugin's
private _active and _fixtures) import them all.

Importing this package imports nothing else: the plugin loads in every pytest run.
"""

__version__ = "0.1.0"


__all__ = [
    "__version__",
]
