"""Import each of the project's modules first, as if in a new interpreter, cheaply.

A new interpreter per module spends most of its second importing numpy, grpc, hypothesis and
pytest, again and again. Here one interpreter imports those libraries (never a module of the
project) and forks once per module; the child imports the module and reports. The project's
modules are therefore each imported first, in a process that has imported none of them: what
the check is about (import order inside the project must not matter).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

LIBRARIES = ("numpy", "grpc", "google.protobuf.message", "hypothesis", "pytest", "cryptography")
PER_MODULE_S = 120  # an import that hangs is ended by an alarm in its child

_CHECKER = r"""
import importlib, json, os, signal, sys, traceback
libraries, names, per_module = json.loads(sys.argv[1])
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS thread pool in the process that forks
for library in libraries:
    try:
        importlib.import_module(library)
    except ImportError:
        pass  # an extra not installed: its modules say so themselves
bad = []
for name in names:
    read, write = os.pipe()
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        signal.alarm(per_module)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().strip().splitlines()[-1].encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        bad.append([name, said or f"wait status {status}"])
print(json.dumps(bad))
"""


def failing_imports(names: Sequence[str], timeout_s: float = 600.0) -> list[tuple[str, str]]:
    """(module, its error's last line) for each module that cannot be imported first."""
    done = subprocess.run(
        [sys.executable, "-c", _CHECKER, json.dumps([LIBRARIES, list(names), PER_MODULE_S])],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the import checker failed: {done.stderr[-2000:]}")
    return [(name, said) for name, said in json.loads(done.stdout.strip().splitlines()[-1])]
