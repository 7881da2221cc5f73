"""A catalogue of deliberately broken MindSpore Serving servers, for measuring a harness's power.

    python3 bench/outsiders/serve.py --fault NAME --address ADDRESS
        [--certificate F --private-key F --custom-ca F --verify-client true|false]
        [--max-msg-mb-size N]
    python3 bench/outsiders/serve.py --list        # name, profile, spec citation, description

Each fault is a mistake a third-party implementer could plausibly make. The server is built from
the reference server's *public* API only: an in-process ``ReferenceServer(kit_registry())``
listens on a private unix socket, and a front gRPC server on ``ADDRESS`` (with the requested TLS
and message limits) forwards every Predict to it, rewriting the request and/or the reply the way
the fault says. So the faults keep working whatever happens to reference_server's internals.
``--fault none`` is a faithful proxy and must be certified conformant.

Written without reading the conformance suite's checks: the faults come from docs/protocol.md
and the kit specification alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import numpy as np

# Run as a script: make the checkout's packages win over an installed copy.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


from protos import ms_service_pb2 as pb
from reference_server import ReferenceServer, kit_registry

MIB = 1 << 20
PREDICT = "/mindspore.serving.proto.MSService/Predict"
TEXT_TYPES = (pb.MS_STRING, pb.MS_BYTES)
ITEM_SIZE = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 4, 8: 8, 9: 8, 10: 2, 11: 4, 12: 8}
# What the kit deploys (conformance-kit §1): the latest version and each method's inputs.
LATEST = {"add": 1, "conformance": 2, "resnet50": 1}
DECLARED = {
    "add_common": ("x1", "x2"),
    "add_cast": ("x1", "x2"),
    "echo": ("x",),
    "fail": ("x", "error"),
    "classify_top1": ("image",),
    "classify_top1_v1": ("image",),
    "classify_top5": ("image",),
}

Forward = Callable[[pb.PredictRequest], pb.PredictReply]


@dataclass
class Fault:
    name: str
    profile: str  # the conformance profile that should catch it
    cite: str  # the sentence of docs/protocol.md (or the kit spec) it violates
    description: str
    semantic: bool = False  # only shows with inputs bigger or odder than a polite test's
    # handle(request, forward, context) -> reply; None: forward unchanged
    handle: Callable[[pb.PredictRequest, Forward, grpc.ServicerContext], pb.PredictReply] | None = (
        None
    )
    transport: dict[str, object] = field(default_factory=dict)


FAULTS: dict[str, Fault] = {}


def fault(name: str, profile: str, cite: str, description: str, *, semantic: bool = False):
    def register(func):
        FAULTS[name] = Fault(name, profile, cite, description, semantic, func)
        return func

    return register


def transport_fault(name: str, profile: str, cite: str, description: str, **flags: object) -> None:
    FAULTS[name] = Fault(name, profile, cite, description, False, None, dict(flags))


# -- helpers ---------------------------------------------------------------------------------


def copy(message):
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


def with_spec(reply: pb.PredictReply, request: pb.PredictRequest) -> pb.PredictReply:
    """The reply, echoing the spec the client sent (faults that rewrite the lookup keep the
    echo right, so that only the fault itself shows)."""
    reply.servable_spec.CopyFrom(request.servable_spec)
    return reply


def outputs(reply: pb.PredictReply):
    for instance in reply.instances:
        yield from instance.items.values()


def product(dims) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count


def error_reply(request: pb.PredictRequest, code: int, text: str) -> pb.PredictReply:
    reply = pb.PredictReply()
    reply.servable_spec.CopyFrom(request.servable_spec)
    reply.error_msg.add(error_code=code, error_msg=text.encode())
    return reply


def is_request_level_error(reply: pb.PredictReply) -> bool:
    return not reply.instances and len(reply.error_msg) == 1


def is_mixed(reply: pb.PredictReply) -> bool:
    return len(reply.error_msg) > 1 or (
        len(reply.instances) > 0 and len(reply.error_msg) == len(reply.instances)
    )


# -- lookup and versions ---------------------------------------------------------------------

LOOKUP = "protocol.md §2 step 1: 'The servable is looked up by its exact name'"


@fault(
    "name-strip",
    "core",
    LOOKUP + " (step 2: method 'by exact name')",
    "servable and method names are whitespace-stripped before lookup ('add ' serves add)",
    semantic=True,
)
def _name_strip(request, forward, context):
    sent = copy(request)
    sent.servable_spec.name = request.servable_spec.name.strip()
    sent.servable_spec.method_name = request.servable_spec.method_name.strip()
    return with_spec(forward(sent), request)


@fault(
    "name-casefold",
    "core",
    LOOKUP,
    "servable and method lookup is case-insensitive ('Add'/'ADD_COMMON' are served)",
    semantic=True,
)
def _name_casefold(request, forward, context):
    sent = copy(request)
    sent.servable_spec.name = request.servable_spec.name.lower()
    sent.servable_spec.method_name = request.servable_spec.method_name.lower()
    return with_spec(forward(sent), request)


VERSION = (
    "protocol.md §2 step 1: 'version 0 means the highest version deployed, any other number "
    "must be deployed as such'"
)


@fault(
    "version-signed",
    "core",
    VERSION,
    "version_number is cast to int64; versions >= 2**63 become negative and are served as "
    "'latest' (<= 0)",
    semantic=True,
)
def _version_signed(request, forward, context):
    sent = copy(request)
    if request.servable_spec.version_number >= 1 << 63:
        sent.servable_spec.version_number = 0
    return with_spec(forward(sent), request)


@fault(
    "version-uint32",
    "core",
    VERSION,
    "version_number is stored in a uint32: 2**32+1 serves version 1, 2**32 serves the latest",
    semantic=True,
)
def _version_uint32(request, forward, context):
    sent = copy(request)
    sent.servable_spec.version_number = request.servable_spec.version_number & 0xFFFFFFFF
    return with_spec(forward(sent), request)


@fault(
    "version0-resolved-echo",
    "core",
    "protocol.md §3: 'a requested version 0 stays 0 in the reply (it does not become the "
    "version that served)'",
    "the reply's servable_spec carries the resolved version (2 for conformance) when 0 was asked",
)
def _version0_resolved(request, forward, context):
    reply = forward(request)
    spec = request.servable_spec
    if spec.version_number == 0 and spec.name in LATEST:
        reply.servable_spec.version_number = LATEST[spec.name]
    return reply


@fault(
    "spec-dropped-on-error",
    "core",
    "protocol.md §3: 'reply.servable_spec is always a copy of request.servable_spec, field for "
    "field, whether the call succeeded or not'",
    "request-level error replies are built fresh and carry only the servable name",
)
def _spec_dropped(request, forward, context):
    reply = forward(request)
    if is_request_level_error(reply):
        reply.servable_spec.Clear()
        reply.servable_spec.name = request.servable_spec.name
    return reply


_version_cache: dict[str, int] = {}
_version_cache_lock = threading.Lock()


@fault(
    "lookup-cache-by-name",
    "core",
    VERSION,
    "the resolved servable is memoised by servable name only: the first version served for a "
    "name is served for every later request to it, whatever version it asks for",
)
def _lookup_cache(request, forward, context):
    name = request.servable_spec.name
    with _version_cache_lock:
        cached = _version_cache.get(name)
    sent = copy(request)
    if cached is not None:
        sent.servable_spec.version_number = cached
    reply = forward(sent)
    if cached is None and reply.instances and name in LATEST:
        with _version_cache_lock:
            _version_cache.setdefault(name, request.servable_spec.version_number or LATEST[name])
    return with_spec(reply, request)


# -- instances: count, order, concurrency ----------------------------------------------------

ORDER = (
    "protocol.md §3: 'one reply instance per request instance' / mixed replies 'N, in request "
    "order'"
)


@fault(
    "drop-after-64",
    "core",
    ORDER,
    "a fixed batch of 64 slots: instances beyond the 64th are silently dropped",
    semantic=True,
)
def _drop_after_64(request, forward, context):
    if len(request.instances) <= 64:
        return forward(request)
    sent = copy(request)
    del sent.instances[64:]
    return forward(sent)


@fault(
    "tail-batch-first",
    "core",
    ORDER,
    "instances are batched by 16 and the partial tail batch is flushed first, so with N > 16 "
    "(N % 16 != 0) the last instances come back at the front",
    semantic=True,
)
def _tail_batch_first(request, forward, context):
    reply = forward(request)
    n = len(request.instances)
    if n <= 16 or n % 16 == 0:
        return reply
    cut = n - n % 16

    def rotate(items):
        values = [copy(item) for item in items]
        values = values[cut:] + values[:cut]
        del items[:]
        items.extend(values)

    if len(reply.instances) == n:
        rotate(reply.instances)
    if len(reply.error_msg) == n:
        rotate(reply.error_msg)
    return reply


_last_reply: dict[tuple[str, str], bytes] = {}


@fault(
    "shared-reply-buffer",
    "core",
    "conformance-kit §2 core: 'concurrent requests never mixed up'; protocol.md §1: 'the reply "
    "maps its output names to tensors, one reply instance per request instance'",
    "the reply is serialised into a per-method buffer shared by all calls and read back after "
    "the lock is released: concurrent clients can get each other's replies",
    semantic=True,
)
def _shared_reply_buffer(request, forward, context):
    reply = forward(request)
    key = (request.servable_spec.name, request.servable_spec.method_name)
    _last_reply[key] = reply.SerializeToString()
    time.sleep(0.005)  # the window between releasing the buffer's lock and reading it back
    return pb.PredictReply.FromString(_last_reply[key])


# -- per-instance errors and reply shapes ----------------------------------------------------

SHAPES = "protocol.md §3: 'A reply has one of exactly three shapes'"


@fault(
    "errors-failed-first",
    "core",
    SHAPES + " (mixed: error_msg 'N, in request order; a successful one is code 0')",
    "in a mixed reply the error entries are appended as failures are found, OK entries after",
)
def _errors_failed_first(request, forward, context):
    reply = forward(request)
    if is_mixed(reply):
        entries = [copy(e) for e in reply.error_msg]
        entries.sort(key=lambda e: e.error_code == 0)  # stable: failures first
        del reply.error_msg[:]
        reply.error_msg.extend(entries)
    return reply


@fault(
    "collapse-any-all-failed",
    "core",
    SHAPES + " ('anything else (some failed, or all failed differently)' is the mixed shape)",
    "when every instance fails the reply collapses to the first error even if the texts differ",
)
def _collapse_any(request, forward, context):
    reply = forward(request)
    if is_mixed(reply) and all(e.error_code != 0 for e in reply.error_msg):
        first = copy(reply.error_msg[0])
        del reply.instances[:]
        del reply.error_msg[:]
        reply.error_msg.append(first)
    return reply


PER_INSTANCE_PREFIXES = (b"Given model input", b"Call Function")


@fault(
    "never-collapse",
    "strict",
    "protocol.md §3: 'a request-level error, or every instance failed with the same code and "
    "the same text' -> 'none' instances, 'one entry'",
    "identical per-instance failures are never collapsed: N empty instances and N equal errors",
)
def _never_collapse(request, forward, context):
    reply = forward(request)
    n = len(request.instances)
    if (
        n > 1
        and is_request_level_error(reply)
        and reply.error_msg[0].error_msg.startswith(PER_INSTANCE_PREFIXES)
    ):
        entry = copy(reply.error_msg[0])
        del reply.error_msg[:]
        for _ in range(n):
            reply.instances.add()
            reply.error_msg.append(copy(entry))
    return reply


@fault(
    "validate-last-instance-first",
    "strict",
    "protocol.md §2 step 4: 'Inputs, instance by instance in request order ... The first "
    "problem found refuses the whole request'",
    "request validation walks the instances from the back, so the error names the last bad "
    "instance's problem",
)
def _validate_backwards(request, forward, context):
    reply = forward(request)
    if is_request_level_error(reply) and reply.error_msg[0].error_msg.startswith(
        (b"Cannot find input", b"Instances input")
    ):
        sent = copy(request)
        values = [copy(i) for i in sent.instances][::-1]
        del sent.instances[:]
        sent.instances.extend(values)
        reply = forward(sent)
    return with_spec(reply, request)


@fault(
    "truncate-off-by-one",
    "strict",
    "protocol.md §3 Truncation: 'Every error text longer than 384 characters is shortened to "
    "its first 192 characters, ..., and its last 192 characters'",
    "the length test is `> 385` and the tail keeps 191 characters",
)
def _truncate_off_by_one(request, forward, context):
    if request.servable_spec.method_name != "fail":
        return forward(request)
    # Let the backend build the texts around a short token, then put the caller's error back
    # and cut the long texts this server's (wrong) way.
    sent = copy(request)
    tokens: dict[str, str] = {}
    for instance in sent.instances:
        tensor = instance.items.get("error")
        if tensor is None or tensor.dtype != pb.MS_STRING or len(tensor.bytes_val) != 1:
            continue
        try:
            text = tensor.bytes_val[0].decode()
        except UnicodeDecodeError:
            continue
        if text:
            token = tokens.setdefault(text, f"@@E{len(tokens)}@@")
            tensor.bytes_val[0] = token.encode()
    reply = forward(sent)
    for entry in reply.error_msg:
        full = entry.error_msg.decode("utf-8", "replace")
        for text, token in tokens.items():
            full = full.replace(token, text)
        if len(full) > 385:
            full = full[:192] + "..." + full[-191:]
        entry.error_msg = full.encode()
    return reply


@fault(
    "zero-instances-hang",
    "strict",
    "protocol.md §9: a request with zero instances is 'Answered at once with code 2' "
    "(upstream's hang is a defect not to copy)",
    "copies upstream: a request with no instances is never answered",
)
def _zero_hang(request, forward, context):
    if request.instances:
        return forward(request)
    while context.is_active():
        time.sleep(0.1)
    return pb.PredictReply()


@fault(
    "extra-input-refused",
    "core",
    "protocol.md §2 step 4: 'Inputs the method does not declare are ignored, whatever they hold'",
    "a strict validator refuses undeclared inputs with code 2",
)
def _extra_refused(request, forward, context):
    declared = DECLARED.get(request.servable_spec.method_name)
    if declared is not None:
        for instance in request.instances:
            for name in instance.items:
                if name not in declared:
                    return error_reply(
                        request,
                        2,
                        f"Instances input {name} check failed, detail: input is not declared "
                        "by the method",
                    )
    return forward(request)


# -- tensors: shapes and dtypes --------------------------------------------------------------

ECHO = (
    "conformance-kit §1 echo: 'y is x unchanged: same dtype; for numeric dtypes the same dims "
    "and the same bytes'"
)


def _rewrite_inputs(request, rewrite):
    """Send a copy whose input tensors went through ``rewrite(tensor) -> original | None``
    (it edits the copy and returns the tensor as sent, or None when it left it alone); the
    reply's outputs that match a rewritten input are restored to the original."""
    sent = copy(request)
    restored: list[list[tuple[pb.Tensor, pb.Tensor]]] = []
    for instance in sent.instances:
        pairs = []
        for tensor in instance.items.values():
            original = rewrite(tensor)
            if original is not None:
                pairs.append((copy(tensor), original))
        restored.append(pairs)
    return sent, restored


def _restore_outputs(reply, restored):
    if len(reply.instances) != len(restored):
        return reply
    for instance, pairs in zip(reply.instances, restored, strict=True):
        for output in instance.items.values():
            for as_sent, original in pairs:
                if output == as_sent:
                    output.CopyFrom(original)
                    break
    return reply


@fault(
    "empty-tensor-refused",
    "core",
    "protocol.md §2 step 4: '[0] and [3, 0] are legal empty tensors'",
    "tensors with zero elements are refused as malformed (code 2)",
)
def _empty_refused(request, forward, context):
    for instance in request.instances:
        for name, tensor in instance.items.items():
            dims = list(tensor.shape.dims)
            if tensor.dtype not in TEXT_TYPES and dims and product(dims) == 0:
                shape = "[" + ", ".join(str(d) for d in dims) + "]"
                return error_reply(
                    request,
                    2,
                    f"Instances input {name} check failed, detail: Tensor check failed: "
                    f"input  shape {shape} invalid",
                )
    return forward(request)


@fault(
    "zero-dim-anywhere",
    "core",
    "protocol.md §2 step 4: refuse 'any dim that follows a 0 dim (so ... [0, 3] is not)'",
    "the shape check only rejects negative dims, so [0, 3] is served as an empty tensor",
)
def _zero_anywhere(request, forward, context):
    def rewrite(tensor):
        dims = list(tensor.shape.dims)
        if tensor.dtype in TEXT_TYPES or 0 not in dims or min(dims) < 0:
            return None
        if dims.index(0) == len(dims) - 1 or tensor.data:
            return None
        original = copy(tensor)
        tensor.shape.dims[:] = [d for d in dims if d != 0] + [0]
        return original

    sent, restored = _rewrite_inputs(request, rewrite)
    return _restore_outputs(forward(sent), restored)


@fault(
    "dims-product-wraps",
    "core",
    "protocol.md §1: 'exactly product(dims) x item size bytes'; §2 step 4: refuse 'a data "
    "length that does not match dims and the dtype'",
    "the element count is an int64 product that wraps: dims like [2**32, 2**32] with no data "
    "pass the size check",
    semantic=True,
)
def _dims_wrap(request, forward, context):
    def rewrite(tensor):
        size = ITEM_SIZE.get(tensor.dtype)
        dims = list(tensor.shape.dims)
        if size is None or any(d < 0 for d in dims):
            return None
        wrapped = (product(dims) * size) % (1 << 64)
        if product(dims) * size == len(tensor.data) or wrapped != len(tensor.data):
            return None
        original = copy(tensor)
        tensor.shape.dims[:] = [len(tensor.data) // size]
        return original

    sent, restored = _rewrite_inputs(request, rewrite)
    return _restore_outputs(forward(sent), restored)


@fault(
    "dtype-unknown-as-bytes",
    "core",
    "protocol.md §2 step 4: refuse 'a dtype that is not 1 to 12 (MS_UNKNOWN or a number outside "
    "the enum)'",
    "dtype numbers beyond the enum (15, 99...) fall back to raw uint8 and are served",
    semantic=True,
)
def _dtype_unknown(request, forward, context):
    def rewrite(tensor):
        if tensor.dtype <= pb.MS_BYTES or len(tensor.data) != product(tensor.shape.dims):
            return None
        original = copy(tensor)
        tensor.dtype = pb.MS_UINT8
        return original

    sent, restored = _rewrite_inputs(request, rewrite)
    return _restore_outputs(forward(sent), restored)


@fault(
    "utf8-lax",
    "core",
    "protocol.md §2 step 4: refuse 'a string that is not valid UTF-8' (code 2)",
    "MS_STRING inputs are decoded with errors='replace', so invalid UTF-8 is served with U+FFFD",
)
def _utf8_lax(request, forward, context):
    sent = copy(request)
    for instance in sent.instances:
        for tensor in instance.items.values():
            if tensor.dtype == pb.MS_STRING:
                for i, value in enumerate(tensor.bytes_val):
                    tensor.bytes_val[i] = value.decode("utf-8", "replace").encode()
    return forward(sent)


def _map_outputs(request, forward, change):
    reply = forward(request)
    for tensor in outputs(reply):
        change(tensor)
    return reply


@fault(
    "scalar-as-1d",
    "core",
    "protocol.md §3 Outputs: 'numpy scalar: its dtype, dims []' and the kit's `version` 'is an "
    "MS_INT64 0-d tensor (dims [])'",
    "every 0-d output goes out as dims [1] (np.atleast_1d before encoding)",
)
def _scalar_as_1d(request, forward, context):
    def change(tensor):
        if not tensor.shape.dims:
            tensor.shape.dims.append(1)

    return _map_outputs(request, forward, change)


@fault(
    "squeeze-outputs",
    "core",
    "protocol.md §2 step 4: 'A scalar may arrive as dims [] or [1]; the server keeps the dims it "
    "was sent'",
    "single-element outputs are np.squeeze'd: [1] and [1, 1] come back as []",
)
def _squeeze(request, forward, context):
    def change(tensor):
        dims = list(tensor.shape.dims)
        if dims and all(d == 1 for d in dims) and tensor.dtype not in TEXT_TYPES:
            del tensor.shape.dims[:]

    return _map_outputs(request, forward, change)


@fault(
    "dims-max-5",
    "core",
    ECHO + "; conformance-kit §2 core covers '1-6 dims'",
    "shapes live in a fixed array of 5: outputs with 6+ dims have their trailing dims folded "
    "into the 5th",
    semantic=True,
)
def _dims_max5(request, forward, context):
    def change(tensor):
        dims = list(tensor.shape.dims)
        if len(dims) > 5:
            tensor.shape.dims[:] = [*dims[:4], product(dims[4:])]

    return _map_outputs(request, forward, change)


@fault(
    "bool-as-uint8",
    "core",
    ECHO + "; protocol.md §3: 'numpy array: its dtype'",
    "MS_BOOL outputs are sent as MS_UINT8 (the bool array is viewed as bytes before encoding)",
)
def _bool_as_uint8(request, forward, context):
    def change(tensor):
        if tensor.dtype == pb.MS_BOOL:
            tensor.dtype = pb.MS_UINT8

    return _map_outputs(request, forward, change)


@fault(
    "float16-big-endian",
    "core",
    "protocol.md §1: a numeric tensor carries its elements 'little-endian, C order'",
    "MS_FLOAT16 outputs are written big-endian (the rarely used dtype missed a byte-order fix)",
    semantic=True,
)
def _float16_be(request, forward, context):
    def change(tensor):
        if tensor.dtype == pb.MS_FLOAT16:
            tensor.data = np.frombuffer(tensor.data, "<u2").astype(">u2").tobytes()

    return _map_outputs(request, forward, change)


@fault(
    "uint64-saturates",
    "core",
    ECHO + " (bit-exact)",
    "MS_UINT64 goes through int64 with saturation: values >= 2**63 come back as 2**63-1",
    semantic=True,
)
def _uint64_saturates(request, forward, context):
    def change(tensor):
        if tensor.dtype == pb.MS_UINT64 and tensor.data:
            values = np.frombuffer(tensor.data, "<u8")
            tensor.data = np.minimum(values, (1 << 63) - 1).astype("<u8").tobytes()

    return _map_outputs(request, forward, change)


@fault(
    "large-output-truncated",
    "core",
    "protocol.md §1: 'exactly product(dims) x item size bytes'; " + ECHO,
    "outputs are copied through a fixed 1 MiB arena: data beyond 1 MiB is cut (dims kept)",
    semantic=True,
)
def _large_truncated(request, forward, context):
    def change(tensor):
        if len(tensor.data) > MIB:
            tensor.data = tensor.data[:MIB]

    return _map_outputs(request, forward, change)


@fault(
    "extra-output-names",
    "core",
    "protocol.md §1: 'the reply maps its output names to tensors'; §3: 'each with every "
    "declared output' (conformance-kit §1: echo's outputs are y, version)",
    "reply instances also carry the request's inputs (outputs = inputs merged with results)",
)
def _extra_outputs(request, forward, context):
    reply = forward(request)
    if len(reply.instances) == len(request.instances):
        for asked, answered in zip(request.instances, reply.instances, strict=True):
            if answered.items:
                for name, tensor in asked.items.items():
                    if name not in answered.items:
                        answered.items[name].CopyFrom(tensor)
    return reply


# -- text values -----------------------------------------------------------------------------

TEXT_ECHO = "conformance-kit §1 echo: 'for MS_STRING / MS_BYTES the same single value'"


def _map_text(request, forward, change, dtypes=TEXT_TYPES):
    def apply(tensor):
        if tensor.dtype in dtypes:
            tensor.bytes_val[:] = [change(v) for v in tensor.bytes_val]

    return _map_outputs(request, forward, apply)


@fault(
    "text-cut-at-nul",
    "core",
    TEXT_ECHO + " (kit §2 core: 'bytes with NUL')",
    "string and bytes values pass through a C string: everything from the first NUL is lost",
    semantic=True,
)
def _cut_at_nul(request, forward, context):
    return _map_text(request, forward, lambda v: v.split(b"\0", 1)[0])


def _cesu8(value: bytes) -> bytes:
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return value
    out = bytearray()
    for char in text:
        if ord(char) > 0xFFFF:
            high = 0xD800 + ((ord(char) - 0x10000) >> 10)
            low = 0xDC00 + ((ord(char) - 0x10000) & 0x3FF)
            out += chr(high).encode("utf-8", "surrogatepass")
            out += chr(low).encode("utf-8", "surrogatepass")
        else:
            out += char.encode()
    return bytes(out)


@fault(
    "text-cesu8",
    "core",
    "protocol.md §1: 'An MS_STRING tensor carries one UTF-8 text'; " + TEXT_ECHO,
    "MS_STRING outputs are re-encoded from UTF-16 with surrogate pairs (CESU-8): 4-byte code "
    "points (emoji) come back as invalid UTF-8",
    semantic=True,
)
def _text_cesu8(request, forward, context):
    return _map_text(request, forward, _cesu8, (pb.MS_STRING,))


@fault(
    "text-stripped",
    "core",
    TEXT_ECHO,
    "MS_STRING outputs are .strip()'d: leading/trailing whitespace and control characters lost",
    semantic=True,
)
def _text_stripped(request, forward, context):
    def strip(value: bytes) -> bytes:
        try:
            return value.decode().strip(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0").encode()
        except UnicodeDecodeError:
            return value

    return _map_text(request, forward, strip, (pb.MS_STRING,))


# -- resnet50 ----------------------------------------------------------------------------------


RESNET = (
    "conformance-kit §1 resnet50 classify_top1: 'decode, resize to 224x224, normalise, "
    "ResNet-50, the top-1 ImageNet-1k label text (e.g. tabby, tabby cat)'"
)


def _is_top1(request) -> bool:
    spec = request.servable_spec
    return spec.name == "resnet50" and spec.method_name.startswith("classify_top1")


@fault(
    "resnet-label-as-bytes",
    "resnet",
    RESNET + " -> 'label (MS_STRING)'",
    "the label is returned as the encoded bytes the label file was read as: MS_BYTES, not "
    "MS_STRING",
)
def _label_as_bytes(request, forward, context):
    reply = forward(request)
    if _is_top1(request):
        for tensor in outputs(reply):
            if tensor.dtype == pb.MS_STRING:
                tensor.dtype = pb.MS_BYTES
    return reply


@fault(
    "resnet-bad-image-fails-batch",
    "resnet",
    RESNET + "; 'An undecodable image fails that instance only'",
    "images are decoded as one batch: one undecodable image fails the whole request",
    semantic=True,
)
def _bad_image_fails_batch(request, forward, context):
    reply = forward(request)
    if _is_top1(request) and is_mixed(reply):
        failed = next(copy(e) for e in reply.error_msg if e.error_code != 0)
        del reply.instances[:]
        del reply.error_msg[:]
        reply.error_msg.append(failed)
    return reply


@fault(
    "resnet-non-rgb-fails",
    "resnet",
    RESNET + " (any JPEG or PNG; only an undecodable image fails)",
    "the decoder assumes 3 channels: grayscale, palette and RGBA images fail with code 3",
    semantic=True,
)
def _non_rgb_fails(request, forward, context):
    if not _is_top1(request) or not request.instances:
        return forward(request)
    import io

    from PIL import Image

    def mode(instance) -> str:
        tensor = instance.items.get("image")
        try:
            return Image.open(io.BytesIO(tensor.bytes_val[0])).mode
        except Exception:  # undecodable: the backend's own error
            return "RGB"

    bad = [mode(instance) not in ("RGB",) for instance in request.instances]
    if not any(bad):
        return forward(request)
    reply = forward(request)
    if is_request_level_error(reply) and len(request.instances) == 1:
        return reply
    text = (
        f"Call Function '{request.servable_spec.name}.preprocess' Failed, method: "
        f"'{request.servable_spec.method_name}', stage index(begin with 1): 1, error msg: "
        "cannot reshape array: expected 3 channels"
    ).encode()
    if all(bad):
        del reply.instances[:]
        del reply.error_msg[:]
        reply.error_msg.add(error_code=3, error_msg=text)
        return reply
    if not reply.error_msg:
        for _ in reply.instances:
            reply.error_msg.add(error_code=0)
    for i, failed in enumerate(bad):
        if failed:
            reply.instances[i].Clear()
            reply.error_msg[i].error_code = 3
            reply.error_msg[i].error_msg = text
    return reply


# -- transport ---------------------------------------------------------------------------------

LIMIT = (
    "protocol.md §6: 'A server accepts and sends messages up to max_msg_mb_size MiB ... A bigger "
    "request, or a reply that would be bigger, ends the call with gRPC RESOURCE_EXHAUSTED'"
)
transport_fault(
    "limit-decimal-mb",
    "limits",
    LIMIT,
    "the limit is max_msg_mb_size * 10**6 bytes (MB, not MiB): a request just under the limit "
    "is refused",
    limit_factor=10**6,
)
transport_fault(
    "limit-send-unset",
    "limits",
    LIMIT,
    "only grpc.max_receive_message_length is set: replies over the limit are sent anyway",
    send_unlimited=True,
)
TLS = (
    "protocol.md §6 TLS: 'Every TLS failure (... a plaintext client against a TLS server) "
    "reaches the client as gRPC UNAVAILABLE'"
)
transport_fault(
    "tls-plaintext-too",
    "tls",
    TLS,
    "a port-sharing front end sniffs the first byte: TLS goes to the TLS listener, anything "
    "else is served in plaintext",
    sidecar="sniff",
)
MTLS = (
    "protocol.md §6 TLS: 'Mutual TLS (verify_client): the server also requires a client "
    "certificate and verifies it against the custom_ca'"
)
transport_fault(
    "mtls-client-cert-optional",
    "mtls",
    MTLS,
    "a TLS-terminating sidecar with CERT_OPTIONAL: a client certificate is verified when sent, "
    "but a client without one is served",
    sidecar="optional",
)
transport_fault(
    "mtls-verify-client-ignored",
    "mtls",
    MTLS,
    "--verify-client is never wired to the credentials: no client certificate is asked for",
    ignore_verify_client=True,
)
transport_fault(
    "mtls-expired-client-ok",
    "mtls",
    MTLS + " (protocol.md §6: 'expired certificate' is a TLS failure)",
    "a TLS-terminating sidecar verifies the client chain with X509_V_FLAG_NO_CHECK_TIME: an "
    "expired client certificate is accepted",
    sidecar="no-check-time",
)
UDS = (
    "protocol.md §6 Addresses / README 'Unix sockets': 'a stale socket file is replaced and the "
    "file is removed when the server stops'"
)
transport_fault(
    "uds-socket-left-behind",
    "uds",
    UDS,
    "on SIGTERM the process exits without shutting the server down: the socket file stays",
    exit_abruptly=True,
)
transport_fault(
    "uds-stale-socket-refused",
    "uds",
    UDS + " (protocol.md §6: 'a socket file left there is replaced')",
    "a leftover socket file makes the server fail to start ('address in use')",
    refuse_stale_socket=True,
)


# -- the server ------------------------------------------------------------------------------


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _credentials(args, flags):
    if not args.certificate:
        return None
    verify = args.verify_client and not flags.get("ignore_verify_client")
    return grpc.ssl_server_credentials(
        [(_read(args.private_key), _read(args.certificate))],
        root_certificates=_read(args.custom_ca) if verify else None,
        require_client_auth=verify,
    )


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side closes."""
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 60)
            if not ready:
                return
            for source in ready:
                target = b if source is a else a
                try:
                    chunk = source.recv(1 << 16)
                except ssl.SSLWantReadError:
                    continue
                if not chunk:
                    return
                target.sendall(chunk)
                # an SSL socket may hold decrypted bytes select() cannot see
                while isinstance(source, ssl.SSLSocket) and source.pending():
                    target.sendall(source.recv(source.pending()))
    except OSError:
        return
    finally:
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.close()


def _sidecar(args, mode: str, inner_path: str) -> tuple[socket.socket, threading.Thread]:
    """A TCP listener on args.address that terminates TLS itself (Python's ssl) and pipes the
    clear HTTP/2 to the plaintext front server on the unix socket ``inner_path``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.certificate, args.private_key)
    context.set_alpn_protocols(["h2"])
    if args.verify_client:
        context.load_verify_locations(args.custom_ca)
        context.verify_mode = ssl.CERT_OPTIONAL if mode == "optional" else ssl.CERT_REQUIRED
        if mode == "no-check-time":
            context.verify_flags |= 0x200000  # X509_V_FLAG_NO_CHECK_TIME
    host, _, port = args.address.rpartition(":")
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host.strip("[]"), int(port)))
    listener.listen(64)

    def serve_one(conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            first = conn.recv(1, socket.MSG_PEEK)
            if not first:
                conn.close()
                return
            if first[0] == 0x16:  # a TLS handshake record
                conn = context.wrap_socket(conn, server_side=True)
            elif mode != "sniff":
                conn.close()
                return
            conn.settimeout(None)
            inner = socket.socket(socket.AF_UNIX)
            inner.connect(inner_path)
        except (OSError, ssl.SSLError):
            with contextlib.suppress(OSError):
                conn.close()
            return
        _pipe(conn, inner)

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    return listener, thread


def _handler(chosen: Fault, stub_call):
    def forward(request: pb.PredictRequest) -> pb.PredictReply:
        return stub_call(request, timeout=60)

    def predict(request: pb.PredictRequest, context: grpc.ServicerContext) -> pb.PredictReply:
        if chosen.handle is None:
            return forward(request)
        return chosen.handle(request, forward, context)

    method = grpc.unary_unary_rpc_method_handler(
        predict,
        request_deserializer=pb.PredictRequest.FromString,
        response_serializer=pb.PredictReply.SerializeToString,
    )

    class Handler(grpc.GenericRpcHandler):
        def service(self, details):
            return method if details.method == PREDICT else None

    return Handler()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", help="a fault name (--list), or none")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    parser.add_argument("--address")
    parser.add_argument("--certificate", default="")
    parser.add_argument("--private-key", default="")
    parser.add_argument("--custom-ca", default="")
    parser.add_argument("--verify-client", default="false", choices=["true", "false"])
    parser.add_argument("--max-msg-mb-size", type=int, default=100)
    parser.add_argument("--device", default="cpu", help="accepted and ignored (always NumPy)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        for item in FAULTS.values():
            kind = "semantic" if item.semantic else "plain"
            print(f"{item.name}\t{item.profile}\t{kind}\t{item.description}\t{item.cite}")
        return 0
    if not args.address or not args.fault:
        print("serve.py: --fault and --address are required", file=sys.stderr)
        return 2
    if args.fault != "none" and args.fault not in FAULTS:
        print(f"serve.py: unknown fault {args.fault!r}", file=sys.stderr)
        return 2
    args.verify_client = args.verify_client == "true"
    chosen = FAULTS.get(args.fault) or Fault("none", "", "", "")
    flags = chosen.transport

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    workdir = tempfile.mkdtemp(prefix="outsider-")
    backend = ReferenceServer(kit_registry())
    backend_address = backend.start(f"unix:{workdir}/backend.sock", 512)
    channel = grpc.insecure_channel(
        backend_address,
        options=[
            ("grpc.max_receive_message_length", 512 * MIB),
            ("grpc.max_send_message_length", 512 * MIB),
        ],
    )
    stub_call = channel.unary_unary(
        PREDICT,
        request_serializer=pb.PredictRequest.SerializeToString,
        response_deserializer=pb.PredictReply.FromString,
    )

    unix_path = args.address[5:] if args.address.startswith("unix:") else None
    if unix_path and os.path.exists(unix_path):
        if flags.get("refuse_stale_socket"):
            print(f"serve.py: cannot bind {args.address}: address in use", file=sys.stderr)
            return 1
        os.unlink(unix_path)

    limit = args.max_msg_mb_size * int(flags.get("limit_factor", MIB))  # type: ignore[call-overload]
    send_limit = 512 * MIB if flags.get("send_unlimited") else limit
    front = grpc.server(
        futures.ThreadPoolExecutor(32),
        handlers=[_handler(chosen, stub_call)],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", send_limit),
        ],
    )
    sidecar = flags.get("sidecar") if args.certificate else None
    listener = None
    if sidecar:
        inner = f"{workdir}/front.sock"
        front.add_insecure_port(f"unix:{inner}")
        listener, _ = _sidecar(args, str(sidecar), inner)
    else:
        credentials = _credentials(args, flags)
        if credentials is None:
            front.add_insecure_port(args.address)
        else:
            front.add_secure_port(args.address, credentials)
    front.start()
    print(f"serve.py: fault {chosen.name} serving on {args.address}", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    if flags.get("exit_abruptly"):
        os._exit(0)
    if listener is not None:
        listener.close()
    front.stop(2).wait(7)
    backend.stop(1)
    if unix_path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(unix_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
