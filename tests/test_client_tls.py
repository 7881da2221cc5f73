"""TLS and mutual TLS between the Client and the independent fake server, with trustme certs.

Every passing case has a twin that must be refused; a refusal reaches the client as
UNAVAILABLE, returned (not raised) as upstream's error dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from client_support import (
    WAIT_S,
    FakePredictServer,
    PemFiles,
    make_pem_files,
    short_temp_dir,
)

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_client import Client, SSLConfig, open_channel
from reference_client.values import value_to_tensor

UNAVAILABLE = "Grpc Error, (14, 'unavailable'), "
OK_REPLY = pb.PredictReply(instances=[pb.Instance(items={"y": value_to_tensor("tls ok")})])


@pytest.fixture(scope="module")
def pem_folder() -> Iterator[Path]:
    with short_temp_dir() as folder:
        yield folder


@pytest.fixture(scope="module")
def trusted(pem_folder: Path) -> PemFiles:
    return make_pem_files(pem_folder, "trusted")


@pytest.fixture(scope="module")
def stranger(pem_folder: Path) -> PemFiles:
    """Material from a CA nobody in these tests trusts."""
    return make_pem_files(pem_folder, "stranger")


@pytest.fixture
def tls_server(trusted: PemFiles) -> Iterator[FakePredictServer]:
    with FakePredictServer(OK_REPLY) as fake:
        yield fake.start(credentials=trusted.server_credentials())


@pytest.fixture
def mtls_server(trusted: PemFiles) -> Iterator[FakePredictServer]:
    with FakePredictServer(OK_REPLY) as fake:
        yield fake.start(credentials=trusted.server_credentials(require_client_auth=True))


def _infer(address: str, ssl_config: SSLConfig | None) -> object:
    with Client(address, "s", "m", ssl_config=ssl_config, timeout=WAIT_S) as client:
        return client.infer({"x": 1})


def _assert_refused(result: object) -> None:
    assert isinstance(result, dict), result
    assert result["error"].startswith(UNAVAILABLE), result


def test_one_way_tls_with_the_right_ca(trusted: PemFiles, tls_server: FakePredictServer) -> None:
    assert _infer(tls_server.address, SSLConfig(custom_ca=trusted.ca_file)) == [{"y": "tls ok"}]
    assert len(tls_server.received) == 1


def test_one_way_tls_by_host_name(trusted: PemFiles, tls_server: FakePredictServer) -> None:
    # The certificate names "localhost" too: the address's host is what gets verified.
    port = tls_server.address.rsplit(":", 1)[1]
    result = _infer(f"localhost:{port}", SSLConfig(custom_ca=trusted.ca_file))
    assert result == [{"y": "tls ok"}]


def test_one_way_tls_refuses_an_untrusted_ca(
    stranger: PemFiles, tls_server: FakePredictServer
) -> None:
    _assert_refused(_infer(tls_server.address, SSLConfig(custom_ca=stranger.ca_file)))
    assert tls_server.received == []


def test_one_way_tls_refuses_the_default_roots(tls_server: FakePredictServer) -> None:
    # custom_ca=None means gRPC's default roots, which do not hold a trustme CA.
    _assert_refused(_infer(tls_server.address, SSLConfig()))


def test_plaintext_client_is_refused_by_a_tls_server(tls_server: FakePredictServer) -> None:
    _assert_refused(_infer(tls_server.address, None))
    assert tls_server.received == []


def test_tls_client_is_refused_by_a_plaintext_server(trusted: PemFiles) -> None:
    with FakePredictServer(OK_REPLY) as plain:
        plain.start()
        _assert_refused(_infer(plain.address, SSLConfig(custom_ca=trusted.ca_file)))


def test_wrong_host_name_is_refused(pem_folder: Path, trusted: PemFiles) -> None:
    # A server certificate from the trusted CA, but for another host.
    other = trusted.ca.issue_cert("elsewhere.example")
    credentials = grpc.ssl_server_credentials(
        [(other.private_key_pem.bytes(), b"".join(p.bytes() for p in other.cert_chain_pems))]
    )
    with FakePredictServer(OK_REPLY) as fake:
        fake.start(credentials=credentials)
        _assert_refused(_infer(fake.address, SSLConfig(custom_ca=trusted.ca_file)))
        assert fake.received == []


def test_mutual_tls_with_a_trusted_client_certificate(
    trusted: PemFiles, mtls_server: FakePredictServer
) -> None:
    config = SSLConfig(trusted.client_cert, trusted.client_key, trusted.ca_file)
    assert _infer(mtls_server.address, config) == [{"y": "tls ok"}]


def test_mutual_tls_refuses_a_missing_client_certificate(
    trusted: PemFiles, mtls_server: FakePredictServer
) -> None:
    _assert_refused(_infer(mtls_server.address, SSLConfig(custom_ca=trusted.ca_file)))
    assert mtls_server.received == []


def test_mutual_tls_refuses_a_client_certificate_from_another_ca(
    trusted: PemFiles, stranger: PemFiles, mtls_server: FakePredictServer
) -> None:
    config = SSLConfig(stranger.client_cert, stranger.client_key, trusted.ca_file)
    _assert_refused(_infer(mtls_server.address, config))
    assert mtls_server.received == []


def test_tls_over_a_unix_socket_verifies_the_socket_path(
    trusted: PemFiles, pem_folder: Path
) -> None:
    # For a unix: target gRPC verifies the percent-encoded socket path as the server name, and
    # upstream's client has no override: a "localhost" certificate is refused ...
    with FakePredictServer(OK_REPLY) as fake:
        fake.start(f"unix:{pem_folder}/tls.sock", trusted.server_credentials())
        _assert_refused(_infer(fake.address, SSLConfig(custom_ca=trusted.ca_file)))
        # ... while open_channel's extra options let a harness name the host to verify.
        override = [("grpc.ssl_target_name_override", "localhost")]
        with open_channel(
            fake.address, SSLConfig(custom_ca=trusted.ca_file), options=override
        ) as ch:
            stub = ms_service_pb2_grpc.MSServiceStub(ch)
            assert stub.Predict(pb.PredictRequest(), timeout=WAIT_S) == OK_REPLY
