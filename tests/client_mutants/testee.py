"""The reference client's testee with one rule broken: ``python testee.py NAME``.

Each mutation wraps one seam of reference_client (or of its testee adapter) in place, a few lines
each, then runs the unchanged testee loop.
"""

from __future__ import annotations

import glob
import os
import ssl
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np

from protos import codec
from protos import ms_service_pb2 as pb
from reference_client import client as client_module
from reference_client import testee
from reference_client import values as values_module

Patch = Callable[[], None]
PATCHES: dict[str, Patch] = {}


def mutant(name: str) -> Callable[[Patch], Patch]:
    def register(patch: Patch) -> Patch:
        PATCHES[name] = patch
        return patch

    return register


def wrap(owner: Any, attribute: str, make: Callable[[Any], Any]) -> None:
    setattr(owner, attribute, make(getattr(owner, attribute)))


@mutant("none")
def _none() -> None:
    """The control: the testee unbroken, through this same script."""


@mutant("banner")
def _banner() -> None:
    print("reference client testee ready", flush=True)  # before main() redirects stdout


@mutant("print-on-error")
def _print_on_error() -> None:
    def make(original: Any) -> Any:
        def failure(code: Any, details: Any) -> Any:
            for line in (details, code[1], code[0]):  # upstream's three prints, on stdout
                print(line, file=sys.__stdout__, flush=True)
            return original(code, details)

        return failure

    wrap(client_module, "rpc_failure_result", make)


@mutant("int-as-int32")
def _int_as_int32() -> None:
    wrap(values_module, "_python_scalar", lambda original: lambda value: (
        np.asarray(value & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        if isinstance(value, int) and not isinstance(value, bool)
        else original(value)
    ))  # fmt: skip


@mutant("str-as-bytes")
def _str_as_bytes() -> None:
    wrap(values_module, "_fill_single", lambda original: lambda tensor, dtype, value: original(
        tensor, codec.BYTES if dtype is codec.STRING else dtype, value
    ))  # fmt: skip


@mutant("scalar-as-1")
def _scalar_as_1() -> None:
    wrap(values_module, "_fill_array", lambda original: lambda tensor, array: original(
        tensor, array.reshape(1) if array.ndim == 0 else array
    ))  # fmt: skip


@mutant("scalar-widened")
def _scalar_widened() -> None:
    wide = {"f": np.float64, "i": np.int64, "u": np.uint64, "b": np.bool_}

    def make(original: Any) -> Any:
        def fill(tensor: pb.Tensor, value: Any) -> None:
            if isinstance(value, np.number | np.bool_):
                value = np.asarray(value).astype(wide[np.asarray(value).dtype.kind])
            original(tensor, value)

        return fill

    wrap(values_module, "fill_tensor", make)


@mutant("bool-scalar-refused")
def _bool_scalar_refused() -> None:
    # Upstream's own defect: numpy.bool_ is not an np.number, so it is refused before sending.
    def make(original: Any) -> Any:
        def fill(tensor: pb.Tensor, value: Any) -> None:
            if isinstance(value, np.bool_):
                print(f"refusing {type(value)}", file=sys.stderr, flush=True)
                raise RuntimeError(f"Not support value type {type(value)}")
            original(tensor, value)

        return fill

    wrap(values_module, "fill_tensor", make)


@mutant("byte-order-flipped")
def _byte_order_flipped() -> None:
    def make(original: Any) -> Any:
        def fill(tensor: pb.Tensor, array: np.ndarray) -> None:
            original(tensor, array)
            item = array.dtype.itemsize
            data = np.frombuffer(tensor.data, dtype=np.uint8).reshape(-1, item)[:, ::-1]
            tensor.data = data.tobytes()

        return fill

    wrap(values_module, "_fill_array", make)


@mutant("instances-reversed")
def _instances_reversed() -> None:
    wrap(testee, "instances_of", lambda original: lambda call: original(call)[::-1])


@mutant("version-dropped")
def _version_dropped() -> None:
    wrap(testee, "make_client", lambda original: lambda call: original({**call, "version": 0}))


@mutant("reply-0d-as-1")
def _reply_0d_as_1() -> None:
    def make(original: Any) -> Any:
        def value(tensor: pb.Tensor, *args: Any) -> Any:
            found = original(tensor, *args)
            return found.reshape(1) if isinstance(found, np.ndarray) and found.ndim == 0 else found

        return value

    wrap(values_module, "tensor_to_value", make)


@mutant("bytes-val-first")
def _bytes_val_first() -> None:
    def make(original: Any) -> Any:
        def value(tensor: pb.Tensor, *args: Any) -> Any:
            found = original(tensor, *args)
            return found[0] if isinstance(found, list) else found

        return value

    wrap(values_module, "tensor_to_value", make)


def _wrap_parse(change: Callable[[Any, pb.PredictReply], Any]) -> None:
    def make(original: Any) -> Any:
        def parse(reply: pb.PredictReply, *args: Any) -> Any:
            return change(original(reply, *args), reply)

        return parse

    wrap(client_module, "parse_reply", make)


@mutant("reply-reordered")
def _reply_reordered() -> None:
    _wrap_parse(lambda result, _reply: result[::-1] if isinstance(result, list) else result)


@mutant("request-error-text-lost")
def _request_error_text_lost() -> None:
    _wrap_parse(
        lambda result, _reply: {"error": "request failed"} if isinstance(result, dict) else result
    )


@mutant("mixed-collapsed")
def _mixed_collapsed() -> None:
    def collapse(result: Any, _reply: pb.PredictReply) -> Any:
        if isinstance(result, list):
            errors = [item for item in result if set(item) == {"error"}]
            if errors:
                return errors[0]
        return result

    _wrap_parse(collapse)


@mutant("malformed-accepted")
def _malformed_accepted() -> None:
    def make(original: Any) -> Any:
        def parse(reply: pb.PredictReply, *args: Any) -> Any:
            if len(reply.error_msg) not in (0, 1, len(reply.instances)):
                del reply.error_msg[:]
            return original(reply, *args)

        return parse

    wrap(client_module, "parse_reply", make)


@mutant("one-error-per-instance")
def _one_error_per_instance() -> None:
    # Reads one failed entry beside N instances as N failed instances, not as upstream does.
    def make(original: Any) -> Any:
        def parse(reply: pb.PredictReply, *args: Any) -> Any:
            errors, count = reply.error_msg, len(reply.instances)
            if len(errors) == 1 and errors[0].error_code != 0 and count:
                return [{"error": errors[0].error_msg.decode("utf-8", "replace")}] * count
            return original(reply, *args)

        return parse

    wrap(client_module, "parse_reply", make)


@mutant("lone-ok-entry-accepted")
def _lone_ok_entry_accepted() -> None:
    def make(original: Any) -> Any:
        def parse(reply: pb.PredictReply, *args: Any) -> Any:
            errors = reply.error_msg
            if len(errors) == 1 and errors[0].error_code == 0 and len(reply.instances) != 1:
                del reply.error_msg[:]
            return original(reply, *args)

        return parse

    wrap(client_module, "parse_reply", make)


@mutant("status-swallowed")
def _status_swallowed() -> None:
    wrap(client_module, "rpc_failure_result", lambda original: lambda code, details: [])


@mutant("hang-on-dead-server")
def _hang_on_dead_server() -> None:
    def infer(self: Any, instances: Any) -> Any:
        request = self._request(instances)
        return self._settle(lambda: self._predict(request, timeout=None, wait_for_ready=True))

    client_module.Client.infer = infer  # type: ignore[method-assign]


@mutant("async-swallows-failure")
def _async_swallows_failure() -> None:
    def make(original: Any) -> Any:
        def result(self: Any) -> Any:
            try:
                return original(self)
            except grpc.RpcError:
                return []

        return result

    wrap(client_module.AsyncResult, "result", make)


@mutant("deadline-ignored")
def _deadline_ignored() -> None:
    def make(original: Any) -> Any:
        def build(call: Any) -> Any:
            made = original(call)
            made.timeout = None
            return made

        return build

    wrap(testee, "make_client", make)


@mutant("uds-refused")
def _uds_refused() -> None:
    def make(original: Any) -> Any:
        def build(call: Any) -> Any:
            if str(call["address"]).startswith("unix:"):
                raise RuntimeError("unix: addresses are not supported")
            return original(call)

        return build

    wrap(testee, "make_client", make)


def _wrap_tls(change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    def make(original: Any) -> Any:
        def build(call: Any) -> Any:
            tls = call.get("tls")
            return original({**call, "tls": None if tls is None else change(dict(tls))})

        return build

    wrap(testee, "make_client", make)


@mutant("tls-ignores-ca")
def _tls_ignores_ca() -> None:
    _wrap_tls(lambda tls: {**tls, "ca": None})


def _every_pem_beside(path: str) -> str:
    """A CA bundle of every PEM file in ``path``'s folder (the run's other CA included)."""
    pems = sorted(glob.glob(os.path.join(os.path.dirname(path), "*.pem")))
    handle, bundle = tempfile.mkstemp(suffix=".pem")
    with os.fdopen(handle, "wb") as out:
        for pem in pems:
            with open(pem, "rb") as file:
                out.write(file.read())
    return bundle


@mutant("tls-trusts-any-ca")
def _tls_trusts_any_ca() -> None:
    _wrap_tls(lambda tls: {**tls, "ca": _every_pem_beside(tls["ca"])} if tls.get("ca") else tls)


ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


@mutant("tls-roots-env-ignored")
def _tls_roots_env_ignored() -> None:
    # Gone before gRPC first computes its default roots: its bundled ones serve instead.
    os.environ.pop(ROOTS_ENV, None)


@mutant("tls-roots-env-folder")
def _tls_roots_env_folder() -> None:
    def widen(tls: dict[str, Any]) -> dict[str, Any]:
        roots = os.environ.get(ROOTS_ENV)
        return {**tls, "ca": _every_pem_beside(roots)} if roots and not tls.get("ca") else tls

    _wrap_tls(widen)


@mutant("tls-no-host-check")
def _tls_no_host_check() -> None:
    from cryptography import x509

    def make(original: Any) -> Any:
        def channel(address: str, ssl_config: Any = None, **options: Any) -> Any:
            if ssl_config is None or address.startswith("unix:"):
                return original(address, ssl_config, **options)
            host, port = address.rsplit(":", 1)
            pem = ssl.get_server_certificate((host, int(port)), timeout=5)
            names = (
                x509.load_pem_x509_certificate(pem.encode())
                .extensions.get_extension_for_class(x509.SubjectAlternativeName)
                .value.get_values_for_type(x509.DNSName)
            )
            extra = [("grpc.ssl_target_name_override", names[0])] if names else []
            return original(address, ssl_config, options=extra)

        return channel

    wrap(client_module, "open_channel", make)


@mutant("mtls-no-client-cert")
def _mtls_no_client_cert() -> None:
    _wrap_tls(lambda tls: {**tls, "cert": None, "key": None})


@mutant("grpc-default-limits")
def _grpc_default_limits() -> None:
    wrap(client_module, "open_channel", lambda original: lambda address, ssl_config=None: original(
        address, ssl_config, max_message_bytes=4 * 1024 * 1024
    ))  # fmt: skip


@mutant("crash-on-exhausted")
def _crash_on_exhausted() -> None:
    def make(original: Any) -> Any:
        def failure(code: Any, details: Any) -> Any:
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED.value:
                os._exit(3)
            return original(code, details)

        return failure

    wrap(client_module, "rpc_failure_result", make)


@mutant("error-raised")
def _error_raised() -> None:
    def make(original: Any) -> Any:
        def failure(code: Any, details: Any) -> Any:
            raise RuntimeError(f"RPC failed: {details}")

        return failure

    wrap(client_module, "rpc_failure_result", make)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PATCHES:
        print(f"usage: testee.py {{{','.join(PATCHES)}}}", file=sys.stderr)
        return 2
    PATCHES[argv[0]]()
    return testee.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
