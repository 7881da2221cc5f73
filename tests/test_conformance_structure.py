"""The harness's architecture: packages by role, imported in one direction, no import cycle,
each module importable on its own in a fresh interpreter."""

from __future__ import annotations

import ast
from pathlib import Path

from support.fresh_imports import failing_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"
# Each layer may import the ones before it, never one after it.
LAYERS = ("catalogue", "drive", "reporting", "verify", "suites")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the conformance modules it imports at module level (lazy imports in functions
    and TYPE_CHECKING blocks included: a cycle through them is still a cycle of design)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_import_cycle_between_modules() -> None:
    graph = _imports()
    assert len(graph) > 30
    assert _cycles(graph) == []


def test_packages_import_only_earlier_layers() -> None:
    wrong = []
    for module, targets in _imports().items():
        mine = _package_of(module)
        if mine is None:
            continue  # the front ends (cli, plugin, api, _active, _fixtures) use every layer
        for target in targets:
            theirs = _package_of(target)
            if theirs is None and target != "conformance":
                wrong.append(f"{module} -> {target} (a front end)")
            elif theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check above would pass vacuously if the finder missed cycles.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_private_modules_are_not_imported_from_outside_their_package() -> None:
    wrong = []
    for module, targets in _imports().items():
        for target in targets:
            package, _, leaf = target.rpartition(".")
            private = leaf.startswith("_") and not leaf.startswith("__")
            if private and not (module == package or module.startswith(package + ".")):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    # Import order must not matter: each module first, in a process that has imported no
    # module of the project (support.fresh_imports: forks of one that holds the libraries).
    names = sorted(n for n in _imports() if not n.endswith("__main__"))
    assert failing_imports(names) == []


def test_the_import_checker_reports_a_module_that_fails() -> None:
    # The check above would pass vacuously if the checker missed failures.
    assert failing_imports(["conformance.no_such_module", "conformance.cli"]) == [
        (
            "conformance.no_such_module",
            "ModuleNotFoundError: No module named 'conformance.no_such_module'",
        )
    ]
