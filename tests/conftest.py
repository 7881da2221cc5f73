"""Fixtures shared by the project's tests (helpers live in tests/support).

* ``short_dir``    a fresh short directory under /tmp (for unix sockets), removed afterwards
* ``tls_files``    session-wide trustme material as PEM files (support.tls.TrustmeFiles)
* ``start_server`` factory: ``start_server(registry=None, address="127.0.0.1:0", ssl_config=None,
                   max_msg_mb_size=100, **ReferenceServer options)`` -> a running
                   ReferenceServer (kit servables by default), stopped at the end of the test
* ``kit_server``   one plaintext TCP ReferenceServer with the kit's servables, per session
* ``kit_stub``     a raw MSServiceStub connected to ``kit_server``
* ``fake_device``  the strict fake CuPy (support.fakecupy) installed in reference_client.arrays, as
                   a support.devices.Device: its backend, and its transfer counts from zero
* ``device``       parametrized: ``fake`` (that fake) everywhere, and ``cupy`` (real CuPy,
                   marked ``gpu``, skipped without a working GPU)

Tests marked ``ahead(run)`` have their slow, mostly waiting run started in the background when
the session starts, and run last; tests marked ``slow`` run first (support.ahead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ahead, devices
from support.paths import short_tmp_dir
from support.rpc import stub_for
from support.servers import running_server
from support.tls import TrustmeFiles, make_tls_files

from protos import ms_service_pb2_grpc
from reference_client.arrays import gpu_problem
from reference_server import ReferenceServer


def pytest_configure(config: pytest.Config) -> None:
    ahead.configure(config)


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps within groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ahead.order(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    ahead.collection_finish(session)


def pytest_unconfigure(config: pytest.Config) -> None:
    ahead.unconfigure(config)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with short_tmp_dir() as directory:
        yield directory


@pytest.fixture(scope="session")
def tls_files() -> Iterator[TrustmeFiles]:
    with short_tmp_dir("mstls") as directory:
        yield make_tls_files(directory)


@pytest.fixture
def start_server() -> Iterator[Callable[..., ReferenceServer]]:
    with contextlib.ExitStack() as stack:

        def start(*args: Any, **kwargs: Any) -> ReferenceServer:
            return stack.enter_context(running_server(*args, **kwargs))

        yield start


@pytest.fixture(scope="session")
def kit_server() -> Iterator[ReferenceServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def kit_stub(kit_server: ReferenceServer) -> Iterator[ms_service_pb2_grpc.MSServiceStub]:
    with stub_for(kit_server.address) as stub:
        yield stub


@pytest.fixture
def fake_device() -> Iterator[devices.Device]:
    with devices.fake_device() as device:
        yield device


_NO_GPU = pytest.mark.skipif(gpu_problem() is not None, reason=f"no GPU: {gpu_problem()}")


@pytest.fixture(params=["fake", pytest.param("cupy", marks=[pytest.mark.gpu, _NO_GPU])])
def device(request: pytest.FixtureRequest) -> Iterator[devices.Device]:
    if request.param == "cupy":
        yield devices.real_cupy()
        return
    with devices.fake_device() as fake:
        yield fake
