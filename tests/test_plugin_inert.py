"""The plugin loads in every pytest run of this environment: it must cost nothing and change
nothing unless its options are used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HEAVY = ("grpc", "numpy", "hypothesis", "google.protobuf", "trustme", "PIL")


def test_plugin_import_is_cheap() -> None:
    code = f"import sys, conformance.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_plugin_is_loaded_but_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_one():
            assert 1 + 1 == 2

        def test_two(tmp_path):
            assert tmp_path.exists()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--trace-config")
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    assert "conformance/plugin.py" in output  # the entry point did load ...
    assert "conformance-run" not in output  # ... but activated nothing
    assert "= conformance =" not in output  # no summary section


def test_inert_plugin_adds_no_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
    assert result.ret == 0
    assert "conformance_" not in result.stdout.str()


def test_options_are_declared(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        [
            "*MindSpore Serving conformance*",
            "*--conformance-target=ADDRESS*",
            "*--conformance-server-cmd=COMMAND*",
            "*--conformance-expect-failures=FILE*",
        ]
    )


def test_suite_can_be_listed_without_a_server(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--collect-only", "-q", "--pyargs", "conformance.suites"
    )
    assert result.ret == 0
    assert "test_core_echo.py::test_numeric_roundtrip[MS_FLOAT16]" in result.stdout.str()


def test_projects_own_run_does_not_collect_the_suite() -> None:
    # `python3 -m pytest` in the project collects testpaths (tests/), never the shipped suite.
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )
    assert "tests/test_plugin_inert.py::test_projects_own_run_does_not_collect_the_suite" in (
        done.stdout
    )
    assert "conformance/suites" not in done.stdout + done.stderr
