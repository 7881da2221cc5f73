#!/usr/bin/env python3
"""Check one install profile in the environment it runs in (tox's extra-* envs, each a fresh
venv holding the package with that one extra):

    client               the base install: the client imports; the server's and the harness's
                         entry points exit 2 naming the extra to install; nothing else came along
    client-with-pytest   the same plus a plain pytest: the conformance plugin loads, stays inert,
                         and --conformance-target names the [harness] extra (usage error, 4)
    server               [server]: the reference server's command serves the client; no harness
    harness              [harness]: the command and every shipped suite module import; the
                         server's command names the [server] extra

Exit 0 when every check holds; otherwise the first failed check, on stderr.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence

TIMEOUT_S = 60.0
HARNESS_ONLY = ("pytest", "hypothesis", "trustme")
SERVER_ONLY = ("cryptography", "grpc_health", "grpc_reflection")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"check_extras: FAILED: {what}")
    print(f"check_extras: ok: {what}")


def absent(*modules: str) -> None:
    present = [m for m in modules if importlib.util.find_spec(m) is not None]
    check(not present, f"not installed: {', '.join(modules)} (found: {present})")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT_S
    )


def refuses(args: Sequence[str], extra: str, status: int = 2) -> None:
    done = run(*args)
    said = done.stderr.strip()
    named = f"needs the [{extra}] extra" in said and "Traceback" not in said
    check(
        done.returncode == status and named,
        f"`{' '.join(args)}` exits {status} naming [{extra}] ({done.returncode}: {said[-300:]!r})",
    )


def client() -> None:
    import reference_client
    from protos import codec

    check(bool(codec.NUMERIC_DTYPES), "protos import")
    reference_client.Client("127.0.0.1:1", "add", "add_common").close()
    check(True, "import reference_client; Client(...) constructs")
    absent("PIL", *HARNESS_ONLY, *SERVER_ONLY)
    refuses(["-m", "reference_server", "--address", "127.0.0.1:0"], "server")
    refuses(["-m", "conformance", "--target", "127.0.0.1:1"], "harness")


def client_with_pytest() -> None:
    absent("hypothesis", "trustme", "PIL")
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "test_plain.py"), "w", encoding="utf-8") as file:
            file.write("def test_one():\n    assert 1 + 1 == 2\n")
        plain = ("-m", "pytest", "-p", "no:cacheprovider", "--rootdir", folder, folder)
        done = run(*plain, "--trace-config")
        check(
            done.returncode == 0 and "conformance/plugin.py" in done.stdout,
            f"a plain pytest run loads the plugin and passes (got {done.returncode})",
        )
        refuses([*plain, "--conformance-target", "127.0.0.1:1"], "harness", status=4)


def server() -> None:
    absent(*HARNESS_ONLY)
    import numpy as np

    from reference_client import Client
    from reference_server.servables.resnet50.labels import imagenet_labels

    check(len(imagenet_labels()) == 1000, "the resnet50 servable's labels ship with the server")
    with subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--address", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            ready = process.stdout.readline()  # the server prints it once it serves
            match = re.search(r"serving on (\S+)", ready)
            check(match is not None, f"the server starts ({ready.strip()!r})")
            assert match is not None
            x = np.ones((2, 2), np.float32)
            with Client(match.group(1), "add", "add_common", timeout=TIMEOUT_S) as c:
                reply = c.infer([{"x1": x, "x2": x}])
            check(bool(np.array_equal(reply[0]["y"], x + x)), f"add answers ({reply!r})")
        finally:
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=TIMEOUT_S)
    check(status == 0, f"SIGTERM stops it with 0 (got {status})")


def harness() -> None:
    absent("grpc_health", "grpc_reflection")
    import conformance._active
    import conformance.api
    import conformance.cli
    import conformance.suites

    names = [m.name for m in pkgutil.iter_modules(conformance.suites.__path__)]
    for name in names:
        importlib.import_module(f"conformance.suites.{name}")
    check(bool(names), f"the shipped suite imports ({len(names)} modules)")
    from conformance.verify.resnet import imagenet_labels

    check(len(imagenet_labels()) == 999, "the harness's own ImageNet labels ship with it")
    listed = run("-m", "conformance", "--list-requirements")
    check(listed.returncode == 0 and "CORE-" in listed.stdout, "conformance --list-requirements")
    refuses(["-m", "reference_server", "--address", "127.0.0.1:0"], "server")


PROFILES = {
    "client": client,
    "client-with-pytest": client_with_pytest,
    "server": server,
    "harness": harness,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PROFILES:
        raise SystemExit(f"usage: check_extras.py {{{','.join(PROFILES)}}}")
    # From outside the checkout, so `python -m` subprocesses import the installed package.
    os.chdir(tempfile.gettempdir())
    PROFILES[sys.argv[1]]()
