"""The Client against an independent generic-handler server (tests/client_support.py).

What the fake server received is compared with the expected request; what it answers is parsed
as upstream's client does; transport failures come back as upstream's error dict from infer() and
are raised as the grpc.RpcError by infer_async(...).result(), as upstream's client does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
import numpy as np
import pytest
from client_support import WAIT_S, Abort, FakePredictServer, closed_tcp_port, short_temp_dir

from protos import ms_service_pb2 as pb
from reference_client import (
    DEFAULT_TIMEOUT_S,
    Client,
    ClientClosedError,
    InvalidInputError,
    MalformedReplyError,
    SSLConfig,
    VersionRangeError,
)
from reference_client.values import value_to_tensor

F32_ONES = np.ones((2, 2), np.float32)


def _reply(*instances: dict[str, Any], errors: Sequence[tuple[int, bytes]] = ()) -> pb.PredictReply:
    reply = pb.PredictReply(
        instances=[
            pb.Instance(items={name: value_to_tensor(value) for name, value in items.items()})
            for items in instances
        ],
        error_msg=[pb.ErrorMsg(error_code=code, error_msg=text) for code, text in errors],
    )
    return reply


@pytest.fixture
def server() -> Iterator[FakePredictServer]:
    with FakePredictServer() as fake:
        yield fake.start()


@pytest.fixture
def client(server: FakePredictServer) -> Iterator[Client]:
    with Client(server.address, "add", "add_common", timeout=WAIT_S) as c:
        yield c


# --- What goes on the wire ---------------------------------------------------------------------


def test_request_on_the_wire_is_exactly_the_expected_one(
    server: FakePredictServer, client: Client
) -> None:
    client.infer([{"x1": F32_ONES, "x2": "é"}, {"x1": b"\x00", "x2": 7}])
    expected = pb.PredictRequest(
        servable_spec=pb.ServableSpec(name="add", method_name="add_common", version_number=0),
    )
    first = expected.instances.add()
    first.items["x1"].dtype = pb.MS_FLOAT32
    first.items["x1"].shape.dims.extend([2, 2])
    first.items["x1"].data = b"\x00\x00\x80\x3f" * 4
    first.items["x2"].dtype = pb.MS_STRING
    first.items["x2"].shape.dims.append(1)
    first.items["x2"].bytes_val.append(b"\xc3\xa9")
    second = expected.instances.add()
    second.items["x1"].dtype = pb.MS_BYTES
    second.items["x1"].shape.dims.append(1)
    second.items["x1"].bytes_val.append(b"\x00")
    second.items["x2"].dtype = pb.MS_INT64
    second.items["x2"].shape.dims.append(1)
    second.items["x2"].data = b"\x07" + b"\x00" * 7
    assert len(server.received) == 1
    assert server.last_request() == expected


def test_request_bytes_literal(server: FakePredictServer) -> None:
    with Client(server.address, "add", "m", version_number=3, timeout=WAIT_S) as c:
        c.infer({"x": True})
    assert server.received == [
        bytes.fromhex("0a0a0a036164641201 6d1803 12110a0f0a0178120a0a030a01011001 1a0101")
    ]


def test_one_dict_is_one_instance(server: FakePredictServer, client: Client) -> None:
    client.infer({"x": 1.5})
    request = server.last_request()
    assert len(request.instances) == 1
    assert request.instances[0].items["x"].dtype == pb.MS_FLOAT64


def test_bad_values_raise_before_anything_is_sent(
    server: FakePredictServer, client: Client
) -> None:
    with pytest.raises(RuntimeError, match="Not support value type <class 'NoneType'>"):
        client.infer([{"x": 1}, {"x": None}])
    with pytest.raises(RuntimeError, match="Unknown data type complex128"):
        client.infer_async({"x": np.zeros(2, np.complex128)})
    with pytest.raises(RuntimeError, match="instance should be a map"):
        client.infer([{"x": 1}, 3])
    assert server.received == []


# --- Reply shapes --------------------------------------------------------------------------------


def test_all_ok_reply(server: FakePredictServer, client: Client) -> None:
    server.answer = _reply(
        {"y": np.full((2, 2), 2, np.float32), "v": np.int64(1)},
        {"y": np.zeros((0,), np.float32), "v": np.int64(2)},
    )
    result = client.infer([{"x1": F32_ONES}, {"x1": F32_ONES}])
    assert isinstance(result, list) and len(result) == 2
    assert result[0]["y"].dtype == np.float32 and result[0]["y"].tolist() == [[2, 2], [2, 2]]
    assert result[0]["v"].shape == () and int(result[0]["v"]) == 1
    assert not result[0]["y"].flags.writeable
    assert result[1]["y"].shape == (0,)


def test_request_level_error_reply(server: FakePredictServer, client: Client) -> None:
    text = "Request servable(add) method(nope) , method is not available"
    server.answer = _reply(errors=[(2, text.encode())])
    assert client.infer({"x1": F32_ONES}) == {"error": text}


def test_mixed_reply(server: FakePredictServer, client: Client) -> None:
    server.answer = pb.PredictReply(
        instances=[pb.Instance(), pb.Instance(items={"y": value_to_tensor(b"ok")})],
        error_msg=[pb.ErrorMsg(error_code=3, error_msg=b"boom"), pb.ErrorMsg(error_code=0)],
    )
    assert client.infer([{"x": 1}, {"x": 2}]) == [{"error": "boom"}, {"y": b"ok"}]


def test_bad_error_cardinality_raises(server: FakePredictServer, client: Client) -> None:
    server.answer = _reply({"y": 1}, {"y": 2}, {"y": 3}, errors=[(0, b""), (2, b"x")])
    with pytest.raises(MalformedReplyError, match="2 error entries for 3 instances"):
        client.infer([{"x": 1}] * 3)


# --- Transport failures are returned, not raised -------------------------------------------------


def test_dead_unix_path_gives_unavailable_dict() -> None:
    with short_temp_dir() as folder, Client(f"unix:{folder}/none", "s", "m", timeout=WAIT_S) as c:
        result = c.infer({"x": 1})
    assert isinstance(result, dict)
    assert result["error"].startswith("Grpc Error, (14, 'unavailable'), ")
    assert len(result["error"]) > len("Grpc Error, (14, 'unavailable'), ")


def test_closed_port_gives_unavailable_dict_and_async_raises() -> None:
    with Client(f"127.0.0.1:{closed_tcp_port()}", "s", "m", timeout=WAIT_S) as c:
        result = c.infer({"x": 1})
        pending = c.infer_async({"x": 1})
        with pytest.raises(grpc.RpcError) as info:
            pending.result()
    assert isinstance(result, dict)
    assert result["error"].startswith("Grpc Error, (14, 'unavailable'), ")
    call = info.value
    assert isinstance(call, grpc.Call) and call.code() == grpc.StatusCode.UNAVAILABLE
    assert pending.done() and pending.result_future.done()


def test_server_status_is_returned_with_its_details(
    server: FakePredictServer, client: Client
) -> None:
    server.answer = Abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "message larger than max")
    assert client.infer({"x": 1}) == {
        "error": "Grpc Error, (8, 'resource exhausted'), message larger than max"
    }


def test_unix_socket_round_trip() -> None:
    with short_temp_dir() as folder, FakePredictServer(_reply({"y": "done"})) as fake:
        fake.start(f"unix:{folder}/s")
        with Client(fake.address, "s", "m", timeout=WAIT_S) as c:
            assert c.infer({"x": 1}) == [{"y": "done"}]
        assert len(fake.received) == 1


def test_deadline_exceeded_is_returned(server: FakePredictServer) -> None:
    server.gate = threading.Event()  # the fake server holds the call until the test ends
    with Client(server.address, "s", "m", timeout=0.2) as c:
        result = c.infer({"x": 1})
    assert isinstance(result, dict)
    assert result["error"].startswith("Grpc Error, (4, 'deadline exceeded'), ")


# --- infer_async ---------------------------------------------------------------------------------


def test_infer_async_returns_before_the_reply(server: FakePredictServer, client: Client) -> None:
    server.answer = _reply({"y": "late"})
    server.gate = threading.Event()
    pending = client.infer_async({"x": 1})
    assert server.entered.wait(WAIT_S)
    assert not pending.done()
    server.gate.set()
    assert pending.result() == [{"y": "late"}]
    assert pending.done()


def test_infer_async_parses_replies_like_infer(server: FakePredictServer, client: Client) -> None:
    server.answer = _reply(errors=[(5, b"no worker")])
    assert client.infer_async({"x": 1}).result() == {"error": "no worker"}
    server.answer = _reply({"y": 1}, {}, errors=[(0, b""), (2, b"bad")])
    assert client.infer_async([{"x": 1}] * 2).result() == client.infer([{"x": 1}] * 2)


def test_infer_async_raises_a_failed_rpc_where_infer_returns_it(
    server: FakePredictServer, client: Client
) -> None:
    # protocol §5: upstream's ClientGrpcAsyncResult.result() lets the grpc.RpcError through.
    server.answer = Abort(grpc.StatusCode.INTERNAL, "oops")
    assert client.infer({"x": 1}) == {"error": "Grpc Error, (13, 'internal'), oops"}
    with pytest.raises(grpc.RpcError) as info:
        client.infer_async({"x": 1}).result()
    call = info.value
    assert isinstance(call, grpc.Call)
    assert (call.code(), call.details()) == (grpc.StatusCode.INTERNAL, "oops")


def test_infer_async_deadline_is_raised(server: FakePredictServer) -> None:
    server.gate = threading.Event()  # the fake server holds the call until the test ends
    with Client(server.address, "s", "m", timeout=0.2) as c:
        pending = c.infer_async({"x": 1})
        with pytest.raises(grpc.RpcError) as info:
            pending.result()
    assert isinstance(info.value, grpc.Call)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_concurrent_async_calls_are_not_mixed_up(server: FakePredictServer) -> None:
    server.answer = lambda request: _reply(
        *({"y": bytes(inst.items["x"].data)} for inst in request.instances)
    )
    with Client(server.address, "s", "m", timeout=WAIT_S) as c:
        pending = [c.infer_async({"x": np.int8(i)}) for i in range(8)]
        results = [p.result() for p in pending]
    assert results == [[{"y": bytes([i])}] for i in range(8)]


# --- close and the context manager --------------------------------------------------------------


def test_close_then_infer_raises_and_close_is_idempotent(server: FakePredictServer) -> None:
    c = Client(server.address, "s", "m", timeout=WAIT_S)
    assert c.infer({"x": 1}) == []
    c.close()
    c.close()
    with pytest.raises(ClientClosedError, match="The client is closed"):
        c.infer({"x": 1})
    with pytest.raises(ClientClosedError):
        c.infer_async({"x": 1})
    assert len(server.received) == 1


def test_context_manager_closes_even_on_error(server: FakePredictServer) -> None:
    with pytest.raises(KeyError), Client(server.address, "s", "m") as c:
        raise KeyError("boom")
    with pytest.raises(ClientClosedError):
        c.infer({"x": 1})


def test_close_cancels_a_call_in_flight(server: FakePredictServer) -> None:
    server.gate = threading.Event()
    c = Client(server.address, "s", "m", timeout=WAIT_S)
    pending = c.infer_async({"x": 1})
    assert server.entered.wait(WAIT_S)
    c.close()
    with pytest.raises(grpc.RpcError) as info:
        pending.result()
    assert isinstance(info.value, grpc.Call)
    assert info.value.code() == grpc.StatusCode.CANCELLED


# --- Argument checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((5, "s", "m"), {}, "Parameter 'address' should be str, but actually <class 'int'>"),
        (("", "s", "m"), {}, "Parameter 'address' should not be empty str"),
        (
            ("a:1", None, "m"),
            {},
            "Parameter 'servable_name' should be str, but actually <class 'NoneType'>",
        ),
        (("a:1", "", "m"), {}, "Parameter 'servable_name' should not be empty str"),
        (
            ("a:1", "s", b"m"),
            {},
            "Parameter 'method_name' should be str, but actually <class 'bytes'>",
        ),
        (("a:1", "s", ""), {}, "Parameter 'method_name' should not be empty str"),
        (("a:1", "s", "m", -1), {}, "Parameter 'version_number' should be >= 0"),
        (
            ("a:1", "s", "m", 1.0),
            {},
            "Parameter 'version_number' should be int, but actually <class 'float'>",
        ),
        (
            ("a:1", "s", "m", "1"),
            {},
            "Parameter 'version_number' should be int, but actually <class 'str'>",
        ),
        (
            ("a:1", "s", "m", 0, "cfg"),
            {},
            "The type of ssl_config should be type of SSLConfig",
        ),
        (
            ("a:1", "s", "m"),
            {"timeout": 0},
            "Parameter 'timeout' should be a positive number or None, but actually 0",
        ),
        (
            ("a:1", "s", "m"),
            {"outputs": "torch"},
            "Parameter 'outputs' should be 'numpy' or 'cupy', but actually 'torch'",
        ),
    ],
)
def test_argument_checks(args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Client(*args, **kwargs)
    assert str(info.value) == text
    assert isinstance(info.value, RuntimeError)


def test_defaults_and_attributes() -> None:
    with Client("127.0.0.1:1", "s", "m") as c:
        assert (c.address, c.servable_name, c.method_name, c.version_number) == (
            "127.0.0.1:1",
            "s",
            "m",
            0,
        )
        assert c.timeout == DEFAULT_TIMEOUT_S >= 60
    with Client("127.0.0.1:1", "s", "m", 2**64 - 1, timeout=None) as c:
        assert c.version_number == 2**64 - 1 and c.timeout is None


def test_version_number_true_is_version_one_as_upstream(server: FakePredictServer) -> None:
    # Upstream checks isinstance(version_number, int): True passes and protobuf stores 1.
    with Client(server.address, "s", "m", True, timeout=WAIT_S) as c:
        assert c.infer({"x": 1}) == []
    assert server.last_request().servable_spec.version_number == 1


@pytest.mark.parametrize("call", ["infer", "infer_async"])
def test_version_number_beyond_uint64_fails_at_the_call(
    server: FakePredictServer, call: str
) -> None:
    # Upstream's Client() accepts 2**64; building the request then fails with a ValueError.
    with (
        Client(server.address, "s", "m", 2**64, timeout=WAIT_S) as c,
        pytest.raises(ValueError) as info,
    ):
        getattr(c, call)({"x": 1})
    assert isinstance(info.value, VersionRangeError) and isinstance(info.value, RuntimeError)
    assert str(info.value) == "Parameter 'version_number' should be <= 18446744073709551615"
    assert server.received == []


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"custom_ca": 3}, "Parameter 'custom_ca' should be str, but actually <class 'int'>"),
        (
            {"certificate": "", "private_key": "k"},
            "Parameter 'certificate' should not be empty str",
        ),
    ],
)
def test_ssl_config_checks(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SSLConfig(**kwargs)
    assert str(info.value) == text


@pytest.mark.parametrize("kwargs", [{"certificate": "c"}, {"private_key": "k"}])
def test_lone_certificate_or_key_is_refused_by_the_client(
    kwargs: dict[str, str], tmp_path: Any
) -> None:
    # Upstream's SSLConfig accepts either alone; Client() refuses after reading the files.
    for name in kwargs:
        kwargs[name] = str(tmp_path / name)
        (tmp_path / name).write_bytes(b"pem")
    config = SSLConfig(**kwargs)
    with pytest.raises(InvalidInputError) as info:
        Client("localhost:1", "s", "m", ssl_config=config)
    assert str(info.value) == "The certificate and private_key should be passed at the same time"


def test_missing_ssl_file_raises_open_error_as_upstream() -> None:
    # A program written for upstream may catch FileNotFoundError: it is open()'s own error,
    # raised before the pairing check (the lone, missing certificate is reported as missing).
    with short_temp_dir() as folder:
        with pytest.raises(FileNotFoundError) as info:
            Client("localhost:1", "s", "m", ssl_config=SSLConfig(custom_ca=f"{folder}/none.pem"))
        assert info.value.filename == f"{folder}/none.pem"
        assert info.value.__notes__ == [f"reading ssl_config custom_ca file '{folder}/none.pem'"]
        with pytest.raises(FileNotFoundError):
            Client("localhost:1", "s", "m", ssl_config=SSLConfig(certificate=f"{folder}/c.pem"))
