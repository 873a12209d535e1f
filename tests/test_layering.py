"""The import graph of tensorlang/ keeps its layering (README, "Layers"): every import, at module
or function level, is read from the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tensorlang"

# Lower rank = lower layer; a module may import only modules of its own or a lower rank.
# Packages not listed (added later) are not ranked, but the other rules still hold for them.
RANKS = {
    "tensorlang.errors": 0,
    "tensorlang.te": 1,
    "tensorlang.arith": 2,
    "tensorlang.ir": 3,
    "tensorlang.schedule": 3,
    "tensorlang.lowering": 4,
    "tensorlang.target": 5,
    "tensorlang.runtime": 6,
    "tensorlang.build_module": 6,
    "tensorlang.autotune": 7,
    "tensorlang.autoschedule": 7,
    "tensorlang.cli": 8,
}
# Upward imports that are deliberate, each with its reason.
ALLOWED_UPWARD = {
    ("tensorlang.te", "tensorlang.schedule"): "te.create_schedule for TVM users, resolved on first use",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import of tensorlang code."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("tensorlang")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tensorlang"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub, "", node.lineno) if sub in known else (target, alias.name, node.lineno))
    return found


def _graph() -> dict[str, list[tuple[str, str, int]]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _rank(module: str) -> tuple[str, int] | None:
    for prefix, rank in RANKS.items():
        if module == prefix or module.startswith(prefix + "."):
            return prefix, rank
    return None


def test_no_lower_layer_imports_a_higher_one():
    bad = []
    for mod, imports in _graph().items():
        mine = _rank(mod)
        for target, _, line in imports:
            theirs = _rank(target)
            if mine and theirs and theirs[1] > mine[1] and (mine[0], theirs[0]) not in ALLOWED_UPWARD:
                bad.append(f"{mod}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_ir_never_imports_schedule():
    bad = [f"{mod}:{line} imports {target}" for mod, imports in _graph().items() if mod.startswith("tensorlang.ir")
           for target, _, line in imports if target.startswith("tensorlang.schedule")]
    assert not bad, "\n".join(bad)


def test_no_private_name_imported_from_another_package():
    bad = []
    for mod, imports in _graph().items():
        home = mod if (PACKAGE.parent / (mod.replace(".", "/") + "/__init__.py")).exists() else mod.rpartition(".")[0]
        for target, name, line in imports:
            private = name.startswith("_") and not name.startswith("__") or \
                target.rpartition(".")[2].startswith("_") and not target.endswith("__")
            there = target if (PACKAGE.parent / (target.replace(".", "/") + "/__init__.py")).exists() \
                else target.rpartition(".")[0]
            if private and there != home:
                bad.append(f"{mod}:{line} imports {name or target} from {target}")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_inside_target():
    graph = {mod: {t for t, _, _ in imports if t.startswith("tensorlang.target") and t != mod}
             for mod, imports in _graph().items() if mod.startswith("tensorlang.target")}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_function_level_and_relative_imports():
    graph = _graph()
    assert "tensorlang.target.llvm.build" in {t for t, _, _ in graph["tensorlang.target.llvm"]}  # in build_func
    assert "tensorlang.schedule" in {t for t, _, _ in graph["tensorlang.te"]}  # "from .. import schedule"
