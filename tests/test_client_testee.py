"""The client-certifying machinery itself: value forms, the testee driver, the recording server,
and the worked example testee of docs/client-conformance.md passing every client requirement."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import numpy as np
import pytest

from conformance.api import certify
from conformance.catalogue import CLIENT_PROFILE_NAMES, TesteeFailure
from conformance.drive import (
    RecordingServer,
    ServerTLS,
    Stall,
    TesteePool,
    TesteeProcess,
    command_line,
    make_tls_files,
)
from conformance.verify.clients import CLIENT_BY_ID, echo
from protos import codec, ms_service_pb2_grpc
from protos import ms_service_pb2 as pb
from reference_client import forms

ROOT = Path(__file__).resolve().parent.parent
PY = shlex.quote(sys.executable)

# --- value forms ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", forms.DTYPE_NAMES)
@pytest.mark.parametrize("shape", [(), (1,), (2, 3), (3, 0)])
def test_array_forms_round_trip_exactly(name: str, shape: tuple[int, ...]) -> None:
    dtype = forms.numpy_dtype(name)
    count = int(np.prod(shape))
    raw = bytes((7 * i + 1) % (2 if name == "bool" else 256) for i in range(count * dtype.itemsize))
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    form = forms.to_form(array)
    assert form["array"]["shape"] == list(shape)  # a 0-d array stays 0-d
    back = forms.from_form(form)
    assert back.dtype == dtype and back.shape == shape and back.tobytes() == raw
    assert forms.canonical(forms.to_form(back)) == forms.canonical(form)


def test_big_endian_input_goes_out_little_endian() -> None:
    array = np.array([1, 2], dtype=">i4")
    form = forms.to_form(array)
    assert form["array"]["dtype"] == "int32"
    assert forms.unb64(form["array"]["data"]) == b"\x01\x00\x00\x00\x02\x00\x00\x00"


def test_plain_forms_are_exact() -> None:
    assert forms.to_form(2**64 - 1) == {"int": "18446744073709551615"}
    assert forms.to_form(True) == {"bool": True}  # not an int
    assert forms.to_form(-0.0) == {"float": "-0.0"}
    assert forms.to_form(float("nan")) == {"float": "nan"}
    assert forms.to_form(0.1) == {"float": "0.1"} and forms.from_form({"float": "0.1"}) == 0.1
    assert forms.to_form(np.float32(1.5)) == {"scalar": {"dtype": "float32", "data": "AADAPw=="}}
    assert forms.from_form({"bytes": "AP8="}) == b"\x00\xff"
    assert forms.canonical({"float": "-0.0"}) != forms.canonical({"float": "0.0"})
    assert forms.canonical({"float": "nan"}) == forms.canonical({"float": "nan"})
    assert forms.canonical({"int": "1"}) != forms.canonical({"float": "1.0"})


@pytest.mark.parametrize(
    "bad",
    [
        {"array": {"dtype": "float32", "shape": [2], "data": "AAAAAA=="}},  # 4 bytes for 2 items
        {"array": {"dtype": "complex64", "shape": [], "data": ""}},
        {"array": {"dtype": "int8", "shape": [-1], "data": ""}},
        {"scalar": {"dtype": "int16", "data": "AA=="}},
        {"int": 3},
        {"int": "1.5"},
        {"str": "a", "bytes": ""},
        {"tensor": {}},
        {"bytes": "not base64!"},
    ],
)
def test_malformed_forms_are_refused(bad: object) -> None:
    with pytest.raises(forms.FormError):
        forms.canonical(bad)


def test_reply_tensors_as_result_forms() -> None:
    tensor = pb.Tensor(dtype=pb.MS_STRING, bytes_val=[b"a", "é".encode()])
    assert forms.tensor_to_form(tensor) == {"list": [{"str": "a"}, {"str": "é"}]}
    zero_d = codec.array_to_tensor(np.asarray(np.int64(5)))
    assert list(zero_d.shape.dims) == []
    assert forms.from_form(forms.tensor_to_form(zero_d)).shape == ()


# --- the driver -------------------------------------------------------------------------------


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "testee.py"
    path.write_text(textwrap.dedent(body))
    return f"{PY} {shlex.quote(str(path))}"


HELLO = 'print(json.dumps({"hello": {"client": "t 1", "features": ["uds"]}}), flush=True)'


def test_hello_and_one_call(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        f"""
        import json, sys
        {HELLO}
        for line in sys.stdin:
            m = json.loads(line)
            result = {{"error": m["call"]["servable"]}}
            print(json.dumps({{"id": m["id"], "result": result}}), flush=True)
    """,
    )
    process = TesteeProcess(command)
    try:
        assert process.hello.client == "t 1" and process.hello.features == {"uds"}
        answer, line = process.call({"servable": "s1"}, timeout=10)
        assert answer.result == {"error": "s1"} and answer.is_error
        assert '"servable":"s1"' in line
    finally:
        process.close()


def test_non_json_stdout_is_reported_plainly(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        f"""
        import json, sys
        {HELLO}
        for line in sys.stdin:
            print("Grpc Error, (14, 'unavailable')", flush=True)
    """,
    )
    pool = TesteePool(command)
    try:
        with pytest.raises(
            TesteeFailure, match=r"not JSON.*stdout is the protocol's alone"
        ) as info:
            pool.call({"servable": "x"}, timeout=10)
        assert "Grpc Error, (14, 'unavailable')" in str(info.value)
        assert "printf '%s\\n'" in str(info.value)  # the call, replayable
    finally:
        pool.close()


def test_a_dead_testee_fails_its_call_and_a_fresh_one_takes_over(tmp_path: Path) -> None:
    marker = tmp_path / "died-once"
    command = script(
        tmp_path,
        f"""
        import json, os, sys
        {HELLO}
        for line in sys.stdin:
            m = json.loads(line)
            if not os.path.exists({str(marker)!r}):
                open({str(marker)!r}, "w").close()
                print("segfault-ish death", file=sys.stderr, flush=True)
                os._exit(9)
            print(json.dumps({{"id": m["id"], "result": []}}), flush=True)
    """,
    )
    pool = TesteePool(command)
    try:
        with pytest.raises(TesteeFailure, match=r"exit status 9[\s\S]*segfault-ish death"):
            pool.call({}, timeout=10)
        assert pool.call({}, timeout=10).result == []
        assert pool.started == 2
    finally:
        pool.close()


def test_a_stalled_testee_fails_within_the_timeout(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        f"""
        import json, sys, time
        {HELLO}
        for line in sys.stdin:
            time.sleep(60)
    """,
    )
    pool = TesteePool(command)
    try:
        with pytest.raises(TesteeFailure, match=r"stalled: no line within 1 s"):
            pool.call({}, timeout=1)
    finally:
        pool.close()


@pytest.mark.parametrize(
    ("hello", "problem"),
    [
        ('{"hi": 1}', "first line must be"),
        ('{"hello": {"client": "", "features": []}}', "non-empty string"),
        ('{"hello": {"client": "c", "features": "tls"}}', "list of strings"),
        ('{"hello": {"client": "c", "environment": {"python": 3.9}}}', "object of strings"),
    ],
)
def test_bad_hellos_are_refused(tmp_path: Path, hello: str, problem: str) -> None:
    command = script(
        tmp_path,
        f"""
        import sys
        print({hello!r}, flush=True)
        sys.stdin.read()
    """,
    )
    with pytest.raises(TesteeFailure, match=problem):
        TesteeProcess(command, hello_timeout=10)


def test_a_pool_starts_its_testees_with_its_environment_and_replays_with_it(
    tmp_path: Path,
) -> None:
    # CL-TLS-ROOTS-ENV's testee: the variable reaches it, and the replay line sets it too.
    command = script(
        tmp_path,
        f"""
        import json, os, sys
        {HELLO}
        for line in sys.stdin:
            m = json.loads(line)
            seen = os.environ.get("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "unset")
            print(json.dumps({{"id": m["id"], "result": {{"error": seen}}}}), flush=True)
    """,
    )
    pool = TesteePool(command, env={"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": "/the ca.pem"})
    try:
        assert pool.call({}, timeout=10).result == {"error": "/the ca.pem"}
    finally:
        pool.close()
    replay = command_line(command, '{"id":1}', env=pool.env)
    done = subprocess.run(["/bin/sh", "-c", replay], capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout.splitlines()[1])["result"] == {"error": "/the ca.pem"}


# --- the recording server ---------------------------------------------------------------------


def test_recording_server_records_and_refuses_other_ca(tmp_path: Path) -> None:
    tls = make_tls_files(str(tmp_path))
    server = RecordingServer(tls=ServerTLS(tls.foreign_server_cert, tls.foreign_server_key))
    good = RecordingServer(tls=ServerTLS(tls.server_cert, tls.server_key))
    try:
        request = pb.PredictRequest(servable_spec=pb.ServableSpec(name="s", method_name="m"))
        request.instances.add().items["x"].CopyFrom(codec.text_tensor("t"))
        with open(tls.ca, "rb") as file:
            credentials = grpc.ssl_channel_credentials(file.read())
        for target, refused in ((server, True), (good, False)):
            target.respond(echo)
            with grpc.secure_channel(target.address, credentials) as channel:
                stub = ms_service_pb2_grpc.MSServiceStub(channel)
                if refused:
                    with pytest.raises(grpc.RpcError) as info:
                        stub.Predict(request, timeout=10)
                    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
                    assert target.taken() == []
                else:
                    assert stub.Predict(request, timeout=10).instances[0] == request.instances[0]
                    assert target.taken() == [request]
    finally:
        server.stop()
        good.stop()


def test_a_stall_ends_when_released() -> None:
    server = RecordingServer()
    try:
        server.respond(Stall(30.0, pb.PredictReply()))
        with grpc.insecure_channel(server.address) as channel:
            future = ms_service_pb2_grpc.MSServiceStub(channel).Predict.future(
                pb.PredictRequest(), timeout=20
            )
            with pytest.raises(grpc.FutureTimeoutError):
                future.result(timeout=0.5)
            server.release()
            assert future.result(timeout=10) == pb.PredictReply()
    finally:
        server.stop()


# --- through the harness: the reference client, the worked example ---------------------------


@pytest.mark.slow
def test_the_reference_client_is_certified_in_every_client_profile() -> None:
    """``conformance --client-cmd 'python -m reference_client.testee'`` exits 0."""
    done = certify(client_cmd=f"{PY} -m reference_client.testee", timeout_s=300)
    assert done.exit_status == 0, done.output[-3000:]
    assert done.report is not None and done.report.mode == "client-cmd"
    assert str(done.report.client_cmd).endswith("-m reference_client.testee")
    assert done.verdicts == {p: "passed" for p in CLIENT_PROFILE_NAMES}
    outcomes = {i: o for i, o in done.outcomes.items() if i in CLIENT_BY_ID}
    assert outcomes == dict.fromkeys(CLIENT_BY_ID, "passed")
    # The server profiles are neither run nor reported as such in a client run.
    assert set(done.report.profiles) == set(CLIENT_PROFILE_NAMES)


@pytest.mark.slow
def test_the_example_testee_passes_every_client_requirement() -> None:
    """docs/client-conformance.md's worked example: grpc + protobuf only, no async."""
    example = shlex.quote(str(ROOT / "examples" / "testee_minimal.py"))
    done = certify(client_cmd=f"cd {shlex.quote(str(ROOT))} && {PY} {example}", timeout_s=300)
    assert done.exit_status == 0, done.output[-3000:]
    outcomes = {i: o for i, o in done.outcomes.items() if i in CLIENT_BY_ID}
    assert set(outcomes) == set(CLIENT_BY_ID)
    # It declares no async: that requirement is "not applicable", never "passed".
    assert outcomes.pop("CL-CORE-ASYNC") == "not-applicable"
    assert set(outcomes.values()) == {"passed"}


def test_a_testee_without_tls_is_not_applicable_there(tmp_path: Path) -> None:
    # The example with its hello cut down to no features: the transport profiles are "not
    # applicable" (from its hello, at the start of the run), not passed; client-core still runs.
    source = (ROOT / "examples" / "testee_minimal.py").read_text()
    bare = source.replace('["uds", "tls", "mtls", "deadline", "tls-roots-env"]', "[]")
    assert bare != source
    (tmp_path / "bare.py").write_text(bare)
    done = certify(
        client_cmd=f"cd {shlex.quote(str(ROOT))} && {PY} {shlex.quote(str(tmp_path / 'bare.py'))}",
        profiles=["client-core", "client-uds", "client-tls", "client-mtls"],
        timeout_s=300,
    )
    assert done.exit_status == 0, done.output[-3000:]
    assert done.verdicts == {
        "client-core": "passed",
        "client-uds": "not-applicable",
        "client-tls": "not-applicable",
        "client-mtls": "not-applicable",
    }


def test_client_and_server_options_do_not_mix() -> None:
    done = certify(client_cmd="true", target="127.0.0.1:1", timeout_s=60)
    assert done.exit_status == 2 and "exactly one of" in done.output
    done = certify(client_cmd="true", profiles=["core"], timeout_s=60)
    assert done.exit_status == 2 and "profile core does not apply with --client-cmd" in done.output


def test_a_property_failure_carries_the_call_and_hypothesis_reproduction() -> None:
    mutant = ROOT / "tests" / "client_mutants" / "testee.py"
    done = certify(
        client_cmd=f"{PY} {shlex.quote(str(mutant))} byte-order-flipped",
        args=["--requirement", "CL-CORE-REQUEST-ARRAYS"],
        timeout_s=300,
    )
    assert done.exit_status == 1
    assert 'printf \'%s\\n\' \'{"id":1,"call":{' in done.output
    # hypothesis names the failing input "Falsifying example" (older) or "Failing test case".
    assert "Falsifying example" in done.output or "Failing test case" in done.output
    assert "@reproduce_failure(" in done.output
