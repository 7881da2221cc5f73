"""scripts/mutation_score.py: which mutation positions it drops as equivalent by construction.

The run itself is a benchmark (docs/mutation.md); only its pure filter is tested here, since a
filter that drops too much inflates the score silently.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent

SOURCE = '''"""Module docstring."""
from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
Alias = int | None


@dataclass(frozen=True, slots=True)
class Spec:
    """Class docstring."""

    size: int | None = 3


def check(value: int | None, limit: int = 4, *, strict: bool = False) -> bool | None:
    log.warning("checked %d", value + 1)
    return value is not None and value < limit * 2
'''


def _script() -> ModuleType:
    name = "mutation_score"
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _reason(module: ModuleType, source: str, line: int, text: str, length: int = 1) -> str | None:
    """The filter's verdict on a mutation of ``length`` characters at ``text`` on ``line``."""
    column = source.splitlines()[line - 1].index(text)
    regions = module.equivalent_regions(source)
    return module.equivalent_by_construction(regions, (line, column), (line, column + length))


def test_lazy_annotations_docstrings_dataclass_flags_and_log_text_are_dropped() -> None:
    module = _script()
    assert _reason(module, SOURCE, 15, "|") == "annotation (never evaluated)"  # AnnAssign
    assert _reason(module, SOURCE, 18, "|") == "annotation (never evaluated)"  # argument
    assert _reason(module, SOURCE, 18, "| None:") == "annotation (never evaluated)"  # return
    assert _reason(module, SOURCE, 11, "True") == "dataclass flag"
    assert _reason(module, SOURCE, 19, "+") == "logging text"
    assert _reason(module, SOURCE, 1, "Module") == "docstring"
    assert _reason(module, SOURCE, 18, "*,") == "keyword-only marker"


def test_code_that_runs_is_kept() -> None:
    module = _script()
    assert _reason(module, SOURCE, 8, "|") is None  # an alias is evaluated at import
    assert _reason(module, SOURCE, 15, "3") is None  # a dataclass default is a value
    assert _reason(module, SOURCE, 18, "4") is None  # so is an argument's default
    assert _reason(module, SOURCE, 20, "<") is None
    assert _reason(module, SOURCE, 20, "*") is None
    assert _reason(module, SOURCE, 20, "is not", 6) is None


def test_annotations_are_code_without_the_future_import() -> None:
    module = _script()
    eager = SOURCE.replace("from __future__ import annotations\n", "")
    assert _reason(module, eager, 17, "|") is None  # evaluated at definition time
