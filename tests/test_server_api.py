"""The upstream-style API: start_servables / start_grpc_server / stop, SSLConfig, and the
argument checks and texts of protocol.md §4."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.paths import unix_address
from support.rpc import errors, output, predict, request, stub_for
from support.tls import TrustmeFiles

import reference_server
from reference_server import SSLConfig, api
from reference_server.address import parse_listen_address
from reference_server.registry import Method, Registry, Servable, method_table

ECHO = request("conformance", "echo", [{"x": np.int8(5)}])
CREATE_FAILED = "Serving Error: Serving gRPC server start failed, create server failed, address "


@pytest.fixture
def module_api() -> Iterator[None]:
    """The process-wide server, stopped whatever the test did."""
    api.stop()
    try:
        yield
    finally:
        api.stop()


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    probe = "import sys, reference_server; print('grpc' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "False", result.stderr


# -- address forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "text"),
    [
        (
            "localhost",
            "Serving Error: The format of the Serving gRPC address 'localhost' is illegal",
        ),
        (":5500", "Serving Error: Missing ip or port of the Serving gRPC address ':5500'"),
        (
            "127.0.0.1:",
            "Serving Error: Missing ip or port of the Serving gRPC address '127.0.0.1:'",
        ),
        (
            "127.0.0.1:http",
            "Serving Error: The type of Serving gRPC address '127.0.0.1:http' port is not a number",
        ),
        (
            "127.0.0.1:65536",
            "Serving Error: The port of the Serving gRPC address '127.0.0.1:65536' is out of "
            "legal range [1 ~ 65535]",
        ),
        (
            "127.0.0.1:-1",
            "Serving Error: The port of the Serving gRPC address '127.0.0.1:-1' is out of "
            "legal range [1 ~ 65535]",
        ),
        (
            "127.0.0.1:0",
            "Serving Error: The port of the Serving gRPC address '127.0.0.1:0' is out of "
            "legal range [1 ~ 65535]",
        ),
        ("unix:", "Serving Error: Empty grpc server unix domain socket address"),
    ],
)
def test_address_errors(module_api: None, address: str, text: str) -> None:
    with pytest.raises(RuntimeError) as caught:
        reference_server.start_grpc_server(address)
    assert str(caught.value) == text
    assert api.running_server() is None


@pytest.mark.parametrize(
    ("address", "target", "shown"),
    [
        ("127.0.0.1:5500", "127.0.0.1:5500", "127.0.0.1:7"),
        ("[::1]:0", "[::1]:0", "[::1]:7"),
        ("0.0.0.0:1", "0.0.0.0:1", "0.0.0.0:7"),
        ("localhost:65535", "localhost:65535", "localhost:7"),
        ("unix:/tmp/a.sock", "unix:/tmp/a.sock", "unix:/tmp/a.sock"),
        ("unix:///tmp/a.sock", "unix:/tmp/a.sock", "unix:/tmp/a.sock"),
    ],
)
def test_address_forms(address: str, target: str, shown: str) -> None:
    parsed = parse_listen_address(address, allow_port_zero=True)
    assert parsed.target == target
    assert parsed.bound(7) == shown


def test_relative_unix_address_is_resolved_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert parse_listen_address("unix:x/s.sock").unix_path == "/tmp/x/s.sock"


# -- argument checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((5500,), "Parameter 'address' should be str, but actually <class 'int'>"),
        (("",), "Parameter 'address' should not be empty str"),
        (
            ("127.0.0.1:1", "1"),
            "Parameter 'max_msg_mb_size' should be int, but actually <class 'str'>",
        ),
        (("127.0.0.1:1", 0), "Parameter 'max_msg_mb_size' should be in range [1,512]"),
        (("127.0.0.1:1", 513), "Parameter 'max_msg_mb_size' should be in range [1,512]"),
        (("127.0.0.1:1", 100, "tls"), "The type of ssl_config should be type of SSLConfig"),
    ],
)
def test_argument_checks(module_api: None, args: tuple[object, ...], text: str) -> None:
    with pytest.raises(RuntimeError) as caught:
        reference_server.start_grpc_server(*args)  # type: ignore[arg-type]
    assert str(caught.value) == text


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"certificate": None, "private_key": "k"},
            "Parameter 'certificate' should be str, but actually <class 'NoneType'>",
        ),
        (
            {"certificate": "c", "private_key": ""},
            "Parameter 'private_key' should not be empty str",
        ),
        (
            {"certificate": "c", "private_key": "k", "verify_client": 1},
            "Parameter 'verify_client' should be bool, but actually <class 'int'>",
        ),
        (
            {"certificate": "c", "private_key": "k", "verify_client": True},
            "Parameter 'custom_ca' should be str, but actually <class 'NoneType'>",
        ),
    ],
)
def test_ssl_config_checks(kwargs: dict[str, object], text: str) -> None:
    with pytest.raises(RuntimeError) as caught:
        SSLConfig(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == text


def test_ssl_config_ignores_custom_ca_without_verify_client() -> None:
    config = SSLConfig("c", "k", custom_ca=None, verify_client=False)
    assert config.custom_ca is None and not config.verify_client


# -- the module-level server ---------------------------------------------------------------


def test_start_serve_stop(module_api: None, short_dir: Path) -> None:
    reference_server.start_servables(device="cpu")
    address = unix_address(short_dir)
    reference_server.start_grpc_server(address)
    with stub_for(address) as stub:
        reply = predict(stub, ECHO)
    assert output(reply, 0, "y") == 5
    reference_server.stop()
    assert not (short_dir / "s.sock").exists()
    assert api.running_server() is None


def test_second_start_is_refused_and_the_first_keeps_serving(
    module_api: None, short_dir: Path
) -> None:
    reference_server.start_servables(device="cpu")
    address = unix_address(short_dir)
    reference_server.start_grpc_server(address)
    with pytest.raises(RuntimeError) as caught:
        reference_server.start_grpc_server(unix_address(short_dir, "other.sock"))
    assert str(caught.value) == "Serving Error: Serving gRPC server is already running"
    with stub_for(address) as stub:
        assert not predict(stub, ECHO).error_msg


def test_restart_after_stop(module_api: None, short_dir: Path) -> None:
    for _ in range(2):
        reference_server.start_servables(device="cpu")
        reference_server.start_grpc_server(unix_address(short_dir))
        reference_server.stop()


def test_without_servables_nothing_is_available(module_api: None, short_dir: Path) -> None:
    reference_server.start_grpc_server(unix_address(short_dir))
    with stub_for(unix_address(short_dir)) as stub:
        [(code, text)] = errors(predict(stub, ECHO))
    assert code == 2 and text.endswith("servable is not available")


def test_servables_deployed_after_start_are_served(module_api: None, short_dir: Path) -> None:
    reference_server.start_grpc_server(unix_address(short_dir))
    method = Method("one", ("x",), ("y",), lambda batch, backend: [{"y": 1} for _ in batch])
    reference_server.start_servables([Servable("mine", {4: method_table(method)})], device="cpu")
    with stub_for(unix_address(short_dir)) as stub:
        reply = predict(stub, request("mine", "one", [{"x": "a"}]))
    assert output(reply, 0, "y") == 1


def test_bind_failure(module_api: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(RuntimeError) as caught:
            reference_server.start_grpc_server(address)
    assert str(caught.value) == CREATE_FAILED + address
    assert api.running_server() is None


def test_unix_socket_in_a_missing_folder(module_api: None, short_dir: Path) -> None:
    address = f"unix:{short_dir}/absent/s.sock"
    with pytest.raises(RuntimeError) as caught:
        reference_server.start_grpc_server(address)
    assert str(caught.value) == CREATE_FAILED + address


def test_key_that_does_not_match_its_certificate(module_api: None, tls_files: TrustmeFiles) -> None:
    config = SSLConfig(str(tls_files.server.certificate), str(tls_files.other_client.private_key))
    with pytest.raises(RuntimeError) as caught:
        reference_server.start_grpc_server("127.0.0.1:1", ssl_config=config)
    assert str(caught.value) == CREATE_FAILED + "127.0.0.1:1"


def test_start_servables_accepts_a_registry(module_api: None) -> None:
    registry = Registry()
    assert reference_server.start_servables(registry) is registry
    kit = reference_server.start_servables(device="cpu")
    assert kit.names() == ["add", "conformance", "resnet50"]
    assert sorted(kit.methods("conformance", 0) or ()) == ["echo", "fail"]
    assert kit.backend.name == "numpy"
