"""``reference-server`` / ``python -m reference_server``: run the kit's servables over gRPC.

    python -m reference_server --address 127.0.0.1:5500
        [--certificate FILE --private-key FILE [--custom-ca FILE --verify-client true]]
        [--max-msg-mb-size N] [--device auto|cpu|gpu] [--resnet-weights FILE.npz]
        [--grace SECONDS] [--receive-timeout SECONDS] [--no-health] [--no-reflection]
        [--log-level LEVEL] [--version]

An empty ``--certificate ''`` (with empty key and CA) means plaintext, so the conformance
harness's placeholders fit as they are. Once listening, one line goes to stdout:

    reference_server: serving on 127.0.0.1:40123 (plaintext, device numpy)

(port 0 reports the real port). SIGINT/SIGTERM: health turns NOT_SERVING, calls in flight finish
(within ``--grace`` seconds; what still runs then is cancelled), the unix socket file is removed,
exit 0 by grace + 1 s; a second signal meanwhile is absorbed. Errors are one line on stderr:
exit 2 for bad arguments or files, 1 when the server cannot start (with the reason).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from reference_client.arrays import GPUUnavailableError
from reference_client.extras import MissingExtraError, require
from reference_server import memory
from reference_server.address import AddressError
from reference_server.backend import DEVICES, ArrayBackend, select_backend
from reference_server.tls import SSLConfig

if TYPE_CHECKING:  # gRPC is imported only once the arguments are good
    from reference_server.behaviour import Behaviour
    from reference_server.server import ReferenceServer

PROG = "reference_server"
USAGE_ERROR = 2
START_ERROR = 1
LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """Bad arguments or unreadable files: exit 2."""


class StartError(Exception):
    """The server could not start: exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _bool_word(text: str) -> bool:
    words = {"true": True, "false": False}
    if text.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")
    return words[text.lower()]


def _int_in(low: int, high: int | None) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is outside {bounds}")
        return value

    return parse  # type: ignore[return-value]


def _seconds(text: str) -> float:
    """A finite number of seconds >= 0 (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, not {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected seconds > 0, not 0")
    return value


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ms-serving-conformance")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="The reference MindSpore Serving r1.6 gRPC server with the conformance "
        "kit's servables (add, conformance, resnet50).",
    )
    parser.add_argument(
        "--address",
        required=True,
        help="host:port, [v6]:port (port 0: any free port) or unix:PATH",
    )
    tls = parser.add_argument_group("TLS (an empty --certificate means plaintext)")
    tls.add_argument("--certificate", default="", metavar="FILE", help="server certificate (PEM)")
    tls.add_argument("--private-key", default="", metavar="FILE", help="its private key (PEM)")
    tls.add_argument(
        "--custom-ca",
        default="",
        metavar="FILE",
        help="trust root for client certificates (PEM), used with --verify-client true",
    )
    tls.add_argument(
        "--verify-client",
        type=_bool_word,
        default=False,
        metavar="true|false",
        help="require and verify a client certificate (mutual TLS)",
    )
    parser.add_argument(
        "--max-msg-mb-size",
        type=_int_in(1, 512),
        default=100,
        metavar="N",
        help="largest request or reply in MiB, 1..512 (default 100)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="compute on the GPU (CuPy) or the CPU (NumPy); auto takes a working GPU",
    )
    parser.add_argument(
        "--resnet-weights",
        type=Path,
        metavar="FILE.npz",
        help="ResNet-50 weights for the resnet50 servable",
    )
    parser.add_argument(
        "--queue-limit",
        type=_int_in(1, None),
        default=10000,
        metavar="N",
        help="requests served at once before others get code 1 (default 10000)",
    )
    parser.add_argument(
        "--grace",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long calls in flight may finish after SIGINT/SIGTERM (default 5)",
    )
    parser.add_argument(
        "--receive-timeout",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="a call whose request has not fully arrived this long after its start is "
        "cancelled (default 30)",
    )
    parser.add_argument(
        "--no-health",
        dest="health",
        action="store_false",
        help="do not serve gRPC health checking (grpc.health.v1)",
    )
    parser.add_argument(
        "--no-reflection",
        dest="reflection",
        action="store_false",
        help="do not serve gRPC server reflection",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="warning",
        help="what the server logs to stderr (default warning)",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    return parser


def ssl_config_from(args: argparse.Namespace) -> SSLConfig | None:
    """The TLS settings the options ask for; UsageError for an incomplete or unreadable set."""
    certificate, key, ca = args.certificate, args.private_key, args.custom_ca
    if not certificate:
        if key or ca or args.verify_client:
            raise UsageError(
                "--private-key, --custom-ca and --verify-client true need --certificate"
            )
        return None
    if not key:
        raise UsageError("--certificate needs --private-key")
    if args.verify_client and not ca:
        raise UsageError("--verify-client true needs --custom-ca")
    named = [("--certificate", certificate), ("--private-key", key)]
    if args.verify_client:
        named.append(("--custom-ca", ca))
    for option, path in named:
        _check_readable(option, path)
    return SSLConfig(certificate, key, ca or None, args.verify_client)


def _check_readable(option: str, path: str | Path) -> None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as exc:
        raise UsageError(f"cannot read {option} {path}: {exc.strerror or exc}") from None


def _check_resnet_weights(path: Path | None) -> None:
    if path is None:
        return
    _check_readable("--resnet-weights", path)
    from reference_server.servables.resnet50 import validate_weights_file

    try:
        validate_weights_file(path)
    except ValueError as exc:
        raise UsageError(f"--resnet-weights: {exc}") from None


@contextlib.contextmanager
def _stderr_held() -> Iterator[bytearray]:
    """Hold what is written to fd 2 (gRPC's own log lines) while starting; the bytearray
    yielded receives it on exit."""
    sys.stderr.flush()
    held = bytearray()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield held
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            held.extend(sink.read())


_BIND_REASON = re.compile(r"Error in bind for address '[^']*': ([^)\n]+)\)")


def _start(
    args: argparse.Namespace, ssl_config: SSLConfig | None, behaviour: Behaviour | None = None
) -> tuple[ReferenceServer, ArrayBackend]:
    from reference_server.servables import kit_registry
    from reference_server.server import ReferenceServer

    try:
        backend = select_backend(args.device)
    except GPUUnavailableError as exc:
        raise StartError(str(exc)) from None
    registry = kit_registry(backend, args.resnet_weights)
    server = ReferenceServer(
        registry,
        queue_limit=args.queue_limit,
        receive_timeout=args.receive_timeout,
        health=args.health,
        reflection=args.reflection,
        behaviour=behaviour,
    )
    failure: UsageError | StartError | None = None
    with _stderr_held() as held:
        try:
            server.start(args.address, args.max_msg_mb_size, ssl_config)
        except AddressError as exc:
            failure = UsageError(str(exc))
        except (RuntimeError, OSError) as exc:
            failure = StartError(str(exc))
            failure.__cause__ = exc
    log = bytes(held)
    if failure is not None:
        if isinstance(failure, StartError):
            reason = _reason(failure.__cause__, log.decode("utf-8", "replace"), args.address)
            if reason:
                failure = StartError(f"{failure} ({reason})")
        raise failure
    if log:
        os.write(2, log)  # gRPC's own lines from a successful start
    return server, backend


def _reason(error: BaseException | None, grpc_log: str, address: str) -> str | None:
    """Why the server could not start: the bind error from gRPC's log, else from a plain
    bind of the TCP address, else the cause of ``error`` (TLS material, a live unix socket)."""
    found = _BIND_REASON.search(grpc_log)
    if found is not None:
        return found.group(1)
    refused = _tcp_bind_reason(address)
    if refused is not None:
        return refused
    cause = error.__cause__ if error is not None else None
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause) if cause is not None and str(cause) else None


def _tcp_bind_reason(address: str) -> str | None:
    """Why ``address`` (host:port) cannot be bound, from a plain socket bind: grpcio before
    1.81 logs the bind error only with GRPC_VERBOSITY=debug."""
    if address.startswith("unix"):
        return None
    host, _, port = address.rpartition(":")
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return None
    for family, kind, proto, _name, where in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.bind(where)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_POLL_S = 0.1


class _StopSignals:
    """SIGINT and SIGTERM as a request to stop: the first is recorded, later ones are absorbed.

    A Python handler (not a blocked mask and sigwait) because a mask set in main() does not
    cover the BLAS threads ``import numpy`` started before it: a signal landing there would
    kill the process with the default action. With a handler installed, whichever thread the
    kernel picks, the signal only trips Python's flag and the main thread acts on it.
    """

    def __init__(self) -> None:
        self.received = threading.Event()
        self.count = 0
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.received.is_set():
            logging.getLogger(__name__).info("%s while stopping: ignored", name)
            return
        logging.getLogger(__name__).info("%s: stopping", name)
        self.received.set()

    def wait(self) -> None:
        # Short waits, so that the main thread runs the handler even when another thread took
        # the signal.
        while not self.received.wait(SIGNAL_POLL_S):
            pass

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def main(argv: Sequence[str] | None = None, *, behaviour: Behaviour | None = None) -> int:
    """Run the server until SIGINT/SIGTERM; ``behaviour``: see reference_server.behaviour."""
    signals = _StopSignals()  # before any gRPC thread exists
    try:
        status, server = _serve(argv, signals, behaviour)
    finally:
        signals.restore()
    if server is not None and server.active_calls:
        # Handlers still computing past the grace would hold the interpreter's exit (it joins
        # the worker threads): their calls are already cancelled, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _serve(
    argv: Sequence[str] | None, signals: _StopSignals, behaviour: Behaviour | None = None
) -> tuple[int, ReferenceServer | None]:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format=f"%(asctime)s {PROG}: %(levelname)s: %(name)s: %(message)s",
    )
    memory.want_tuning()  # applied at the first large request
    try:
        require("server", PROG)
        ssl_config = ssl_config_from(args)
        _check_resnet_weights(args.resnet_weights)
        server, backend = _start(args, ssl_config, behaviour)
    except (UsageError, MissingExtraError) as exc:
        return _fail(USAGE_ERROR, str(exc)), None
    except StartError as exc:
        return _fail(START_ERROR, str(exc)), None
    except Exception as exc:  # never a traceback
        return _fail(START_ERROR, f"{type(exc).__name__}: {exc}"), None

    print(
        f"{PROG}: serving on {server.address} ({server.tls_mode}, device {backend.name})",
        flush=True,
    )
    signals.wait()
    server.stop(args.grace)
    return 0, server


def _fail(status: int, message: str) -> int:
    first_line = message.splitlines()[0] if message else "failed"
    print(f"{PROG}: error: {first_line}", file=sys.stderr, flush=True)
    return status


__all__ = [
    "LOG_LEVELS",
    "PROG",
    "SIGNAL_POLL_S",
    "START_ERROR",
    "STOP_SIGNALS",
    "USAGE_ERROR",
    "StartError",
    "UsageError",
    "build_parser",
    "main",
    "ssl_config_from",
]
