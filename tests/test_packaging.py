"""Packaging: what the distribution declares and ships, checked against what the code imports.

The installs themselves are tox's job (`tox -e lowest`: every floor; `extra-client`,
`extra-server`, `extra-harness`: each extra alone in a fresh venv, scripts/check_extras.py);
these tests pin the declarations those envs rely on, and what a client-only user meets.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from reference_client.extras import EXTRAS

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
TIMEOUT_S = 120


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~;\s]", r, maxsplit=1)[0].lower() for r in requirements}


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_base_install_is_the_client() -> None:
    assert _names(PROJECT["dependencies"]) == {"grpcio", "protobuf", "numpy"}


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_each_extra_declares_what_its_entry_points_require(extra: str) -> None:
    declared = _names(PROJECT["optional-dependencies"][extra])
    assert {dist for _module, dist in EXTRAS[extra]} <= declared


def test_test_extra_is_everything() -> None:
    test = PROJECT["optional-dependencies"]["test"]
    assert f"{PROJECT['name']}[server,harness]" in test
    assert "pytest-xdist" in _names(test)
    assert "pytest-randomly" in _names(test)  # the README's command runs in a random order


def test_lowest_constraints_pin_every_floor() -> None:
    script = _script("lowest_constraints")
    pins = script.floors(PYPROJECT)
    assert script.OUTPUT.read_text(encoding="utf-8") == script.render(pins), (
        "constraints-lowest.txt is stale: run python scripts/lowest_constraints.py"
    )
    # What tox -e lowest found: trustme 1.1 lacks CA.issue_cert(not_before=...).
    assert pins["trustme"] == "1.2"
    tested = _names(PROJECT["dependencies"])
    for extra in script.TESTED_EXTRAS:
        tested |= _names(PROJECT["optional-dependencies"][extra])
    assert set(pins) == tested - {PROJECT["name"]}


def test_a_requirement_without_a_floor_is_refused() -> None:
    script = _script("lowest_constraints")
    project = {
        "name": "x",
        "dependencies": ["numpy>=1.24"],
        "optional-dependencies": {"server": ["pillow"], "harness": [], "test": ["x[server]"]},
    }
    with pytest.raises(ValueError, match="'pillow' has no floor"):
        script.floors({"project": project})


# A client-only install: none of the harness's modules, but the user's own pytest (with the
# conformance plugin, an entry point of this distribution) may well be there.
HIDE_HARNESS = "import sys; sys.modules.update(dict.fromkeys(['hypothesis', 'trustme', 'PIL']))"


def _run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_client_only_pytest_run_with_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    # Autoloading off, the plugin named: pytest's autoload trips over the hidden modules (the
    # real entry point in a real client-only venv: tox -e extra-client).
    pytest_main = (
        "import pytest; sys.exit(pytest.main(['-p', 'conformance.plugin', '-p', "
        "'no:cacheprovider', '--rootdir', '.', 'test_plain.py'{}]))"
    )
    no_autoload = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = _run(f"{HIDE_HARNESS}; {pytest_main.format('')}", tmp_path, **no_autoload)
    assert done.returncode == 0, done.stdout + done.stderr
    target = ", '--conformance-target', '127.0.0.1:1'"
    done = _run(f"{HIDE_HARNESS}; {pytest_main.format(target)}", tmp_path, **no_autoload)
    assert done.returncode == 4  # pytest's usage error
    assert (
        "conformance: --conformance-target needs the [harness] extra "
        "(missing: hypothesis, trustme, pillow): pip install 'ms-serving-conformance[harness]'"
    ) in done.stderr
    assert "Traceback" not in done.stderr
    client = ", '--conformance-client-cmd', 'true {address}'"
    done = _run(f"{HIDE_HARNESS}; {pytest_main.format(client)}", tmp_path, **no_autoload)
    assert done.returncode == 4
    assert "conformance: --conformance-client-cmd needs the [harness] extra" in done.stderr


def test_entry_points_name_the_missing_extra(tmp_path: Path) -> None:
    done = _run(
        f"{HIDE_HARNESS}; from conformance.cli import main; sys.exit(main(['--target', 'x:1']))",
        tmp_path,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "conformance: error: conformance needs the [harness] extra (missing: hypothesis, "
        "trustme, pillow): pip install 'ms-serving-conformance[harness]'\n",
    )
    hide_server = "import sys; sys.modules.update(dict.fromkeys(['cryptography', 'PIL']))"
    done = _run(
        f"{hide_server}; from reference_server.cli import main; "
        "sys.exit(main(['--address', '127.0.0.1:0']))",
        tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        "reference_server: error: reference_server needs the [server] extra (missing: pillow, "
        "cryptography"
    )


def test_import_reference_client_needs_only_the_base_install(tmp_path: Path) -> None:
    hide = "import sys; sys.modules.update(dict.fromkeys(['pytest', 'cryptography']))"
    # Every module of the package (its __init__ imports none of them: they load on use).
    every = (
        "import importlib, pkgutil, reference_client; "
        "[importlib.import_module(f'reference_client.{m.name}') "
        "for m in pkgutil.iter_modules(reference_client.__path__)]"
    )
    done = _run(f"{hide}; {HIDE_HARNESS}; {every}", tmp_path)
    assert done.returncode == 0, done.stderr


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist has no .git)")
    done = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.splitlines() if (ROOT / name).exists()]


def test_sdist_holds_every_tracked_file(tmp_path: Path) -> None:
    tracked = _tracked_files()
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:  # the build-system's floor
        pytest.skip(f"setuptools {setuptools.__version__} is older than the build needs (77)")
    build = "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.split()[-1]) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert sorted(set(tracked) - members) == []
    assert {"LICENSE", "tests/conftest.py", "tests/support/tls.py", "tox.ini"} <= members
