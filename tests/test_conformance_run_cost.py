"""What a harness run must not pay for: costs hypothesis would otherwise charge every run.

Each run keeps hypothesis's files in a scratch folder of its own, so nothing hypothesis caches
there survives the run. Two of its conveniences cost seconds of CPU per run that way: the table
of characters a codec can encode (st.text() and st.characters(codec=...), ~2-3 s), and the
patch it writes for a failing example, which imports libcst (~1 s).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_plugin_exit_codes import BROKEN_CMD, SELECT

from conformance.verify import strategies as gen

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "conformance"
RUN_TIMEOUT_S = 180


def _draws(strategy: st.SearchStrategy[str]) -> list[str]:
    seen: list[str] = []

    @settings(derandomize=True, max_examples=60, database=None)
    @given(strategy)
    def collect(value: str) -> None:
        seen.append(value)

    collect()
    return seen


def _intervals(characters: st.SearchStrategy[str]) -> object:
    unwrapped: Any = getattr(characters, "wrapped_strategy", characters)
    return unwrapped.intervals


def test_utf8_characters_draw_exactly_what_the_codec_would() -> None:
    """The same set, so the same examples: swapping it in changed no run's requests."""
    codec = st.characters(codec="utf-8")
    assert _intervals(gen.UTF8_CHARACTERS) == _intervals(codec)
    assert _draws(gen.texts(max_size=6)) == _draws(st.text(max_size=6))


def _codec_tables_built(path: Path, root: Path = ROOT) -> list[str]:
    """Calls in ``path`` that make hypothesis build a codec table: st.text() without an
    alphabet, and any ``codec=`` argument."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        bare_text = node.func.attr == "text" and not node.args
        if bare_text or any(keyword.arg == "codec" for keyword in node.keywords):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_harness_strategy_builds_a_codec_table() -> None:
    found = [call for path in sorted(HARNESS.rglob("*.py")) for call in _codec_tables_built(path)]
    assert not found, f"use conformance.verify.strategies.texts / UTF8_CHARACTERS: {found}"


def test_the_scan_finds_a_bare_text(tmp_path: Path) -> None:
    module = tmp_path / "strategy.py"
    module.write_text("a = st.text(max_size=3)\nb = st.characters(codec='ascii')\nc = t.text(x)\n")
    assert _codec_tables_built(module, tmp_path) == ["strategy.py:1", "strategy.py:2"]


_PROBE = """
import sys
from conformance.cli import main
from hypothesis.internal import charmap
status = main(sys.argv[1:])
print("status", status)
print("patching", "hypothesis.extra._patching" in sys.modules)
print("codec tables", charmap.intervals_from_codec.cache_info().currsize)
"""


def test_a_failing_run_builds_no_codec_table_and_writes_no_patch(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "-q", "--server-cmd", BROKEN_CMD, *SELECT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    lines = done.stdout.splitlines()
    assert "status 1" in lines, done.stdout + done.stderr  # a check failed: hypothesis's case
    assert "patching False" in lines and "codec tables 0" in lines, done.stdout
