"""The reference client's testee: ``conformance --client-cmd 'python -m reference_client.testee'``.

Speaks the testee protocol of docs/client-conformance.md on stdin/stdout: a hello, then one
answer line per call line. Stdout is the protocol's alone: ``sys.stdout`` is pointed at stderr
before anything else runs, so a stray print (or a library's) lands in the testee's log, and the
client's logging goes to stderr too.

Each call builds a Client with exactly the call's arguments, calls ``infer`` (or
``infer_async(...).result()``) once and closes it. The value forms are shared with the harness
(reference_client.forms), so this module is a thin adapter; the seams (``make_client``,
``instances_of``, ``result_form``) are what tests/client_mutants patches to break one rule.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import IO, Any

from reference_client.client import DEFAULT_TIMEOUT_S, Client
from reference_client.forms import from_form, to_form
from reference_client.transport import SSLConfig

CLIENT_NAME = "reference_client 0.1.0"
FEATURES = ["uds", "tls", "mtls", "async", "deadline", "tls-roots-env"]


def environment() -> dict[str, str]:
    """What this client runs on, for the hello (the reports record it as the client's)."""
    import platform

    import grpc
    import numpy
    from google.protobuf import __version__ as protobuf

    return {
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "numpy": numpy.__version__,
        "protobuf": protobuf,
        "platform": platform.platform(),
    }


def hello() -> dict[str, Any]:
    return {
        "hello": {"client": CLIENT_NAME, "features": list(FEATURES), "environment": environment()}
    }


def make_client(call: Mapping[str, Any]) -> Client:
    tls = call.get("tls")
    ssl = None
    if tls is not None:
        ssl = SSLConfig(tls.get("cert"), tls.get("key"), tls.get("ca"))
    timeout = call.get("timeout", DEFAULT_TIMEOUT_S)
    return Client(
        call["address"], call["servable"], call["method"], call.get("version", 0), ssl,
        timeout=float(timeout),
    )  # fmt: skip


def instances_of(call: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{name: from_form(form) for name, form in item.items()} for item in call["instances"]]


def result_form(result: Any) -> Any:
    """The client's result as the protocol's RESULT: ``{"error": TEXT}`` or one entry per
    instance (``{"error": TEXT}`` or output name -> value form)."""
    if isinstance(result, dict):
        return {"error": str(result["error"])}
    return [
        {"error": str(item["error"])}
        if set(item) == {"error"}
        else {name: to_form(value) for name, value in item.items()}
        for item in result
    ]


def run_call(call: Mapping[str, Any]) -> Any:
    instances = instances_of(call)
    with make_client(call) as client:
        if call.get("async"):
            result = client.infer_async(instances).result()
        else:
            result = client.infer(instances)
    return result_form(result)


def answer(message: Mapping[str, Any]) -> dict[str, Any]:
    number = message.get("id")
    try:
        return {"id": number, "result": run_call(message["call"])}
    except Exception as exc:  # the client raised: the protocol's "raised" answer
        return {"id": number, "raised": {"type": type(exc).__name__, "message": str(exc)}}


def write(out: IO[str], message: Mapping[str, Any]) -> None:
    out.write(json.dumps(message, separators=(",", ":")) + "\n")
    out.flush()


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints, prints to the log
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="testee: %(message)s")
    write(out, hello())
    for line in sys.stdin:
        if line.strip():
            write(out, answer(json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "CLIENT_NAME",
    "FEATURES",
    "answer",
    "environment",
    "hello",
    "instances_of",
    "main",
    "make_client",
    "result_form",
    "run_call",
    "write",
]
