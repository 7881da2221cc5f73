"""Conformance harness for MindSpore Serving's gRPC protocol (r1.6).

* ``conformance`` / ``python -m conformance``: the command (conformance.cli);
* ``pytest --pyargs conformance.suites --conformance-...``: the same suite as a pytest plugin
  (conformance.plugin, inert unless its options are given);
* ``conformance.api.certify(...)``: run it from Python and read the typed report;
* ``conformance.catalogue``: the requirement IDs, the profile declarations, the options, and
  the harness's exception tree (conformance.catalogue.errors).

Both front ends parse the command line once, into one options object
(conformance.catalogue.RunOptions); the command hands it to pytest as it is
(conformance._handover).

Packages by role: ``catalogue`` (pure data), ``drive`` (servers, endpoints, TLS files, probes,
guards), ``reporting`` (typed outcomes, JSON report and schema, certificate, repro), ``verify``
(what the suites use: wire, strategies, assertions), ``suites`` (the shipped tests). Each layer
imports only those before it in this list; the front ends (cli, plugin, api, and the plugin's
private _active, _fixtures and _handover) import them all. Each module lists its public
names in ``__all__``; each package exports what the other layers and the front ends use.

Importing this package imports nothing else: the plugin loads in every pytest run.
"""

__version__ = "0.1.0"


__all__ = [
    "__version__",
]
