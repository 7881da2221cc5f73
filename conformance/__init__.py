"""Conformance harness for MindSpore Serving's gRPC protocol (r1.6).

* ``conformance`` / ``python -m conformance``: the command (conformance.cli);
* ``pytest --pyargs conformance.suites --conformance-...``: the same suite as a pytest plugin
  (conformance.plugin, inert unless its options are given);
* ``conformance.api.certify(...)``: run it from Python and read outcomes per requirement;
* ``conformance.requirements``: the catalogue of requirement IDs.

Importing this package imports nothing else: the plugin loads in every pytest run.
"""

__version__ = "0.1.0"
