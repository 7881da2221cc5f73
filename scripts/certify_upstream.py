"""Certify the real MindSpore Serving 2.0.2, server and client, with this harness (tox -e upstream).

1. Finds a Python 3.9 (upstream's wheel needs it): $UPSTREAM_PYTHON, ``python3.9`` on PATH, or
   pyenv's versions folder. Without one it says so and exits 1, with no traceback.
2. Makes (once) a virtual environment with ``mindspore-serving==2.0.2`` from the package index,
   and the numpy and protobuf its 2023 wheel was built against.
3. Runs ``conformance --server-cmd`` on ``upstream/serve.py`` (every server profile) and
   ``conformance --client-cmd`` on ``examples/testee_mindspore_serving.py`` (every client
   profile), each with its expectation file: a run passes only when upstream fails exactly the
   requirements listed there (an unexpected failure and an unexpected pass both fail it).

Reports and certificates go to ``--out`` (default: .tox/upstream-reports). docs/upstream.md
explains every listed failure. ``--confirm`` instead reruns each listed requirement alone on
fresh servers, as docs/upstream.md says each verdict was confirmed (it must fail by itself).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "upstream"
TESTEE = ROOT / "examples" / "testee_mindspore_serving.py"
# Upstream's wheel (2023) imports np.bool (removed in numpy 1.24) and protobuf code generated
# for the 3.x runtime (refused by protobuf >= 3.21's checks), hence the pins.
PACKAGES = ("mindspore-serving==2.0.2", "numpy<1.24", "protobuf<3.21", "packaging")
SERVER_ARGS = (
    "--address {address} --certificate {certificate} --private-key {private_key} "
    "--custom-ca {custom_ca} --verify-client {verify_client} "
    "--max-msg-mb-size {max_msg_mb_size} --grace {grace}"
)
SETUP_TIMEOUT_S = 900
RUN_TIMEOUT_S = 1500  # the harness's own --run-timeout is below it


class Unavailable(Exception):
    """Something this certification needs is not on this machine (said plainly, exit 1)."""


def find_python39() -> str:
    given = os.environ.get("UPSTREAM_PYTHON")
    if given:
        return given
    candidates = []
    on_path = shutil.which("python3.9")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pattern = os.path.join(pyenv_root, "versions", "3.9*", "bin", "python3.9")
    candidates += sorted(glob.glob(pattern))
    candidates += ["/usr/bin/python3.9", "/usr/local/bin/python3.9"]
    for candidate in candidates:
        try:
            result = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 9))"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.stdout.strip() == "True":
            return candidate
    raise Unavailable(
        "no Python 3.9 found (MindSpore Serving 2.0.2's wheel needs it): install one "
        "(e.g. `pyenv install 3.9`) or name it in $UPSTREAM_PYTHON"
    )


def ensure_venv(python39: str, folder: Path) -> str:
    """The venv's python, with mindspore_serving importable (installed on first use)."""
    python = folder / "bin" / "python"
    check = [str(python), "-W", "ignore", "-c", "import mindspore_serving.server, numpy"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return str(python)
    print(f"certify_upstream: making {folder} with {python39}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    made = subprocess.run(
        [python39, "-m", "venv", str(folder)], timeout=SETUP_TIMEOUT_S, check=False
    )
    if made.returncode != 0:
        raise Unavailable(f"could not make a Python 3.9 venv at {folder}")
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES]
    installed = subprocess.run(pip, timeout=SETUP_TIMEOUT_S, check=False)
    if installed.returncode != 0:
        raise Unavailable(f"could not install {' '.join(PACKAGES)} from the package index")
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        raise Unavailable("mindspore_serving does not import in the new venv")
    return str(python)


def certify(label: str, drive: list[str], expectations: Path, out: Path) -> int:
    command = [
        sys.executable,
        "-m",
        "conformance",
        *drive,
        "--expect-failures",
        str(expectations),
        "--json-report",
        str(out / f"{label}.json"),
        "--certificate",
        str(out / f"{label}.md"),
        "--run-timeout",
        str(RUN_TIMEOUT_S - 60),
    ]
    print(f"certify_upstream: {label}: {shlex.join(command)}", flush=True)
    began = time.monotonic()
    try:
        status = subprocess.run(command, cwd=ROOT, timeout=RUN_TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"certify_upstream: {label}: no result within {RUN_TIMEOUT_S} s", flush=True)
        return 2
    print(
        f"certify_upstream: {label}: exit status {status} in {time.monotonic() - began:.0f} s",
        flush=True,
    )
    return status


def listed(expectations: Path) -> list[str]:
    lines = expectations.read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def confirm(label: str, drive: list[str], expectations: Path, out: Path) -> int:
    """Rerun each listed requirement alone, on fresh servers: each must fail by itself."""
    folder = out / f"{label}-confirm"
    folder.mkdir(parents=True, exist_ok=True)
    unconfirmed = []
    for requirement in listed(expectations):
        report = folder / f"{requirement}.json"
        command = [sys.executable, "-m", "conformance", *drive, "--requirement", requirement]
        command += ["--json-report", str(report), "-q"]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                command, cwd=ROOT, capture_output=True, timeout=RUN_TIMEOUT_S, check=False
            )
        failed = json.loads(report.read_text())["failed"] if report.exists() else []
        verdict = "fails alone" if requirement in failed else "DOES NOT fail alone"
        print(f"certify_upstream: {label}: {requirement}: {verdict}", flush=True)
        if requirement not in failed:
            unconfirmed.append(requirement)
    return 1 if unconfirmed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=str(ROOT / ".tox" / "upstream-py39"))
    parser.add_argument("--out", default=str(ROOT / ".tox" / "upstream-reports"))
    parser.add_argument(
        "--only", choices=("server", "client"), help="certify only upstream's server or client"
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="instead, rerun each listed requirement alone on fresh servers (it must fail)",
    )
    options = parser.parse_args(argv)
    try:
        python = ensure_venv(find_python39(), Path(options.venv))
    except Unavailable as exc:
        print(f"certify_upstream: cannot certify upstream here: {exc}", file=sys.stderr)
        return 1
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    run = confirm if options.confirm else certify
    statuses = {}
    if options.only in (None, "server"):
        serve = f"{shlex.quote(python)} {shlex.quote(str(UPSTREAM / 'serve.py'))} {SERVER_ARGS}"
        statuses["server"] = run(
            "server", ["--server-cmd", serve], UPSTREAM / "expected-failures-server.txt", out
        )
    if options.only in (None, "client"):
        testee = f"{shlex.quote(python)} {shlex.quote(str(TESTEE))}"
        statuses["client"] = run(
            "client", ["--client-cmd", testee], UPSTREAM / "expected-failures-client.txt", out
        )
    for label, status in statuses.items():
        verdict = "as expected" if status == 0 else f"NOT as expected (exit status {status})"
        print(f"certify_upstream: upstream's {label}: {verdict}; reports in {out}")
    return 0 if all(status == 0 for status in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
