"""The reference client against the reference server, end to end: TCP, unix socket, TLS, mTLS.

The client's own behaviour is pinned against an independent fake server elsewhere
(test_client_calls.py, test_client_tls.py); here the two halves of the project meet.
Fixtures (kit_server, start_server, tls_files, short_dir) come from tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.tls import TrustmeFiles

from reference_client import Client, SSLConfig
from reference_server import ReferenceServer

TIMEOUT_S = 10.0
ROOT = Path(__file__).resolve().parent.parent
UNAVAILABLE = "Grpc Error, (14, 'unavailable'), "
StartServer = Callable[..., ReferenceServer]


def _f32(value: float) -> np.ndarray:
    return np.full((2, 2), value, np.float32)


def _client(address: str, servable: str, method: str, **kwargs: Any) -> Client:
    return Client(address, servable, method, timeout=TIMEOUT_S, **kwargs)


def test_add_common_over_tcp(kit_server: ReferenceServer) -> None:
    with _client(kit_server.address, "add", "add_common") as client:
        result = client.infer([{"x1": _f32(v), "x2": _f32(v)} for v in (1, 2, 3)])
    assert isinstance(result, list) and len(result) == 3
    for value, outputs in zip((2, 4, 6), result, strict=True):
        assert outputs["y"].dtype == np.float32 and outputs["y"].shape == (2, 2)
        assert np.array_equal(outputs["y"], _f32(value))


def test_add_common_mixed_reply(kit_server: ReferenceServer) -> None:
    bad = np.ones((3,), np.float32)  # 12 bytes, the model wants 16
    with _client(kit_server.address, "add", "add_common") as client:
        result = client.infer([{"x1": _f32(1), "x2": _f32(1)}, {"x1": bad, "x2": _f32(1)}])
    assert isinstance(result, list)
    assert np.array_equal(result[0]["y"], _f32(2))
    assert set(result[1]) == {"error"} and "size 12" in result[1]["error"]


def test_echo_round_trips_every_value_kind(kit_server: ReferenceServer) -> None:
    values: list[Any] = [
        np.array([[1.5, -0.0, np.inf]], ">f8"),
        np.float16(-2.5),
        np.zeros((2, 0), np.uint16),
        np.array([True, False]),
        "héllo, 世界",
        b"a\x00b",
        True,
        -(2**63),
        2**64 - 1,  # uint64 [1], as numpy infers np.array([2**64 - 1])
        0.25,
    ]
    with _client(kit_server.address, "conformance", "echo") as client:
        result = client.infer([{"x": value} for value in values])
    assert isinstance(result, list) and len(result) == len(values)
    for value, outputs in zip(values, result, strict=True):
        assert int(outputs["version"]) == 2 and outputs["version"].shape == ()
        echoed = outputs["y"]
        if isinstance(value, str | bytes):
            assert echoed == value
        else:
            sent = np.asarray(value) if not isinstance(value, bool | int | float) else None
            expected = sent if sent is not None else np.array([value])
            assert echoed.dtype == expected.dtype.newbyteorder("<")
            assert echoed.shape == expected.shape
            assert echoed.tobytes() == expected.astype(echoed.dtype).tobytes()


def test_version_and_request_level_errors(kit_server: ReferenceServer) -> None:
    with _client(kit_server.address, "conformance", "echo", version_number=1) as client:
        result = client.infer({"x": 1})
    assert isinstance(result, list) and int(result[0]["version"]) == 1
    with _client(kit_server.address, "nope", "echo") as client:
        assert client.infer({"x": 1}) == {
            "error": "Request servable(nope) method(echo) , servable is not available"
        }


def test_fail_gives_per_instance_errors_async(kit_server: ReferenceServer) -> None:
    with _client(kit_server.address, "conformance", "fail") as client:
        pending = client.infer_async(
            [{"x": 1, "error": ""}, {"x": 2, "error": "broken ✗"}, {"x": 3, "error": ""}]
        )
        result = pending.result()
    assert isinstance(result, list) and len(result) == 3
    assert result[0]["y"].tolist() == [1] and result[2]["y"].tolist() == [3]
    assert set(result[1]) == {"error"} and "broken ✗" in result[1]["error"]


def test_unix_socket(start_server: StartServer, short_dir: Path) -> None:
    server = start_server(address=f"unix:{short_dir}/c.sock")
    with _client(server.address, "add", "add_common") as client:
        result = client.infer({"x1": _f32(1), "x2": _f32(2)})
    assert isinstance(result, list) and np.array_equal(result[0]["y"], _f32(3))


def test_message_over_the_server_limit_is_resource_exhausted(start_server: StartServer) -> None:
    server = start_server(max_msg_mb_size=1)
    with _client(server.address, "conformance", "echo") as client:
        small = client.infer({"x": np.zeros(1000, np.uint8)})
        large = client.infer({"x": np.zeros(2 * 1024 * 1024, np.uint8)})
    assert isinstance(small, list) and small[0]["y"].shape == (1000,)
    assert isinstance(large, dict)
    assert large["error"].startswith("Grpc Error, (8, 'resource exhausted'), ")


def test_one_way_tls(start_server: StartServer, tls_files: TrustmeFiles) -> None:
    server = start_server(ssl_config=tls_files.server_ssl_config())
    trusted = SSLConfig(custom_ca=str(tls_files.ca))
    with _client(server.address, "add", "add_common", ssl_config=trusted) as client:
        result = client.infer({"x1": _f32(1), "x2": _f32(1)})
    assert isinstance(result, list) and np.array_equal(result[0]["y"], _f32(2))
    untrusted = SSLConfig(custom_ca=str(tls_files.other_ca))
    with _client(server.address, "add", "add_common", ssl_config=untrusted) as client:
        refused = client.infer({"x1": _f32(1), "x2": _f32(1)})
    assert isinstance(refused, dict) and refused["error"].startswith(UNAVAILABLE)


@pytest.mark.parametrize(
    ("client_pair", "accepted"), [("client", True), ("other_client", False), (None, False)]
)
def test_mutual_tls(
    start_server: StartServer, tls_files: TrustmeFiles, client_pair: str | None, accepted: bool
) -> None:
    server = start_server(ssl_config=tls_files.server_ssl_config(verify_client=True))
    if client_pair is None:
        config = SSLConfig(custom_ca=str(tls_files.ca))
    else:
        pair = getattr(tls_files, client_pair)
        config = SSLConfig(str(pair.certificate), str(pair.private_key), str(tls_files.ca))
    with _client(server.address, "conformance", "echo", ssl_config=config) as client:
        result = client.infer({"x": "mtls"})
    if accepted:
        assert isinstance(result, list) and result[0]["y"] == "mtls"
    else:
        assert isinstance(result, dict) and result["error"].startswith(UNAVAILABLE)


def test_add_example_against_the_reference_server(kit_server: ReferenceServer) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "add_client.py"), kit_server.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("'y': array(") == 3
    assert "[[2., 2.]," in done.stdout and "[[6., 6.]," in done.stdout
