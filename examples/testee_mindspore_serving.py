"""A testee (docs/client-conformance.md) around upstream's own Python client,
``mindspore_serving.client.Client``, as the ``mindspore-serving`` wheel ships it.

It is deliberately thin and faithful: each call line becomes exactly the values and arguments a
Python program would hand upstream's client, one ``infer`` (or ``infer_async(...).result()``),
and whatever the client returned or raised goes back as it is. Nothing here corrects upstream
(a ``numpy.bool_`` it refuses stays refused), and it declares only what upstream has: no
``deadline``, since upstream's calls take no timeout. It imports nothing of this project, and
runs on the Python upstream supports (3.9)::

    conformance --client-cmd 'PYTHON examples/testee_mindspore_serving.py' \\
        --expect-failures upstream/expected-failures-client.txt

with PYTHON an interpreter that has ``mindspore-serving`` installed.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any, TextIO

import numpy as np

# The protocol's dtype names (they are numpy's names too).
DTYPES = (
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64",
)  # fmt: skip
FEATURES = ["uds", "tls", "mtls", "async", "tls-roots-env"]


class CannotExpress(Exception):
    """A call line (or a result) this testee cannot put into upstream's terms."""


def protocol_stream() -> TextIO:
    """The real stdout, for protocol lines only; fd 1 then points at stderr.

    Upstream's client prints three lines on every failed ``infer``; gRPC's C core and numpy
    may write to fd 1 as well. Redirecting the descriptor, not just ``sys.stdout``, sends all
    of it to the log.
    """
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def environment() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "python": platform.python_version(),
        "grpcio": version("grpcio"),
        "numpy": version("numpy"),
        "protobuf": version("protobuf"),
        "platform": platform.platform(),
    }


def hello() -> dict[str, Any]:
    name = f"mindspore_serving.client {metadata.version('mindspore-serving')}"
    return {"hello": {"client": name, "features": FEATURES, "environment": environment()}}


# --- value forms -> what a Python program hands upstream's client ------------------------------


def value_of(form: dict[str, Any]) -> Any:
    if not isinstance(form, dict) or len(form) != 1:
        raise CannotExpress(f"not a value form: {form!r:.200}")
    ((kind, body),) = form.items()
    if kind in ("array", "scalar"):
        if body.get("dtype") not in DTYPES:
            raise CannotExpress(f"unknown dtype {body.get('dtype')!r}")
        dtype = np.dtype(body["dtype"]).newbyteorder("<")
        flat = np.frombuffer(base64.b64decode(body["data"]), dtype=dtype)
        if kind == "scalar":
            return flat[0]  # numpy's typed scalar: np.int8(...), np.bool_(...)
        return flat.reshape(body["shape"]).copy()  # an ordinary (writable) ndarray
    if kind == "int":
        return int(body)
    if kind == "float":
        return float(body)  # also "nan", "inf", "-inf", "-0.0"
    if kind == "bool":
        return bool(body)
    if kind == "str":
        return str(body)
    if kind == "bytes":
        return base64.b64decode(body)
    raise CannotExpress(f"unknown value form {kind!r}")


def instances_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    return [{name: value_of(form) for name, form in item.items()} for item in call["instances"]]


# --- what upstream's client returned -> RESULT ---------------------------------------------------


def form_of(value: Any) -> dict[str, Any]:
    if isinstance(value, np.ndarray) and value.dtype.name in DTYPES:
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        return {
            "array": {
                "dtype": value.dtype.name,
                "shape": [int(d) for d in value.shape],
                "data": base64.b64encode(data).decode("ascii"),
            }
        }
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):  # several bytes_val (or none: upstream returns [])
        return {"list": [form_of(item) for item in value]}
    raise CannotExpress(f"upstream returned a {type(value).__name__} the forms cannot carry")


def result_of(result: Any) -> Any:
    if isinstance(result, dict):  # upstream's request-level error (or failed RPC)
        return {"error": result["error"]}
    return [
        {"error": item["error"]}
        if set(item) == {"error"}
        else {name: form_of(value) for name, value in item.items()}
        for item in result
    ]


# --- one call ------------------------------------------------------------------------------------


def run_call(call: dict[str, Any]) -> Any:
    from mindspore_serving.client import Client, SSLConfig

    if "timeout" in call:  # upstream's calls take no deadline: not a refusal, a gap
        raise CannotExpress("a timeout: upstream's client has no per-call deadline")
    instances = instances_of(call)
    tls = call.get("tls")
    ssl = None
    if tls is not None:
        ssl = SSLConfig(certificate=tls.get("cert"), private_key=tls.get("key"),
                        custom_ca=tls.get("ca"))  # fmt: skip
    client = Client(call["address"], call["servable"], call["method"], call["version"], ssl)
    if call.get("async"):
        return result_of(client.infer_async(instances).result())
    return result_of(client.infer(instances))


def answer(message: dict[str, Any]) -> dict[str, Any]:
    number = message["id"]
    try:
        return {"id": number, "result": run_call(message["call"])}
    except CannotExpress:
        raise
    except Exception as exc:  # upstream raised: the protocol's "raised"
        return {"id": number, "raised": {"type": type(exc).__name__, "message": str(exc)}}


def main() -> int:
    out = protocol_stream()

    def write(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    write(hello())
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            write(answer(json.loads(line)))
        except CannotExpress as exc:  # the guide's rule: say why on stderr, exit non-zero
            print(f"testee: cannot express this call: {exc}", file=sys.stderr, flush=True)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
