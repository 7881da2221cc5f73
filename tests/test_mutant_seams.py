"""The deliberately broken servers (tests/mutants) break the server through public seams only:
the steps of its Behaviour, and ReferenceServer's own methods. No private attribute is wrapped
and no module's attribute is reassigned, so the server's module layout can change freely."""

from __future__ import annotations

import ast
from pathlib import Path

from reference_server.behaviour import Behaviour

MUTANTS = Path(__file__).resolve().parent / "mutants"
# seams.py defines step() on top of around(); its own around(owner, attribute) is generic.
SEAM_TOOLS = "seams.py"


def _problems(source: str) -> list[str]:
    tree = ast.parse(source)
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    steps = {name for name in vars(Behaviour) if not name.startswith("_")}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 2:
            owner, attribute = node.args
            name = attribute.value if isinstance(attribute, ast.Constant) else None
            if node.func.id == "around" and not (
                isinstance(owner, ast.Name) and owner.id == "ReferenceServer"
            ):
                found.append(f"line {node.lineno}: around() on {ast.unparse(owner)}")
            if node.func.id in ("around", "step") and (
                not isinstance(name, str) or name.startswith("_")
            ):
                found.append(f"line {node.lineno}: {node.func.id}() on {ast.unparse(attribute)}")
            if node.func.id == "step" and name not in steps:
                found.append(f"line {node.lineno}: step() on {name!r}, not a Behaviour step")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                root = target
                while isinstance(root, ast.Attribute):
                    root = root.value
                if target is not root and isinstance(root, ast.Name) and root.id in imported:
                    found.append(f"line {node.lineno}: assigns {ast.unparse(target)}")
    return found


def test_mutants_use_public_seams_only() -> None:
    modules = sorted(p for p in MUTANTS.glob("*.py") if p.name != SEAM_TOOLS)
    assert len(modules) >= 8
    problems = [
        f"{path.name} {problem}"
        for path in modules
        for problem in _problems(path.read_text(encoding="utf-8"))
    ]
    assert problems == []


def test_the_check_sees_the_private_seams_mutants_once_used() -> None:
    # What robustness.py and transport.py did before the Behaviour's call and message_limits
    # steps existed: each is reported.
    source = (
        "from reference_server import server as server_module\n"
        "from reference_server.servicer import PredictHandler\n"
        "@around(PredictHandler, '_predict')\n"
        "def handle(original, self, bodies, context): ...\n"
        "@around(server_module.grpc, 'server')\n"
        "def server(original, *args, **kwargs): ...\n"
        "server_module.MEGABYTE = 1_000_000\n"
        "@step(behaviour, 'no_such_step')\n"
        "def other(original): ...\n"
    )
    assert sorted(_problems(source)) == [
        "line 3: around() on '_predict'",
        "line 3: around() on PredictHandler",
        "line 5: around() on server_module.grpc",
        "line 7: assigns server_module.MEGABYTE",
        "line 8: step() on 'no_such_step', not a Behaviour step",
    ]
