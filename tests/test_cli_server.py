"""The server CLI as a subprocess: ready line, transports, signals, one-line errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.rpc import output, predict, request, stub_for
from support.servers import READY_TIMEOUT_S, cli_command, cli_server, run_cli
from support.tls import TrustmeFiles

from reference_client.arrays import gpu_problem

ECHO = request("conformance", "echo", [{"x": np.arange(4, dtype=np.uint8)}])
READY = re.compile(
    r"reference_server: serving on (?P<address>\S+) "
    r"\((?P<mode>plaintext|tls|mutual tls), device (?P<device>numpy|cupy)\)"
)


def harness_args(
    address: str, cert: str = "", key: str = "", ca: str = "", verify: str = "false"
) -> list[str]:
    """The argument words the conformance harness's --server-cmd placeholders expand to."""
    return [
        "--address", address,
        "--certificate", cert,
        "--private-key", key,
        "--custom-ca", ca,
        "--verify-client", verify,
        "--max-msg-mb-size", "100",
    ]  # fmt: skip


def test_plaintext_ready_line_serves_and_sigterm_exits_0() -> None:
    with cli_server([*harness_args("127.0.0.1:0"), "--device", "cpu"]) as cli:
        ready = READY.fullmatch(cli.ready_line)
        assert ready, cli.ready_line
        assert ready["mode"] == "plaintext" and ready["device"] == "numpy"
        host, port = ready["address"].rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        with stub_for(cli.address) as stub:
            assert list(output(predict(stub, ECHO), 0, "y")) == [0, 1, 2, 3]
        status, stderr = cli.stop(signal.SIGTERM)
    assert status == 0, stderr
    assert "Traceback" not in stderr


def test_unix_socket_sigint_exits_0_and_removes_the_socket(short_dir: Path) -> None:
    path = short_dir / "cli.sock"
    with cli_server(["--address", f"unix:{path}"]) as cli:
        assert cli.address == f"unix:{path}"
        assert path.exists()
        with stub_for(cli.address) as stub:
            assert not predict(stub, ECHO).error_msg
        status, stderr = cli.stop(signal.SIGINT)
    assert status == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert not path.exists()


def test_tls_and_mutual_tls(tls_files: TrustmeFiles) -> None:
    cert, key, ca = (
        str(p) for p in (tls_files.server.certificate, tls_files.server.private_key, tls_files.ca)
    )
    with cli_server(harness_args("127.0.0.1:0", cert, key, "", "false")) as cli:
        assert READY.fullmatch(cli.ready_line)["mode"] == "tls"  # type: ignore[index]
        with stub_for(cli.address, tls_files.channel_credentials("ca")) as stub:
            assert not predict(stub, ECHO).error_msg
    with cli_server(harness_args("127.0.0.1:0", cert, key, ca, "true")) as cli:
        assert READY.fullmatch(cli.ready_line)["mode"] == "mutual tls"  # type: ignore[index]
        with stub_for(cli.address, tls_files.channel_credentials("ca", client="ca")) as stub:
            assert not predict(stub, ECHO).error_msg
        assert cli.stop()[0] == 0


def _one_line_error(args: list[str], status: int, *fragments: str) -> None:
    result = run_cli(args)
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("reference_server: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ([], ["--address"]),
        (["--address"], ["--address"]),
        (["--address", "127.0.0.1:0", "--bogus"], ["--bogus"]),
        (["--address", "127.0.0.1:99999"], ["out of legal range [1 ~ 65535]"]),
        (["--address", "nocolon"], ["is illegal"]),
        (["--address", "unix:"], ["Empty grpc server unix domain socket address"]),
        (["--address", "127.0.0.1:0", "--max-msg-mb-size", "513"], ["--max-msg-mb-size"]),
        (["--address", "127.0.0.1:0", "--max-msg-mb-size", "ten"], ["--max-msg-mb-size"]),
        (["--address", "127.0.0.1:0", "--verify-client", "maybe"], ["--verify-client"]),
        (["--address", "127.0.0.1:0", "--device", "tpu"], ["--device"]),
        (["--address", "127.0.0.1:0", "--certificate", "/nonexistent.pem", "--private-key", "/k"],
         ["--certificate", "/nonexistent.pem"]),
        (["--address", "127.0.0.1:0", "--private-key", "/k"], ["--certificate"]),
        (["--address", "127.0.0.1:0", "--resnet-weights", "/absent.npz"], ["--resnet-weights"]),
        (["--address", "127.0.0.1:0", "--grace", "inf"], ["--grace", "finite"]),
        (["--address", "127.0.0.1:0", "--grace", "nan"], ["--grace", "finite"]),
        (["--address", "127.0.0.1:0", "--grace", "-1"], ["--grace", "negative"]),
        (["--address", "127.0.0.1:0", "--receive-timeout", "0"], ["--receive-timeout"]),
        (["--address", "127.0.0.1:0", "--log-level", "loud"], ["--log-level"]),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str], fragments: list[str]) -> None:
    _one_line_error(args, 2, *fragments)


def test_incomplete_tls_options_exit_2(tls_files: TrustmeFiles) -> None:
    cert = str(tls_files.server.certificate)
    _one_line_error(["--address", "127.0.0.1:0", "--certificate", cert], 2, "--private-key")
    key = str(tls_files.server.private_key)
    args = ["--address", "127.0.0.1:0", "--certificate", cert, "--private-key", key]
    _one_line_error([*args, "--verify-client", "true"], 2, "--custom-ca")


def test_bad_weights_file_exits_2(short_dir: Path) -> None:
    weights = short_dir / "w.npz"
    weights.write_bytes(b"not a zip")
    _one_line_error(["--address", "127.0.0.1:0", "--resnet-weights", str(weights)], 2, str(weights))


def test_key_of_another_certificate_exits_1(tls_files: TrustmeFiles) -> None:
    args = harness_args(
        "127.0.0.1:0", str(tls_files.server.certificate), str(tls_files.client.private_key)
    )
    _one_line_error(
        args,
        1,
        "create server failed, address 127.0.0.1:0",
        "the private key does not belong to the certificate",
    )


def test_certificate_that_is_not_pem_exits_1_with_the_reason(
    tls_files: TrustmeFiles, short_dir: Path
) -> None:
    garbage = short_dir / "cert.pem"
    garbage.write_text("not a certificate\n")
    args = harness_args("127.0.0.1:0", str(garbage), str(tls_files.server.private_key))
    _one_line_error(args, 1, "create server failed", "not a PEM X.509 certificate")


def test_empty_custom_ca_exits_1_with_the_reason(tls_files: TrustmeFiles, short_dir: Path) -> None:
    empty = short_dir / "ca.pem"
    empty.write_text("")
    cert, key = str(tls_files.server.certificate), str(tls_files.server.private_key)
    args = harness_args("127.0.0.1:0", cert, key, str(empty), "true")
    _one_line_error(args, 1, "create server failed", "custom CA file holds no PEM certificate")


def test_a_unix_socket_a_live_server_uses_is_refused(short_dir: Path) -> None:
    path = short_dir / "live.sock"
    with cli_server(["--address", f"unix:{path}"]) as first:
        _one_line_error(
            ["--address", f"unix:{path}"], 1, "create server failed", "a live server listens on"
        )
        with stub_for(first.address) as stub:  # the first keeps its socket and serves
            assert not predict(stub, ECHO).error_msg
        assert first.stop()[0] == 0
    assert not path.exists()


def test_bind_failure_exits_1_with_the_reason() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        _one_line_error(
            ["--address", address], 1, f"create server failed, address {address}", "in use"
        )


def test_bind_failure_reason_without_grpc_s_log_line() -> None:
    # grpcio 1.74-1.80 print no bind error unless GRPC_VERBOSITY=debug; NONE silences it here.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = subprocess.run(
            cli_command("--address", address),
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT_S,
            env={**os.environ, "GRPC_VERBOSITY": "NONE"},
        )
    assert result.returncode == 1, result.stderr
    assert "in use" in result.stderr.lower(), result.stderr


@pytest.mark.skipif(gpu_problem() is None, reason="a GPU is present")
def test_gpu_device_without_a_gpu_exits_1() -> None:
    _one_line_error(["--address", "127.0.0.1:0", "--device", "gpu"], 1, "--device gpu")


def test_help_exits_0() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0 and "--address" in result.stdout


def test_version_exits_0() -> None:
    from importlib import metadata

    result = run_cli(["--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"reference_server {metadata.version('ms-serving-conformance')}"


def test_log_level_info_logs_start_and_stop() -> None:
    with cli_server(["--address", "127.0.0.1:0", "--log-level", "info"]) as cli:
        status, stderr = cli.stop(signal.SIGTERM)
    assert status == 0, stderr
    assert "INFO: reference_server.server: serving on 127.0.0.1:" in stderr
    assert "SIGTERM: stopping" in stderr and "stopped after" in stderr
    with cli_server(["--address", "127.0.0.1:0"]) as cli:  # default: warnings only
        status, stderr = cli.stop(signal.SIGTERM)
    assert status == 0 and "INFO" not in stderr


def test_health_and_reflection_by_default_and_flags_turn_them_off() -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    def check(address: str) -> grpc.StatusCode:
        with grpc.insecure_channel(address) as channel:
            try:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=10
                )
            except grpc.RpcError as error:
                return error.code()
        return grpc.StatusCode.OK

    with cli_server(["--address", "127.0.0.1:0"]) as cli:
        assert check(cli.address) == grpc.StatusCode.OK
    with cli_server(["--address", "127.0.0.1:0", "--no-health", "--no-reflection"]) as cli:
        assert check(cli.address) == grpc.StatusCode.UNIMPLEMENTED
        with stub_for(cli.address) as stub:
            assert not predict(stub, ECHO).error_msg
