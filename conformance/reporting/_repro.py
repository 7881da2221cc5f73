"""Failing requests as runnable Python, and failed client checks' calls, for the failure report.

Every request the suite sends is recorded (the last one per test is kept); a failing test's
report gets a section with it as a snippet for the reference client, or for the raw stub when
the request is one the client cannot build (a malformed tensor, say). Under hypothesis the
snippet is also attached with ``note()``, so it sits next to the falsifying example. A failed
client check (``--client-cmd``) records instead the call that replays it to the testee and the
testee's stderr, whatever failed: a comparison, a request count, the testee itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from google.protobuf import text_format

from conformance.drive import Endpoint
from protos import codec
from protos import ms_service_pb2 as pb

MAX_PRINTED_BYTES = 16 * 1024
STDERR_TAIL_LINES = 25  # of a testee's stderr, with a client check's failure
_lock = threading.Lock()
_last: list[tuple[Endpoint, pb.PredictRequest]] = []
_client: dict[str, str | None] = {}  # a failed client check: its last call and testee stderr


def record(endpoint: Endpoint, request: pb.PredictRequest, *, note: bool = True) -> None:
    with _lock:
        _last[:] = [(endpoint, request)]
    if note:
        attach(endpoint, request)


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """Requests sent inside do not replace the last one recorded: a follow-up call (the echo
    after a refusal, say) is not the request a failure report should reproduce."""
    with _lock:
        saved = list(_last)
    try:
        yield
    finally:
        with _lock:
            _last[:] = saved


def attach(endpoint: Endpoint, request: pb.PredictRequest) -> None:
    """Attach the snippet to hypothesis's report of the falsifying example, if in one."""
    from hypothesis import currently_in_test_context, note

    if currently_in_test_context():
        note(_LazySnippet(endpoint, request))


def clear() -> None:
    with _lock:
        _last.clear()
        _client.clear()


def record_client_failure(call: str | None, testee_stderr: str) -> None:
    """A client check failed: the call it sent last (a command line that replays it to the
    testee; None if it sent none) and the testee's stderr then, for the failure's details."""
    lines = testee_stderr.strip().splitlines()[-STDERR_TAIL_LINES:]
    with _lock:
        _client.update(call=call, testee_stderr="\n".join(lines))


def client_failure() -> dict[str, str | None]:
    """The FailureDetail fields ``call`` and ``testee_stderr`` of the failed client check, or
    nothing for a server check."""
    with _lock:
        return dict(_client)


def last_snippet(server_commands: dict[str, str] | None = None) -> str | None:
    """The last request as a snippet; where the harness started the server it went to
    (``server_commands``: address -> command line), a first line says how to start it again."""
    with _lock:
        last = _last[-1] if _last else None
    if last is None:
        return None
    text = snippet(*last)
    command = (server_commands or {}).get(last[0].address)
    if command is not None:
        text = (
            "# The harness's server is gone with its run: start it first (in another shell):\n"
            f"#   {command}\n" + text
        )
    return text


class _LazySnippet:
    """Rendered only if hypothesis prints it (the final, minimal example)."""

    def __init__(self, endpoint: Endpoint, request: pb.PredictRequest) -> None:
        self._endpoint, self._request = endpoint, request

    def __repr__(self) -> str:
        return "Request (runnable):\n" + snippet(self._endpoint, self._request)


def _client_value(tensor: pb.Tensor) -> str | None:
    """The Python expression the reference client maps to exactly ``tensor``, if any."""
    dims = list(tensor.shape.dims)
    dtype = codec.BY_CODE.get(tensor.dtype)
    if dtype is None:
        return None
    if not dtype.is_numeric:
        if len(tensor.bytes_val) != 1 or dims != [1]:
            return None  # the client sends str/bytes with dims [1] only
        value = bytes(tensor.bytes_val[0])
        if dtype is codec.BYTES:
            return repr(value)
        try:
            return repr(value.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    assert dtype.numpy is not None
    if tensor.bytes_val or any(d < 0 for d in dims):
        return None
    if len(tensor.data) != codec.element_count(dims) * dtype.itemsize:
        return None
    shape = "(" + "".join(f"{d}, " for d in dims).rstrip(" ") + ")"
    return (
        f'np.frombuffer(bytes.fromhex("{tensor.data.hex()}"), '
        f'dtype="{dtype.numpy.str}").reshape({shape})'
    )


def _ssl_lines(endpoint: Endpoint) -> list[str]:
    if not endpoint.is_tls:
        return []
    args = [f"custom_ca={endpoint.root_ca!r}"]
    if endpoint.client_cert:
        args = [f"certificate={endpoint.client_cert!r}", f"private_key={endpoint.client_key!r}"]
        args.append(f"custom_ca={endpoint.root_ca!r}")
    return [
        "# The harness's TLS files live only as long as its run.",
        f"ssl_config = SSLConfig({', '.join(args)})",
    ]


def _client_snippet(endpoint: Endpoint, request: pb.PredictRequest) -> str | None:
    spec = request.servable_spec
    if not spec.name or not spec.method_name or not request.instances or endpoint.target_name:
        return None
    rows = []
    for instance in request.instances:
        values = []
        for name in sorted(instance.items):
            value = _client_value(instance.items[name])
            if value is None:
                return None
            values.append(f"{name!r}: {value}")
        rows.append("    {" + ", ".join(values) + "},")
    ssl = _ssl_lines(endpoint)
    ssl_arg = ", ssl_config=ssl_config" if ssl else ""
    return "\n".join(
        [
            "import numpy as np",
            "from reference_client import Client, SSLConfig",
            "",
            *ssl,
            f"client = Client({endpoint.address!r}, {spec.name!r}, {spec.method_name!r}, "
            f"version_number={spec.version_number}{ssl_arg})",
            "instances = [",
            *rows,
            "]",
            "print(client.infer(instances))",
        ]
    )


def _raw_snippet(endpoint: Endpoint, request: pb.PredictRequest) -> str:
    text = text_format.MessageToString(request, as_utf8=False)
    if endpoint.is_tls:
        channel = [
            "def pem(path):",
            "    return None if path is None else open(path, 'rb').read()",
            "",
            "credentials = grpc.ssl_channel_credentials(",
            f"    pem({endpoint.root_ca!r}), pem({endpoint.client_key!r}), "
            f"pem({endpoint.client_cert!r}))",
            "options = " + repr([("grpc.ssl_target_name_override", endpoint.target_name)])
            if endpoint.target_name
            else "options = []",
            f"channel = grpc.secure_channel({endpoint.address!r}, credentials, options)",
        ]
    else:
        channel = [f"channel = grpc.insecure_channel({endpoint.address!r})"]
    return "\n".join(
        [
            "import grpc",
            "from google.protobuf import text_format",
            "from protos import ms_service_pb2 as pb, ms_service_pb2_grpc",
            "",
            f'request = text_format.Parse(r"""\n{text}""", pb.PredictRequest())',
            *channel,
            "print(ms_service_pb2_grpc.MSServiceStub(channel).Predict(request, timeout=20))",
        ]
    )


def snippet(endpoint: Endpoint, request: pb.PredictRequest) -> str:
    size = request.ByteSize()
    if size > MAX_PRINTED_BYTES:
        spec = request.servable_spec
        return (
            f"# a {size}-byte request to {endpoint.describe()} ({spec.name}.{spec.method_name} "
            f"version {spec.version_number}, {len(request.instances)} instances): too large "
            "to print"
        )
    client = _client_snippet(endpoint, request)
    if client is not None:
        return client
    return _raw_snippet(endpoint, request)


__all__ = [
    "MAX_PRINTED_BYTES",
    "STDERR_TAIL_LINES",
    "attach",
    "clear",
    "client_failure",
    "kept",
    "last_snippet",
    "record",
    "record_client_failure",
    "snippet",
]
