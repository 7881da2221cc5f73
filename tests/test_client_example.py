"""examples/add_client.py runs as a script and sends exactly upstream's three add instances."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from client_support import FakePredictServer

from protos import ms_service_pb2 as pb
from reference_client.values import value_to_tensor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "add_client.py"


def _add(request: pb.PredictRequest) -> pb.PredictReply:
    reply = pb.PredictReply(servable_spec=request.servable_spec)
    for instance in request.instances:
        x1 = np.frombuffer(instance.items["x1"].data, np.float32).reshape(2, 2)
        x2 = np.frombuffer(instance.items["x2"].data, np.float32).reshape(2, 2)
        reply.instances.add().items["y"].CopyFrom(value_to_tensor(x1 + x2))
    return reply


@pytest.fixture
def add_server() -> Iterator[FakePredictServer]:
    with FakePredictServer(_add) as fake:
        yield fake.start()


def test_example_against_a_port_0_server(add_server: FakePredictServer) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), add_server.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    request = add_server.last_request()
    assert (request.servable_spec.name, request.servable_spec.method_name) == ("add", "add_common")
    assert request.servable_spec.version_number == 0
    assert len(request.instances) == 3
    for value, instance in zip((1, 2, 3), request.instances, strict=True):
        for name in ("x1", "x2"):
            assert instance.items[name] == value_to_tensor(np.full((2, 2), value, np.float32))
    # The printed result: three instances, y = 2, 4, 6.
    printed = done.stdout.strip()
    assert printed.startswith("[{'y': array([[2., 2.],")
    assert printed.count("'y': array(") == 3
    assert "[6., 6.]]" in printed and "dtype=float32" in printed


def test_example_default_address_is_upstreams() -> None:
    spec = importlib.util.spec_from_file_location("add_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the __main__ guard keeps it from calling anything
    default = inspect.signature(module.run_add_common).parameters["address"].default
    assert default == "127.0.0.1:5500"
    assert module.Client.__module__ == "reference_client.client"
