"""docs/adding-a-profile.md holds: a new profile is its three files and the regenerated docs.

In a copy of the repository (the packages the harness, the reference server and its mutants
need, and the generated docs), the test writes the toy profile's three files exactly as the doc
shows them, regenerates the docs with the command the doc names, and runs the harness: the toy
requirement passes against the reference server and fails against the toy mutant. No other
file of the copy changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "adding-a-profile.md"
COPIED = ("conformance", "protos", "reference_server", "reference_client", "tests/mutants")
COPIED_FILES = ("docs/requirements.md", "docs/cli.md", "scripts/regenerate_docs.py")
GENERATED = {"docs/requirements.md", "docs/cli.md"}
RUN_TIMEOUT_S = 120


def _doc_files() -> dict[str, str]:
    """The files the doc's example shows, by path."""
    text = DOC.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```\n", text, re.DOTALL))


def _copy(into: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for folder in COPIED:
        shutil.copytree(ROOT / folder, into / folder, ignore=ignore)
    for name in COPIED_FILES:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and ".hypothesis" not in path.parts
    }


def _certify(copy: Path, mutant: str) -> tuple[int, dict[str, str], str]:
    """The harness of the copy against its serve.py --mutant MUTANT, profile toy only."""
    serve = shlex.join([sys.executable, "tests/mutants/serve.py", "--mutant", mutant])
    report = copy / f"report-{mutant}.json"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--server-cmd",
         f"{serve} --address {{address}} --device cpu", "--profile", "toy",
         "--json-report", str(report)],
        cwd=copy, env=dict(os.environ, PYTHONPATH=str(copy)), capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert report.exists(), output
    data = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    return done.returncode, {r["id"]: r["outcome"] for r in data["requirements"]}, output


def test_a_toy_profile_is_three_files_and_the_regenerated_docs(tmp_path: Path) -> None:
    files = _doc_files()
    assert set(files) == {
        "conformance/catalogue/profiles/toy.py",
        "conformance/suites/test_toy.py",
        "tests/mutants/toy.py",
    }
    copy = tmp_path / "repo"
    _copy(copy)
    before = _digests(copy)
    for name, text in files.items():
        assert not (copy / name).exists(), name
        (copy / name).write_text(text, encoding="utf-8")
    regenerate = subprocess.run(
        [sys.executable, "scripts/regenerate_docs.py"],
        cwd=copy, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    assert regenerate.returncode == 0, regenerate.stdout + regenerate.stderr
    after = _digests(copy)
    assert set(after) - set(before) == set(files)
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == GENERATED
    assert "`TOY-ECHO-INT32`" in (copy / "docs" / "requirements.md").read_text(encoding="utf-8")
    cli = (copy / "docs" / "cli.md").read_text(encoding="utf-8")
    assert re.search(r"--profile PROFILE +a profile to run.*?robustness,\s+toy\b", cli, re.DOTALL)

    status, outcomes, output = _certify(copy, "none")
    assert status == 0, output[-3000:]
    assert outcomes["TOY-ECHO-INT32"] == "passed"
    assert set(outcomes.values()) == {"passed", "not-run"}  # only the toy profile ran
    status, outcomes, output = _certify(copy, "toy-echo-reversed")
    assert status == 1, output[-3000:]
    assert outcomes["TOY-ECHO-INT32"] == "failed", output[-3000:]
