"""Conformance harness for MindSpore Serving's gRPC protocol."""

__version__ = "0.1.0"
