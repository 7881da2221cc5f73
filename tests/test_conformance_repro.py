"""Failure reproductions are runnable: each snippet, run as a script, sends its request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from conformance.drive import Endpoint
from conformance.reporting import repro
from conformance.verify.wire import make_request
from protos import codec
from protos import ms_service_pb2 as pb
from reference_server import ReferenceServer

ROOT = Path(__file__).resolve().parent.parent


def run_snippet(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, code + "\n" + done.stderr
    return done.stdout


def test_client_snippet_replays_an_echo(kit_server: ReferenceServer) -> None:
    x = codec.array_to_tensor(np.array([[1.5, np.nan], [-0.0, np.inf]], dtype=np.float32))
    request = make_request("conformance", "echo", [{"x": x}, {"x": codec.text_tensor("ü\x00")}], 1)
    snippet = repro.snippet(Endpoint("core", kit_server.address), request)
    assert "from reference_client import Client" in snippet
    output = run_snippet(snippet)
    assert "'y': array([[ 1.5,  nan]" in output and "'y': 'ü\\x00'" in output
    assert "'version': array(1)" in output


def test_raw_snippet_replays_a_request_the_client_cannot_build(kit_server: ReferenceServer) -> None:
    bad = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[b"a", b"b'''\"\"\"\\"])  # two values
    scalar_text = codec.text_tensor("dims []", dims=())
    request = make_request("conformance", "echo", [{"x": scalar_text}, {"x": bad}])
    snippet = repro.snippet(Endpoint("core", kit_server.address), request)
    assert "text_format.Parse" in snippet
    output = run_snippet(snippet)
    assert "error_code: 2" in output and "batch size can only be 1" in output


def test_huge_requests_are_summarised() -> None:
    x = pb.Tensor(dtype=pb.MS_UINT8, data=bytes(repro.MAX_PRINTED_BYTES + 1))
    x.shape.dims.append(len(x.data))
    text = repro.snippet(
        Endpoint("limits", "127.0.0.1:1"), make_request("conformance", "echo", [{"x": x}])
    )
    assert text.startswith("# a ") and "too large to print" in text
