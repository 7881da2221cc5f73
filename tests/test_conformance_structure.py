"""The repository's architecture: top-level packages imported in one direction, the harness's
packages by role, no import cycle anywhere, each module importable on its own in a fresh
interpreter."""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

from support.fresh_imports import failing_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"
# The allowed directions between the top-level packages, stated once:
#
#     protos  <-  reference_client  <-  reference_server
#                        ^
#                        +-----------  conformance
#
# protos is the wire format and codec; the client sits on it (and holds what every install has:
# upstream's argument texts, the host/device seam, the testee protocol's forms, the extras
# table); the server and the harness sit on both. The harness never imports the reference
# server, nor the server the harness: the harness checks any server, and a module they shared
# would let the two agree on a mistake.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "protos": frozenset(),
    "reference_client": frozenset({"protos"}),
    "reference_server": frozenset({"protos", "reference_client"}),
    "conformance": frozenset({"protos", "reference_client"}),
}
# Inside the harness, each layer may import the ones before it, never one after it.
LAYERS = ("catalogue", "drive", "reporting", "verify", "suites")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(source: str, name: str, is_package: bool, modules: Collection[str]) -> set[str]:
    """The ``modules`` that ``source`` (module ``name``) imports: at module level, in functions
    (lazy) and under TYPE_CHECKING alike, relative imports resolved. A cycle through a lazy or
    type-only import is still a cycle of design. ``from package import module`` is an edge to
    the module alone (the package's __init__ runs first, but nothing of it is used)."""
    found: set[str] = set()
    here = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found & set(modules) - {name}


def _imports() -> dict[str, set[str]]:
    """Module -> the repository's modules it imports (see _targets), for every package."""
    paths = {_module_name(p): p for package in MAY_IMPORT for p in (ROOT / package).rglob("*.py")}
    return {
        name: _targets(path.read_text(encoding="utf-8"), name, path.stem == "__init__", paths)
        for name, path in paths.items()
    }


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
    if parts[0] != "conformance":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_package_is_covered() -> None:
    graph = _imports()
    counts = {p: sum(1 for m in graph if m.split(".")[0] == p) for p in MAY_IMPORT}
    assert counts["protos"] >= 3 and counts["reference_client"] >= 8, counts
    assert counts["reference_server"] >= 25 and counts["conformance"] >= 30, counts


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_imports()) == []


def _against_the_directions(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if (mine := module.split(".")[0]) != (theirs := target.split(".")[0])
        and theirs not in MAY_IMPORT[mine]
    ]


def test_top_level_packages_import_only_in_the_stated_directions() -> None:
    assert _against_the_directions(_imports()) == []
    # ... and the check sees an import against them (the harness reaching into the server).
    wrong = {"conformance.verify.resnet": {"reference_server.servables.resnet50.labels"}}
    assert _against_the_directions(wrong) == [
        "conformance.verify.resnet -> reference_server.servables.resnet50.labels"
    ]


def test_protos_holds_the_wire_format_and_codec_only() -> None:
    modules = sorted(m for m in _imports() if m.split(".")[0] == "protos")
    assert modules == [
        "protos",
        "protos.codec",
        "protos.ms_service_pb2",
        "protos.ms_service_pb2_grpc",
    ]


def test_packages_import_only_earlier_layers() -> None:
    wrong = []
    for module, targets in _imports().items():
        mine = _package_of(module)
        if mine is None:
            continue  # the front ends (cli, plugin, api, _active, _fixtures) use every layer
        for target in targets:
            if target.split(".")[0] != "conformance":
                continue  # the directions between top-level packages: the test above
            theirs = _package_of(target)
            if theirs is None and target != "conformance":
                wrong.append(f"{module} -> {target} (a front end)")
            elif theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check above would pass vacuously if the finder missed cycles.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_the_import_reader_sees_lazy_type_only_and_relative_imports() -> None:
    # The two cycles the server once had went through these: a TYPE_CHECKING import
    # (behaviour -> dispatch) and a relative import inside a function (resnet50 model -> cache).
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import layers\n"
        "if TYPE_CHECKING:\n"
        "    from reference_server.dispatch import Dispatcher\n"
        "def build():\n"
        "    from .cache import cached_model\n"
        "    import protos.codec\n"
    )
    resnet = "reference_server.servables.resnet50"
    known = {
        "reference_server.dispatch",
        f"{resnet}.cache",
        f"{resnet}.layers",
        f"{resnet}.model",
        resnet,
        "protos.codec",
    }
    found = _targets(source, f"{resnet}.model", is_package=False, modules=known)
    assert found == known - {f"{resnet}.model", resnet}
    # In a package's __init__, "." is the package itself.
    assert _targets("from .model import x\n", resnet, True, known) == {f"{resnet}.model"}


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
