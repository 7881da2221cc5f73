"""Launch the real MindSpore Serving (2.0.2, Python 3.9) with the conformance kit's servables.

Run it with the Python that has ``mindspore-serving`` installed; it accepts the harness's
placeholders (docs/upstream.md), so that

    conformance --server-cmd 'PY39 upstream/serve.py --address {address} --certificate
    {certificate} --private-key {private_key} --custom-ca {custom_ca}
    --verify-client {verify_client} --max-msg-mb-size {max_msg_mb_size} --grace {grace}'

certifies upstream itself. It only translates options into upstream's own API
(``start_servables``, ``start_grpc_server``, ``SSLConfig``) and never changes what upstream does.
It imports nothing from this project, so it runs where only MindSpore Serving is installed.
"""

import argparse
import os
import signal
import sys
import tempfile
import threading

SERVABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servables")
# (servable, version): conformance-kit.md §1. Version 0 of a request means the latest (2).
DEPLOYMENTS = (("add", 1), ("conformance", 1), ("conformance", 2))


def _flag(text):
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="upstream/serve.py",
        description="Serve the conformance kit's servables on the real MindSpore Serving.",
    )
    parser.add_argument("--address", required=True, help="ip:port or unix:PATH")
    parser.add_argument(
        "--certificate", default="", help="server certificate PEM (empty: plaintext)"
    )
    parser.add_argument("--private-key", default="", help="server private key PEM")
    parser.add_argument("--custom-ca", default="", help="CA PEM for client certificates")
    parser.add_argument("--verify-client", type=_flag, default=False, help="true: mutual TLS")
    parser.add_argument("--max-msg-mb-size", type=int, default=100, help="1..512 (default 100)")
    parser.add_argument(
        "--grace",
        type=float,
        default=0.0,
        help="accepted for the harness's {grace}; upstream has no grace period and ignores it",
    )
    parser.add_argument(
        "--workdir",
        default="",
        help="where upstream writes serving_logs/ and unix_socket_files/ (default: a new one)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    try:
        from mindspore_serving import server
    except ImportError as error:
        sys.stderr.write(
            f"upstream/serve.py: mindspore_serving is not importable here ({error}); run this "
            "script with the Python 3.9 that has 'mindspore-serving==2.0.2' installed\n"
        )
        return 2
    # Upstream writes its logs and its master/worker sockets under the working directory.
    workdir = options.workdir or tempfile.mkdtemp(prefix="ms-serving-")
    os.chdir(workdir)
    ssl_config = None
    if options.certificate:
        ssl_config = server.SSLConfig(
            certificate=options.certificate,
            private_key=options.private_key,
            custom_ca=options.custom_ca or None,
            verify_client=options.verify_client,
        )
    configs = [
        server.ServableStartConfig(SERVABLES, name, version_number=version)
        for name, version in DEPLOYMENTS
    ]
    try:
        server.start_servables(configs)
        server.start_grpc_server(
            options.address, max_msg_mb_size=options.max_msg_mb_size, ssl_config=ssl_config
        )
    except RuntimeError as error:
        sys.stderr.write(f"upstream/serve.py: upstream refused to start: {error}\n")
        server.stop()
        return 1
    sys.stdout.write(f"upstream/serve.py: serving on {options.address}\n")
    sys.stdout.flush()
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(0.5):
        pass
    server.stop()  # upstream's own shutdown: ends its workers and its gRPC server
    return 0


if __name__ == "__main__":
    sys.exit(main())
