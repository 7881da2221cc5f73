"""The harness's public surfaces: every module of conformance/ says what it offers in
``__all__``, and no module takes from another module or package a name it does not offer, nor
reaches into another package's private ``_module``. Read from the source (ast), so a lazy import
inside a function counts as well."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, ast.Module]:
    return {
        _module_name(root, path): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted((root / "conformance").rglob("*.py"))
    }


def _exports(tree: ast.Module) -> list[str] | None:
    """The literal ``__all__`` of a module, None if it has none."""
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "__all__":
            value = getattr(node, "value", None)
            assert isinstance(value, ast.List | ast.Tuple), "__all__ is a literal list"
            return [ast.literal_eval(item) for item in value.elts]
    return None


def _bound(tree: ast.Module) -> set[str]:
    """The names a module binds at top level (definitions and imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                leaves = target.elts if isinstance(target, ast.Tuple) else [target]
                names |= {leaf.id for leaf in leaves if isinstance(leaf, ast.Name)}
    return names


def missing_exports(modules: dict[str, ast.Module]) -> list[str]:
    """Modules without ``__all__``, and ``__all__`` entries that name nothing there."""
    wrong = []
    for name, tree in modules.items():
        exports = _exports(tree)
        if exports is None:
            wrong.append(f"{name}: no __all__")
            continue
        wrong += [f"{name}.{e}: in __all__, not defined" for e in exports if e not in _bound(tree)]
    return wrong


def _reaches_in(importer: str, module: str) -> bool:
    """``module`` is a private ``_module`` of a package ``importer`` is not part of."""
    package, _, leaf = module.rpartition(".")
    private = leaf.startswith("_") and not leaf.startswith("__")
    return private and not (importer == package or importer.startswith(package + "."))


def imports_past_surfaces(
    importers: dict[str, ast.Module], modules: dict[str, ast.Module]
) -> list[str]:
    """``from X import name`` where X is a module of conformance/ whose ``__all__`` lacks
    ``name`` (a submodule of a package is fine), and imports of another package's private
    ``_module``."""
    wrong = []
    for name, tree in importers.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                if _reaches_in(name, node.module):
                    wrong.append(f"{name} -> {node.module} (private)")
                    continue
                offered = set(_exports(modules[node.module]) or ())
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    if alias.name not in offered and submodule not in modules:
                        wrong.append(f"{name} -> {node.module}.{alias.name} (not exported)")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _reaches_in(name, alias.name):
                        wrong.append(f"{name} -> {alias.name} (private)")
    return wrong


def test_every_module_lists_its_public_names() -> None:
    modules = _modules(ROOT)
    assert len(modules) > 60
    assert missing_exports(modules) == []


def test_no_module_imports_past_a_surface() -> None:
    modules = _modules(ROOT)
    assert imports_past_surfaces(modules, modules) == []


def test_packages_export_only_a_narrow_surface() -> None:
    # drive and reporting name what the other layers and the front ends use (48 and 31 names
    # before they were narrowed); catalogue is still wide (52: the declarations' types, the
    # option table, the requirement lookups, the errors). The errors live in one module.
    modules = _modules(ROOT)
    sizes = {p: len(_exports(modules[f"conformance.{p}"]) or ()) for p in ("drive", "reporting")}
    assert sizes["drive"] <= 36 and sizes["reporting"] <= 28, sizes
    errors = set(_exports(modules["conformance.catalogue.errors"]) or ())
    assert errors <= set(_exports(modules["conformance.catalogue"]) or ())
    for name, tree in modules.items():
        classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        strays = {c for c in classes if c.endswith(("Error", "Failure", "Failed", "Model"))}
        if name != "conformance.catalogue.errors":
            # Records of a reply, not exceptions: Failed (assertions), RpcFailure (wire) and
            # the oracle's expected Error.
            assert strays <= {"Failed", "RpcFailure", "Error"}, (name, strays)


def test_the_checks_catch_a_module_that_breaks_them(tmp_path: Path) -> None:
    # The checks above would pass vacuously if they found nothing: a small tree that breaks
    # each rule once.
    package = tmp_path / "conformance"
    (package / "drive").mkdir(parents=True)
    (package / "__init__.py").write_text("__all__: list[str] = []\n")
    (package / "drive" / "__init__.py").write_text(
        "from conformance.drive._a import shown\n__all__ = ['shown', 'ghost']\n"
    )
    (package / "drive" / "_a.py").write_text("shown = hidden = 1\n__all__ = ['shown', 'hidden']\n")
    (package / "cli.py").write_text(
        "from conformance.drive import hidden\nfrom conformance.drive._a import shown\n"
    )
    modules = _modules(tmp_path)
    assert missing_exports(modules) == [
        "conformance.cli: no __all__",
        "conformance.drive.ghost: in __all__, not defined",
    ]
    assert imports_past_surfaces(modules, modules) == [
        "conformance.cli -> conformance.drive.hidden (not exported)",
        "conformance.cli -> conformance.drive._a (private)",
    ]


def test_the_exception_tree_is_the_one_its_docstring_draws() -> None:
    from conformance.catalogue import errors

    assert errors.__doc__ is not None
    drawn: dict[str, str] = {}  # class -> its parent in the drawing
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        found = re.match(r"^([\s│]*(?:[├└]── )?)([A-Z]\w+)", line)
        if found is None or not line.strip().startswith(("Exception", "├", "└", "│")):
            continue
        depth, name = len(found.group(1)), found.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            drawn[name] = stack[-1][1]
        stack.append((depth, name))
    classes = {n: c for n, c in vars(errors).items() if isinstance(c, type)}
    assert set(drawn) == set(classes) == set(errors.__all__)
    for name, cls in classes.items():
        assert cls.__bases__[0].__name__ == drawn[name], name
    # pytest's semantics: a failed check is an AssertionError (a failed test, exit status 1).
    assert issubclass(errors.TesteeFailure, AssertionError)
    assert issubclass(errors.ClientCheckFailed, AssertionError)
    assert not issubclass(errors.OptionsError, AssertionError)


def _definitions(root: Path, name: str) -> list[str]:
    """The modules of the repository's packages that define ``name`` at top level (a class or
    a type alias)."""
    found = []
    for package in ("conformance", "reference_server", "reference_client", "protos", "tests"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.ClassDef) and node.name == name:
                    found.append(str(path.relative_to(root)))
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                        found.append(str(path.relative_to(root)))
    return found


def test_names_that_meant_two_things_mean_one() -> None:
    # Each was defined twice or three times with different meanings (or twice, identically).
    homes = {
        "Outcome": ["reference_server/registry.py"],  # the recorder's is Response
        "TLSFiles": ["conformance/drive/_tls.py"],  # tests/support's is TrustmeFiles
        "Mode": ["conformance/catalogue/declare.py"],  # hypothesis's is Exploration
        "Outputs": ["reference_server/registry.py"],  # ExpectedOutputs, ArrayLibrary
        "Level": ["conformance/catalogue/declare.py"],
    }
    assert {name: _definitions(ROOT, name) for name in homes} == homes


def test_every_module_of_the_other_packages_lists_its_public_names() -> None:
    # The same rule for the wire format, the client and the server (their generated stubs
    # aside): a module says what it offers.
    trees = {
        _module_name(ROOT, path): ast.parse(path.read_text(encoding="utf-8"))
        for package in ("protos", "reference_client", "reference_server")
        for path in sorted((ROOT / package).rglob("*.py"))
        if not path.name.endswith(("_pb2.py", "_pb2_grpc.py"))
    }
    assert len(trees) > 35
    # A package that loads its names on first use (a module __getattr__) binds them lazily.
    lazy = {
        name
        for name, tree in trees.items()
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body)
    }
    wrong = missing_exports(trees)
    undefined_in_lazy = [w for w in wrong if w.split(":")[0].rpartition(".")[0] in lazy]
    assert [w for w in wrong if w not in undefined_in_lazy] == []
