"""A complete testee for a minimal MindSpore Serving client, in plain Python: grpcio, protobuf
and the stubs generated from protos/ms_service.proto; no numpy, no reference_client.

It is the worked example of docs/client-conformance.md: the client below (``predict``,
``encode``, ``decode``) is what a third party would have in its own language, and ``main`` is
the adapter around it. Certify it with:

    conformance --client-cmd 'python3 examples/testee_minimal.py'
"""

from __future__ import annotations

import base64
import json
import struct
import sys

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc

# The testee protocol's dtype names <-> the wire's DataType codes and item sizes.
DTYPES = {
    "bool": (pb.MS_BOOL, 1), "int8": (pb.MS_INT8, 1), "uint8": (pb.MS_UINT8, 1),
    "int16": (pb.MS_INT16, 2), "uint16": (pb.MS_UINT16, 2), "int32": (pb.MS_INT32, 4),
    "uint32": (pb.MS_UINT32, 4), "int64": (pb.MS_INT64, 8), "uint64": (pb.MS_UINT64, 8),
    "float16": (pb.MS_FLOAT16, 2), "float32": (pb.MS_FLOAT32, 4), "float64": (pb.MS_FLOAT64, 8),
}  # fmt: skip
NAMES = {code: (name, size) for name, (code, size) in DTYPES.items()}
LIMIT = 512 * 1024 * 1024  # the server may send up to its own limit (at most 512 MB)


class MalformedReply(Exception):
    pass


# --- the client: values -> tensors -> request; reply -> results ------------------------------


def encode(form: dict, tensor: pb.Tensor) -> None:
    """One value form into a Tensor (upstream's Python mapping: plain values get dims [1])."""
    ((kind, body),) = form.items()
    if kind in ("array", "scalar"):
        tensor.dtype = DTYPES[body["dtype"]][0]
        tensor.shape.dims.extend(body["shape"] if kind == "array" else [])
        tensor.data = base64.b64decode(body["data"])  # already little-endian, C order
        return
    tensor.shape.dims.append(1)
    if kind == "str":
        tensor.dtype, tensor.bytes_val[:] = pb.MS_STRING, [body.encode("utf-8")]
    elif kind == "bytes":
        tensor.dtype, tensor.bytes_val[:] = pb.MS_BYTES, [base64.b64decode(body)]
    elif kind == "bool":
        tensor.dtype, tensor.data = pb.MS_BOOL, bytes([body])
    elif kind == "int":
        value = int(body)
        unsigned = value >= 2**63
        tensor.dtype = pb.MS_UINT64 if unsigned else pb.MS_INT64
        tensor.data = struct.pack("<Q" if unsigned else "<q", value)
    elif kind == "float":
        tensor.dtype, tensor.data = pb.MS_FLOAT64, struct.pack("<d", float(body))
    else:
        raise ValueError(f"unsupported value form {kind}")


def decode(tensor: pb.Tensor) -> dict:
    """One output Tensor as a value form."""
    if tensor.dtype in (pb.MS_STRING, pb.MS_BYTES):
        if tensor.dtype == pb.MS_STRING:
            items = [{"str": raw.decode("utf-8")} for raw in tensor.bytes_val]
        else:
            items = [{"bytes": base64.b64encode(raw).decode()} for raw in tensor.bytes_val]
        return items[0] if len(items) == 1 else {"list": items}
    if tensor.dtype not in NAMES:
        raise MalformedReply(f"unknown dtype {tensor.dtype}")
    name, size = NAMES[tensor.dtype]
    count = 1
    for dim in tensor.shape.dims:
        count *= dim
    if len(tensor.data) != count * size:
        raise MalformedReply(f"{len(tensor.data)} data bytes for dims {list(tensor.shape.dims)}")
    data = base64.b64encode(tensor.data).decode()
    return {"array": {"dtype": name, "shape": list(tensor.shape.dims), "data": data}}


def read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()


def predict(call: dict) -> object:
    """Build the client from the call's arguments, call once, return the RESULT form."""
    options = [("grpc.max_send_message_length", LIMIT), ("grpc.max_receive_message_length", LIMIT)]
    tls = call.get("tls")
    if tls is None:
        channel = grpc.insecure_channel(call["address"], options=options)
    else:
        credentials = grpc.ssl_channel_credentials(
            *(read(tls.get(k)) for k in ("ca", "key", "cert"))
        )
        channel = grpc.secure_channel(call["address"], credentials, options=options)
    request = pb.PredictRequest()
    request.servable_spec.name = call["servable"]
    request.servable_spec.method_name = call["method"]
    request.servable_spec.version_number = call.get("version", 0)
    for values in call["instances"]:
        instance = request.instances.add()
        for name, form in values.items():
            encode(form, instance.items[name])
    with channel:
        stub = ms_service_pb2_grpc.MSServiceStub(channel)
        try:
            reply = stub.Predict(request, timeout=call.get("timeout", 300))
        except grpc.RpcError as error:  # upstream's client returns the failure as a result
            return {"error": f"Grpc Error, {error.code().value}, {error.details()}"}
    errors, instances = reply.error_msg, reply.instances
    if len(errors) == 1 and errors[0].error_code != 0:
        return {"error": errors[0].error_msg.decode("utf-8", "replace")}
    if len(errors) not in (0, len(instances)):
        raise MalformedReply(f"{len(errors)} errors for {len(instances)} instances")
    results = []
    for index, instance in enumerate(instances):
        if errors and errors[index].error_code != 0:
            results.append({"error": errors[index].error_msg.decode("utf-8", "replace")})
        else:
            results.append({name: decode(tensor) for name, tensor in instance.items.items()})
    return results


# --- the adapter: the testee protocol on stdin/stdout -----------------------------------------


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # stdout is the protocol's alone: any stray print goes to the log
    features = ["uds", "tls", "mtls", "deadline", "tls-roots-env"]
    hello = {"hello": {"client": "testee_minimal 1.0", "features": features}}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        message = json.loads(line)
        try:
            answer = {"id": message["id"], "result": predict(message["call"])}
        except Exception as exc:  # the client refused: report it, keep serving
            answer = {
                "id": message["id"],
                "raised": {"type": type(exc).__name__, "message": str(exc)},
            }
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
