"""Check that every fault of serve.py changes what a client sees on the wire.

    python3 bench/outsiders/verify.py [--fault NAME ...]

For each fault, starts ``serve.py --fault NAME`` and ``serve.py --fault none`` and sends the
same probes (raw Predict requests, a concurrent burst, TLS handshakes, unix-socket life cycle);
a fault passes when at least one probe's outcome differs from the faithful proxy's. Prints one
line per fault and exits 1 if any fault changed nothing.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import grpc
import numpy as np
import trustme

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from protos import ms_service_pb2 as pb  # noqa: E402
from reference_client import Client  # noqa: E402

SERVE = os.path.join(ROOT, "bench", "outsiders", "serve.py")
PREDICT = "/mindspore.serving.proto.MSService/Predict"
MIB = 1 << 20


def tensor(dtype, dims, data=b"", texts=None):
    t = pb.Tensor(dtype=dtype, data=data)
    t.shape.dims.extend(dims)
    if texts is not None:
        t.bytes_val.extend(texts)
    return t


def f32(values, dims=None):
    array = np.asarray(values, "<f4")
    return tensor(pb.MS_FLOAT32, list(array.shape) if dims is None else dims, array.tobytes())


def text(value: bytes, dtype=pb.MS_STRING):
    return tensor(dtype, [1], texts=[value])


def request(name, method, instances, version=0):
    req = pb.PredictRequest()
    req.servable_spec.name, req.servable_spec.method_name = name, method
    req.servable_spec.version_number = version
    for items in instances:
        inst = req.instances.add()
        for key, value in items.items():
            inst.items[key].CopyFrom(value)
    return req


def echo(x, version=0, **extra):
    return request("conformance", "echo", [{"x": x, **extra}], version)


def fail(errors):
    return request(
        "conformance",
        "fail",
        [{"x": f32([float(i)]), "error": text(e)} for i, e in enumerate(errors)],
    )


def png(seed: int = 0, mode: str = "RGB") -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, "PNG")
    return buffer.getvalue()


def image(seed: int = 0, mode: str = "RGB"):
    return {"image": text(png(seed, mode), pb.MS_BYTES)}


def probes() -> list[tuple[str, pb.PredictRequest]]:
    add2 = {"x1": f32(np.ones((2, 2))), "x2": f32(np.ones((2, 2)))}
    return [
        ("trailing-space-name", request("add ", "add_common", [add2])),
        ("case-name", request("Add", "ADD_COMMON", [add2])),
        ("version-2**64-1", echo(f32([1.0]), version=2**64 - 1)),
        ("version-2**32+1", echo(f32([1.0]), version=2**32 + 1)),
        ("version-0", echo(f32([1.0]))),
        ("version-1-after-0", echo(f32([1.0]), version=1)),
        ("unknown-method", request("add", "nope", [add2])),
        ("100-instances", request("conformance", "echo", [{"x": f32([i])} for i in range(100)])),
        ("20-instances", request("conformance", "echo", [{"x": f32([i])} for i in range(20)])),
        ("fail-mixed", fail([b"", b"boom", b""])),
        ("fail-all-different", fail([b"a", b"b"])),
        ("fail-all-same", fail([b"same", b"same"])),
        (
            "two-bad-instances",
            request("conformance", "echo", [{}, {"x": tensor(0, [1], b"\0")}]),
        ),
        ("fail-long-texts", fail([b"e" * n for n in range(270, 310)])),
        ("zero-instances", request("conformance", "echo", [])),
        ("extra-input", echo(f32([1.0]), z=f32([2.0]))),
        ("empty-3x0", echo(tensor(pb.MS_FLOAT32, [3, 0]))),
        ("empty-0x3", echo(tensor(pb.MS_FLOAT32, [0, 3]))),
        ("dims-2**32-squared", echo(tensor(pb.MS_UINT8, [2**32, 2**32]))),
        ("dtype-99", echo(tensor(99, [4], b"abcd"))),
        ("bad-utf8", echo(text(b"\xff\xfe"))),
        ("scalar-[]", echo(f32(1.0))),
        ("scalar-[1,1]", echo(f32([[1.0]]))),
        ("6-dims", echo(f32(np.arange(8).reshape(1, 2, 1, 2, 1, 2)))),
        ("bool", echo(tensor(pb.MS_BOOL, [3], b"\x01\x00\x01"))),
        ("float16", echo(tensor(pb.MS_FLOAT16, [2], np.array([1.5, -2], "<f2").tobytes()))),
        ("uint64-max", echo(tensor(pb.MS_UINT64, [1], np.array([2**64 - 1], "<u8").tobytes()))),
        ("2-MiB", echo(f32(np.arange(MIB // 2, dtype=np.float32)))),
        ("nul-bytes", echo(text(b"a\0b", pb.MS_BYTES))),
        ("emoji", echo(text("cat \U0001f431".encode()))),
        ("padded-text", echo(text(b" pad\n"))),
        ("resnet-one", request("resnet50", "classify_top1", [image()])),
        ("resnet-batch", request("resnet50", "classify_top1", [image(0), image(1), image(2)])),
        (
            "resnet-bad-in-batch",
            request("resnet50", "classify_top1", [image(), {"image": text(b"no", pb.MS_BYTES)}]),
        ),
        ("resnet-gray", request("resnet50", "classify_top1", [image(0, "L")])),
    ]


class Server:
    def __init__(self, fault: str, address: str, *extra: str, env=None) -> None:
        self.address = address
        self.proc = subprocess.Popen(
            [sys.executable, SERVE, "--fault", fault, "--address", address, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": ROOT},
            start_new_session=True,
        )
        line = self.proc.stdout.readline().decode()  # type: ignore[union-attr]
        if "serving on" not in line:
            self.proc.wait(10)
            raise RuntimeError(f"{fault} did not start: {line!r}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def call(address, req, timeout=60.0, credentials=None):
    options = [("grpc.max_receive_message_length", 512 * MIB)]
    channel = (
        grpc.secure_channel(address, credentials, options=options)
        if credentials
        else grpc.insecure_channel(address, options=options)
    )
    with channel:
        stub = channel.unary_unary(
            PREDICT,
            request_serializer=pb.PredictRequest.SerializeToString,
            response_deserializer=pb.PredictReply.FromString,
        )
        try:
            return stub(req, timeout=timeout).SerializeToString(deterministic=True)
        except grpc.RpcError as exc:
            return f"status {exc.code().name}"


def burst(address) -> str:
    """16 threads x 10 echo calls, each with its own value: any reply not its own is a mix-up."""
    wrong = []

    def worker(k):
        client = Client(address, "conformance", "echo", timeout=30)
        for i in range(10):
            value = np.array([k * 100 + i], np.int64)
            try:
                result: Any = client.infer({"x": value})
                if int(np.asarray(result[0]["y"]).ravel()[0]) != value[0]:
                    wrong.append((k, i))
            except Exception:  # any malformed reply counts as a mix-up too
                wrong.append((k, i))
        client.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return f"{len(wrong)} mixed-up replies"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wire_outcomes(fault: str, tmp: str) -> dict[str, str]:
    server = Server(fault, f"127.0.0.1:{free_port()}")
    try:
        out = {}
        for name, req in probes():
            timeout = 3.0 if name == "zero-instances" else 120.0
            out[name] = call(server.address, req, timeout)
        out["burst"] = burst(server.address)
        return out
    finally:
        server.stop()


def limits_outcomes(fault: str, tmp: str) -> dict[str, str]:
    server = Server(fault, f"127.0.0.1:{free_port()}", "--max-msg-mb-size", "1")
    try:
        under = echo(tensor(pb.MS_UINT8, [MIB - 200], b"\1" * (MIB - 200)))
        near = echo(tensor(pb.MS_UINT8, [MIB - 60], b"\1" * (MIB - 60)))
        return {
            "just-under": call(server.address, under)[:40],
            "reply-over": call(server.address, near)[:40],
        }
    finally:
        server.stop()


def tls_outcomes(fault: str, tmp: str) -> dict[str, str]:
    ca, other = trustme.CA(), trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    expired = ca.issue_cert("client", not_before=past - datetime.timedelta(days=2), not_after=past)
    client = ca.issue_cert("client")
    stranger = other.issue_cert("client")
    files = {}
    for key, blob in {
        "cert": leaf.cert_chain_pems[0].bytes(),
        "key": leaf.private_key_pem.bytes(),
        "ca": ca.cert_pem.bytes(),
    }.items():
        files[key] = os.path.join(tmp, f"{fault}-{key}.pem")
        with open(files[key], "wb") as f:
            f.write(blob)
    out = {}
    ca_pem = ca.cert_pem.bytes()

    def creds(leaf_cert=None):
        if leaf_cert is None:
            return grpc.ssl_channel_credentials(ca_pem)
        return grpc.ssl_channel_credentials(
            ca_pem, leaf_cert.private_key_pem.bytes(), leaf_cert.cert_chain_pems[0].bytes()
        )

    add2 = request("add", "add_common", [{"x1": f32(np.ones((2, 2))), "x2": f32(np.ones((2, 2)))}])
    for verify in ("false", "true"):
        server = Server(
            fault,
            f"127.0.0.1:{free_port()}",
            "--certificate", files["cert"], "--private-key", files["key"],
            "--custom-ca", files["ca"], "--verify-client", verify,
        )  # fmt: skip
        try:
            tag = "mtls" if verify == "true" else "tls"
            out[f"{tag}-plaintext"] = call(server.address, add2, 10)[:30]
            out[f"{tag}-no-client-cert"] = call(server.address, add2, 10, creds())[:30]
            out[f"{tag}-good-client"] = call(server.address, add2, 10, creds(client))[:30]
            out[f"{tag}-expired-client"] = call(server.address, add2, 10, creds(expired))[:30]
            out[f"{tag}-stranger-client"] = call(server.address, add2, 10, creds(stranger))[:30]
        finally:
            server.stop()
    return out


def uds_outcomes(fault: str, tmp: str) -> dict[str, str]:
    path = os.path.join(tmp, f"{fault[:20]}.sock")
    server = Server(fault, f"unix:{path}")
    server.stop()
    out = {"socket-after-stop": str(os.path.exists(path))}
    stale = os.path.join(tmp, f"{fault[:20]}-stale.sock")
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.bind(stale)  # a leftover socket file nobody listens on
    try:
        server = Server(fault, f"unix:{stale}")
        out["stale-socket"] = call(f"unix:{stale}", echo(f32([1.0])), 10)[:20]
        server.stop()
    except RuntimeError as exc:
        out["stale-socket"] = f"start failed: {exc}"[:60]
    return out


KIND = {"limits": limits_outcomes, "tls": tls_outcomes, "mtls": tls_outcomes, "uds": uds_outcomes}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fault", action="append")
    args = parser.parse_args()
    listing = subprocess.run(
        [sys.executable, SERVE, "--list"], capture_output=True, text=True, check=True
    ).stdout
    catalogue = [line.split("\t")[:2] for line in listing.splitlines()]
    chosen = [(n, p) for n, p in catalogue if not args.fault or n in args.fault]
    baselines: dict[str, dict[str, str]] = {}
    inert = 0
    with tempfile.TemporaryDirectory(prefix="outsiders-verify-") as tmp:
        for name, profile in chosen:
            probe = KIND.get(profile, wire_outcomes)
            key = probe.__name__
            if key not in baselines:
                baselines[key] = probe("none", tmp)
            started = time.monotonic()
            got = probe(name, tmp)
            diff = [k for k in got if got[k] != baselines[key].get(k)]
            inert += not diff
            print(
                f"{name:30} {'CHANGES' if diff else 'INERT  '} {time.monotonic() - started:5.1f}s "
                + ", ".join(diff),
                flush=True,
            )
    return 1 if inert else 0


if __name__ == "__main__":
    sys.exit(main())
