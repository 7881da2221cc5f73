"""Transports: TCP (v4, v6), unix sockets, one-way and mutual TLS, and refused handshakes."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest
from support.paths import unix_address
from support.rpc import output, predict, request, status_of, stub_for
from support.tls import TrustmeFiles

from reference_server import ReferenceServer

ECHO = request("conformance", "echo", [{"x": np.arange(3, dtype=np.int16)}])
REFUSAL_TIMEOUT_S = 5.0


def serves(address: str, credentials: grpc.ChannelCredentials | None = None, **kw: object) -> bool:
    with stub_for(address, credentials, **kw) as stub:  # type: ignore[arg-type]
        reply = predict(stub, ECHO)
    return not reply.error_msg and list(output(reply, 0, "y")) == [0, 1, 2]


def refused(address: str, credentials: grpc.ChannelCredentials | None, **kw: object) -> bool:
    with stub_for(address, credentials, **kw) as stub:  # type: ignore[arg-type]
        return status_of(stub, ECHO, REFUSAL_TIMEOUT_S) == grpc.StatusCode.UNAVAILABLE


# -- TCP ----------------------------------------------------------------------------------


def test_tcp_port_zero_reports_the_real_port(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(address="127.0.0.1:0")
    assert server.port is not None and server.port > 0
    assert server.address == f"127.0.0.1:{server.port}"
    assert server.tls_mode == "plaintext"
    assert serves(server.address)


def test_ipv6_loopback(start_server: Callable[..., ReferenceServer]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = start_server(address="[::1]:0")
    except RuntimeError:
        pytest.skip("IPv6 loopback unavailable")
    assert server.address == f"[::1]:{server.port}"
    assert serves(server.address)


def test_several_servers_in_one_process(start_server: Callable[..., ReferenceServer]) -> None:
    first, second = start_server(), start_server()
    assert first.port != second.port
    stopped = first.address
    first.stop()
    assert serves(second.address)
    with stub_for(stopped) as stub:
        assert status_of(stub, ECHO, REFUSAL_TIMEOUT_S) == grpc.StatusCode.UNAVAILABLE


def test_stop_refuses_new_calls_and_is_idempotent(
    start_server: Callable[..., ReferenceServer],
) -> None:
    server = start_server()
    address = server.address
    server.stop()
    server.stop()
    assert not server.running
    with stub_for(address) as stub:
        assert status_of(stub, ECHO, REFUSAL_TIMEOUT_S) == grpc.StatusCode.UNAVAILABLE


# -- unix sockets -------------------------------------------------------------------------


def test_unix_socket_served_and_removed_on_stop(
    start_server: Callable[..., ReferenceServer], short_dir: Path
) -> None:
    path = short_dir / "s.sock"
    server = start_server(address=unix_address(short_dir))
    assert server.address == f"unix:{path}" and server.port is None
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert serves(server.address)
    server.stop()
    assert not path.exists()


def test_stale_unix_socket_is_replaced(
    start_server: Callable[..., ReferenceServer], short_dir: Path
) -> None:
    path = short_dir / "s.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # bound, never listening: a dead server's leftover
    stale.close()
    assert path.exists()
    server = start_server(address=f"unix:{path}")
    assert serves(server.address)


def test_a_unix_socket_a_live_server_uses_is_refused(
    start_server: Callable[..., ReferenceServer], short_dir: Path
) -> None:
    first = start_server(address=unix_address(short_dir))
    second = ReferenceServer()
    with pytest.raises(RuntimeError) as caught:
        second.start(first.address)  # gRPC alone would unlink the socket and take it over
    assert str(caught.value) == (
        "Serving Error: Serving gRPC server start failed, create server failed, "
        f"address {first.address}"
    )
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.EADDRINUSE
    assert not second.running
    assert serves(first.address)


def test_unix_relative_path(
    start_server: Callable[..., ReferenceServer], short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(short_dir)
    server = start_server(address="unix:rel.sock")
    assert server.address == f"unix:{short_dir / 'rel.sock'}"
    monkeypatch.chdir("/")
    assert serves("unix:" + str(short_dir / "rel.sock"))
    server.stop()
    assert not (short_dir / "rel.sock").exists()


def test_unix_socket_over_a_regular_file_fails_to_start(short_dir: Path) -> None:
    path = short_dir / "s.sock"
    path.write_text("not a socket")
    with pytest.raises(RuntimeError, match="create server failed, address unix:"):
        ReferenceServer().start(f"unix:{path}")
    assert path.read_text() == "not a socket"


# -- TLS ----------------------------------------------------------------------------------


@pytest.fixture
def tls_server(
    start_server: Callable[..., ReferenceServer], tls_files: TrustmeFiles
) -> ReferenceServer:
    return start_server(ssl_config=tls_files.server_ssl_config())


@pytest.fixture
def mtls_server(
    start_server: Callable[..., ReferenceServer], tls_files: TrustmeFiles
) -> ReferenceServer:
    return start_server(ssl_config=tls_files.server_ssl_config(verify_client=True))


def test_one_way_tls(tls_server: ReferenceServer, tls_files: TrustmeFiles) -> None:
    assert tls_server.tls_mode == "tls"
    assert serves(tls_server.address, tls_files.channel_credentials("ca"))
    localhost = f"localhost:{tls_server.port}"
    assert serves(localhost, tls_files.channel_credentials("ca"))
    # A client certificate is not asked for, and does no harm.
    assert serves(tls_server.address, tls_files.channel_credentials("ca", client="other"))


def test_tls_over_unix_socket(
    start_server: Callable[..., ReferenceServer], tls_files: TrustmeFiles, short_dir: Path
) -> None:
    server = start_server(address=unix_address(short_dir), ssl_config=tls_files.server_ssl_config())
    override = [("grpc.ssl_target_name_override", "localhost")]
    assert serves(server.address, tls_files.channel_credentials("ca"), options=override)


@pytest.mark.parametrize(
    "failure",
    ["untrusted CA", "wrong host", "plaintext client"],
)
def test_tls_refusals_then_still_serving(
    tls_server: ReferenceServer, tls_files: TrustmeFiles, failure: str
) -> None:
    address = tls_server.address
    if failure == "untrusted CA":
        assert refused(address, tls_files.channel_credentials("other"))
    elif failure == "wrong host":
        wrong = [("grpc.ssl_target_name_override", "wrong.example")]
        assert refused(address, tls_files.channel_credentials("ca"), options=wrong)
    else:
        assert refused(address, None)
    assert serves(address, tls_files.channel_credentials("ca"))


def test_mutual_tls(mtls_server: ReferenceServer, tls_files: TrustmeFiles) -> None:
    assert mtls_server.tls_mode == "mutual tls"
    assert serves(mtls_server.address, tls_files.channel_credentials("ca", client="ca"))


@pytest.mark.parametrize("client", ["none", "other"])
def test_mutual_tls_refusals_then_still_serving(
    mtls_server: ReferenceServer, tls_files: TrustmeFiles, client: str
) -> None:
    address = mtls_server.address
    assert refused(address, tls_files.channel_credentials("ca", client=client))  # type: ignore[arg-type]
    assert refused(address, None)
    assert serves(address, tls_files.channel_credentials("ca", client="ca"))


def test_tls_key_of_another_certificate_fails_to_start(tls_files: TrustmeFiles) -> None:
    from reference_server import SSLConfig

    mismatched = SSLConfig(str(tls_files.server.certificate), str(tls_files.client.private_key))
    server = ReferenceServer()
    with pytest.raises(RuntimeError) as caught:
        server.start("127.0.0.1:0", ssl_config=mismatched)
    assert str(caught.value) == (
        "Serving Error: Serving gRPC server start failed, create server failed, address 127.0.0.1:0"
    )
    # The reason, for whoever reports it (the CLI prints it).
    assert "does not belong to the certificate" in str(caught.value.__cause__)
    assert not server.running


def test_mutual_tls_with_an_empty_client_ca_fails_to_start(
    tls_files: TrustmeFiles, short_dir: Path
) -> None:
    from reference_server import SSLConfig

    empty = short_dir / "ca.pem"
    empty.write_text("")
    config = SSLConfig(
        str(tls_files.server.certificate), str(tls_files.server.private_key), str(empty), True
    )
    with pytest.raises(RuntimeError, match="create server failed") as caught:
        ReferenceServer().start("127.0.0.1:0", ssl_config=config)
    assert "holds no PEM certificate" in str(caught.value.__cause__)


def test_tls_files_that_are_not_pem_fail_to_start(tls_files: TrustmeFiles, short_dir: Path) -> None:
    from reference_server import SSLConfig

    garbage = short_dir / "garbage.pem"
    garbage.write_text("-----BEGIN NOTHING-----\n")
    for config in (
        SSLConfig(str(garbage), str(tls_files.server.private_key)),
        SSLConfig(str(tls_files.server.certificate), str(garbage)),
    ):
        with pytest.raises(RuntimeError, match="create server failed"):
            ReferenceServer().start("127.0.0.1:0", ssl_config=config)


def test_missing_tls_file_is_an_os_error(tls_files: TrustmeFiles, short_dir: Path) -> None:
    from reference_server import SSLConfig

    config = SSLConfig(str(short_dir / "absent.pem"), str(tls_files.server.private_key))
    with pytest.raises(FileNotFoundError):
        ReferenceServer().start("127.0.0.1:0", ssl_config=config)
    assert os.listdir(short_dir) == []
