"""The README's examples, run as a new user would run them (with free ports and short paths).

Each command is asserted to appear verbatim in README.md, so the README cannot drift from what
is tested here. Fixed addresses are swapped for port 0 (the server reports the real port) and a
fresh short unix path.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import short_tmp_dir
from support.servers import cli_server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

SERVER = "python3 -m reference_server --address 127.0.0.1:5500 &"
ADD_CLIENT = "python3 examples/add_client.py"
UNIX_SERVER = "python3 -m reference_server --address unix:/tmp/ms_add.sock &"
UNIX_CLIENT = "python3 examples/add_client.py unix:/tmp/ms_add.sock"
MAKE_CERTS = "python3 examples/make_certs.py certs"
RESNET_CLIENT = "cd examples && python3 resnet50_client.py"
TLS_SERVER = (
    "python3 -m reference_server --address 127.0.0.1:5501 --certificate certs/server.pem "
    "--private-key certs/server.key &"
)
TLS_CLIENT = "python3 examples/add_client_tls.py 127.0.0.1:5501 certs/ca.pem"
MTLS_SERVER = (
    "python3 -m reference_server --address 127.0.0.1:5502 --certificate certs/server.pem "
    "--private-key certs/server.key --custom-ca certs/ca.pem --verify-client true &"
)
MTLS_CLIENT = (
    "python3 examples/add_client_tls.py 127.0.0.1:5502 certs/ca.pem certs/client.pem "
    "certs/client.key"
)


def _server_args(command: str, replacements: dict[str, str]) -> list[str]:
    """The CLI arguments of a README server line, with addresses and paths replaced."""
    for old, new in replacements.items():
        command = command.replace(old, new)
    words = command.removesuffix(" &").split()
    assert words[:3] == ["python3", "-m", "reference_server"]
    return words[3:]


def _run(command: str, replacements: dict[str, str], cwd: Path = ROOT) -> str:
    for old, new in replacements.items():
        command = command.replace(old, new)
    words = command.split()
    assert words[0] == "python3"
    done = subprocess.run(
        [sys.executable, *words[1:]], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _readme_block_after(marker: str) -> str:
    """The first fenced block after ``marker`` in the README."""
    tail = README[README.index(marker) :]
    match = re.search(r"```[a-z]*\n(.*?)```", tail, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    "command",
    [
        *(SERVER, ADD_CLIENT, UNIX_SERVER, UNIX_CLIENT, MAKE_CERTS, RESNET_CLIENT),
        *(TLS_SERVER, TLS_CLIENT, MTLS_SERVER, MTLS_CLIENT),
    ],
)
def test_command_is_in_the_readme(command: str) -> None:
    assert command in README


def test_install_and_test_commands_match_ci() -> None:
    block = _readme_block_after("## Install and test")
    install, test = block.strip().splitlines()
    assert (install, test) == ("python3 -m pip install tox tox-uv", "tox -e py311")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install in ci.splitlines()
    # The same command; CI may add pytest options after `--` (--durations=25: the slowest tests).
    assert any(line == test or line.startswith(f"{test} -- ") for line in ci.splitlines())


def test_add_example_prints_what_the_readme_shows() -> None:
    with cli_server(_server_args(SERVER, {"127.0.0.1:5500": "127.0.0.1:0"})) as server:
        assert server.ready_line.endswith("(plaintext, device numpy)")
        printed = _run(f"{ADD_CLIENT} {server.address}", {})
    expected = _readme_block_after("client prints the three 2×2 sums")
    assert printed == expected


def _score_lines(text: str) -> list[tuple[float, str]]:
    """The ``  SCORE  LABEL`` lines of the resnet50 example's top-5 listing."""
    found = (re.fullmatch(r" +(-?\d+\.\d\d)  (.+)", line) for line in text.splitlines())
    return [(float(match[1]), match[2]) for match in found if match]


def test_resnet50_example_prints_five_labels_and_scores_as_the_readme_shows() -> None:
    shown = _readme_block_after("each image's five labels with their scores")
    with cli_server(_server_args(SERVER, {"127.0.0.1:5500": "127.0.0.1:0"})) as server:
        words = RESNET_CLIENT.removeprefix("cd examples && ").split()
        printed = _run(" ".join([*words, server.address]), {}, cwd=ROOT / "examples")
    image = shown.splitlines()[0]
    assert image == "./test_image/chelsea.jpg:" and image in printed.splitlines()
    listing = printed[printed.index(image) :]
    expected, got = _score_lines(shown), _score_lines(listing)[:5]
    assert len(expected) == 5 and [label for _, label in got] == [label for _, label in expected]
    # The scores are float32 sums: allow the last printed digit to differ across BLAS builds.
    assert all(abs(a - b) <= 0.02 for (a, _), (b, _) in zip(got, expected, strict=True))


def test_readme_error_examples() -> None:
    python_block = _readme_block_after("carries its own error while the")
    with cli_server(_server_args(SERVER, {"127.0.0.1:5500": "127.0.0.1:0"})) as server:
        code = python_block.replace("127.0.0.1:5500", server.address)
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        instance_error = (
            "{'error': 'Given model input 1 data type kMSI_Int32 not match the data type "
            "kMSI_Float32 defined in model'}"
        )
        first, second, third = done.stdout.split("}, {")
        assert first.startswith("[{'y': array([[2., 2.],")
        assert "{" + second + "}" == instance_error
        assert third.startswith("'y': array([[2., 2.],")
        wrong_method = code.replace('"add_common")', '"add_common2")')
        done = subprocess.run(
            [sys.executable, "-c", wrong_method],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    text = "{'error': 'Request servable(add) method(add_common2) , method is not available'}"
    assert done.stdout.strip() == text
    assert text in README


def test_unix_socket_example() -> None:
    with short_tmp_dir() as folder:
        socket = f"{folder}/ms_add.sock"
        swap = {"/tmp/ms_add.sock": socket}
        with cli_server(_server_args(UNIX_SERVER, swap)) as server:
            assert server.address == f"unix:{socket}"
            printed = _run(UNIX_CLIENT, swap)
            assert printed.count("dtype=float32") == 3
            code, _ = server.stop()
        assert code == 0
        assert not Path(socket).exists()


def test_tls_examples() -> None:
    with short_tmp_dir() as folder:
        _run(MAKE_CERTS, {" certs": f" {folder}/certs"})
        certs = {"certs/": f"{folder}/certs/"}
        one_way = _server_args(TLS_SERVER, {**certs, "127.0.0.1:5501": "127.0.0.1:0"})
        with cli_server(one_way) as server:
            printed = _run(TLS_CLIENT.replace("127.0.0.1:5501", server.address), certs)
            assert "'y': array([[2., 2.]" in printed
        mutual = _server_args(MTLS_SERVER, {**certs, "127.0.0.1:5502": "127.0.0.1:0"})
        with cli_server(mutual) as server:
            printed = _run(MTLS_CLIENT.replace("127.0.0.1:5502", server.address), certs)
            assert "'y': array([[2., 2.]" in printed
            # Without its client certificate the same client is refused, as the README says.
            refused = _run(TLS_CLIENT.replace("127.0.0.1:5501", server.address), certs)
            assert refused.startswith("{'error': \"Grpc Error, (14, 'unavailable')")
