"""``reference-server`` / ``python -m reference_server``: run the kit's servables over gRPC.

    python -m reference_server --address 127.0.0.1:5500
        [--certificate FILE --private-key FILE [--custom-ca FILE --verify-client true]]
        [--max-msg-mb-size N] [--device auto|cpu|gpu] [--resnet-weights FILE.npz]

An empty ``--certificate ''`` (with empty key and CA) means plaintext, so the conformance
harness's placeholders fit as they are. Once listening, one line goes to stdout:

    reference_server: serving on 127.0.0.1:40123 (plaintext, device numpy)

(port 0 reports the real port). SIGINT/SIGTERM: stop accepting calls, let calls in flight finish
within ``--grace`` seconds, remove the unix socket file, exit 0. Errors are one line on stderr:
exit 2 for bad arguments or files, 1 when the server cannot start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from protos.arrays import DEVICES, ArrayBackend, GPUUnavailableError, select_backend
from protos.extras import MissingExtraError, require
from reference_server.address import AddressError
from reference_server.tls import SSLConfig

if TYPE_CHECKING:  # gRPC is imported only once the arguments are good
    from reference_server.server import ReferenceServer

PROG = "reference_server"
USAGE_ERROR = 2
START_ERROR = 1


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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


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
        type=_positive_float,
        default=5.0,
        metavar="SECONDS",
        help="how long calls in flight may finish after SIGINT/SIGTERM (default 5)",
    )
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
    args: argparse.Namespace, ssl_config: SSLConfig | None
) -> tuple[ReferenceServer, ArrayBackend]:
    from reference_server.servables import kit_registry
    from reference_server.server import ReferenceServer

    try:
        backend = select_backend(args.device)
    except GPUUnavailableError as exc:
        raise StartError(str(exc)) from None
    registry = kit_registry(backend, args.resnet_weights)
    server = ReferenceServer(registry, queue_limit=args.queue_limit)
    failure: UsageError | StartError | None = None
    with _stderr_held() as held:
        try:
            server.start(args.address, args.max_msg_mb_size, ssl_config)
        except AddressError as exc:
            failure = UsageError(str(exc))
        except (RuntimeError, OSError) as exc:
            failure = StartError(str(exc))
    log = bytes(held)
    if failure is not None:
        reason = _BIND_REASON.search(log.decode("utf-8", "replace"))
        if reason is not None and isinstance(failure, StartError):
            failure = StartError(f"{failure} ({reason.group(1)})")
        raise failure
    if log:
        os.write(2, log)  # gRPC's own lines from a successful start
    return server, backend


STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def main(argv: Sequence[str] | None = None) -> int:
    # Block the stop signals before any thread exists: gRPC's threads inherit the mask, so the
    # signals wait for this thread's sigwait() instead of landing on a thread that cannot act
    # on them (a Python handler runs only once the main thread runs bytecode again).
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return _serve(argv)
    finally:
        while STOP_SIGNALS & signal.sigpending():  # a second signal during the grace period
            signal.sigwait(STOP_SIGNALS)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _serve(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        require("server", PROG)
        ssl_config = ssl_config_from(args)
        _check_resnet_weights(args.resnet_weights)
        server, backend = _start(args, ssl_config)
    except (UsageError, MissingExtraError) as exc:
        return _fail(USAGE_ERROR, str(exc))
    except StartError as exc:
        return _fail(START_ERROR, str(exc))
    except Exception as exc:  # never a traceback
        return _fail(START_ERROR, f"{type(exc).__name__}: {exc}")

    print(
        f"{PROG}: serving on {server.address} ({server.tls_mode}, device {backend.name})",
        flush=True,
    )
    signal.sigwait(STOP_SIGNALS)
    server.stop(args.grace)
    return 0


def _fail(status: int, message: str) -> int:
    first_line = message.splitlines()[0] if message else "failed"
    print(f"{PROG}: error: {first_line}", file=sys.stderr, flush=True)
    return status
