"""The import graph of tensorlang/ keeps its layering (README, "Layers"): every import, at module
or function level, is read from the source with ``ast``."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tensorlang"

# One worker reads the package's sources (4-5 s) for all of these tests, not each pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("layering")

# Lower rank = lower layer; a module may import only modules of its own or a lower rank.
# Packages not listed (added later) are not ranked, but the other rules still hold for them.
RANKS = {
    "tensorlang.errors": 0,
    "tensorlang.te": 1,
    "tensorlang.arith": 2,
    "tensorlang.ir": 3,
    "tensorlang.schedule": 3,
    "tensorlang.lowering": 4,
    "tensorlang.hybrid": 4,
    "tensorlang.autodiff": 3,
    "tensorlang.target": 5,
    "tensorlang.runtime": 6,
    "tensorlang.rpc": 6,
    "tensorlang.build_module": 6,
    "tensorlang.contrib": 6,
    "tensorlang.autotune": 7,
    "tensorlang.autoschedule": 7,
    "tensorlang.topi": 8,
    "tensorlang.testing": 8,
    "tensorlang.cli": 9,
}
# Upward imports that are deliberate, each with its reason.
ALLOWED_UPWARD = {
    ("tensorlang.te", "tensorlang.schedule"): "te.create_schedule for TVM users, resolved on first use",
    ("tensorlang.schedule", "tensorlang.lowering"): "te.schedule.ScheduleOps for TVM users, resolved on first use",
    ("tensorlang.te", "tensorlang.autodiff"): "te.gradient for TVM users, resolved on first use",
    ("tensorlang.te", "tensorlang.build_module"): "te.create_prim_func for TVM users, resolved on first use",
    ("tensorlang.te", "tensorlang.ir"): "tir.Buffer.vstore returns a loop-IR Store, as in TVM, resolved on first use",
    ("tensorlang.hybrid", "tensorlang.target"): "hybrid's max_num_threads() reads the current target, on first use",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache  # each test reads the same sources: parse them once (a full parse is ~1 s)
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _statements(tree: ast.AST):
    """Every statement of ``tree``, at any depth (imports are statements: the expressions, most of
    a module's nodes, need no walk; a full ast.walk of the package took 3 s)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                todo.extend(block)


def _imports(name: str, path: Path, known: set[str], tree: ast.AST | None = None) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import of tensorlang code (in ``tree``,
    by default the whole module)."""
    is_package = path.name == "__init__.py"
    found = []
    for node in _statements(tree or _parse(path)):
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


@functools.cache
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


# Third-party packages a function may import where it needs them: heavy or optional.
DEFERRED_PACKAGES = {"xgboost", "sklearn", "llvmlite", "cuda", "pycuda", "ray", "tqdm", "matplotlib", "rich",
                     "jsonschema", "cupy", "torch",
                     "pytest"}  # tensorlang.testing's TVM test decorators: users of the package need no pytest
# Function-level imports of tensorlang modules that break no import cycle, each with its reason.
DEFERRED = {
    ("tensorlang.te", "tensorlang.schedule"): "te.create_schedule for TVM users: upward, so resolved on first use",
    ("tensorlang.te", "tensorlang.autodiff.gradient"): "te.gradient for TVM users: upward, so resolved on first use",
    ("tensorlang.te", "tensorlang.build_module"): "te.create_prim_func for TVM users: upward, so resolved on first use",
    ("tensorlang.te.extern", "tensorlang.ir.stmt"): "tir.Buffer.vstore returns a loop-IR Store for TVM users: upward",
    ("tensorlang.hybrid.parser", "tensorlang.target.target"): "max_num_threads() reads the current target: upward",
    ("tensorlang.schedule.bound_map", "tensorlang.lowering.schedule_ops"):
        "te.schedule.ScheduleOps for TVM users: upward",
    ("tensorlang.runtime.ndarray", "tensorlang.target.cuda.runtime"):
        "Device.exist for a GPU: `import tensorlang` does not load the CUDA backend",
    ("tensorlang.target.llvm", "tensorlang.target.llvm.build"): "llvmlite, on the first build",
    ("tensorlang.target.llvm", "tensorlang.target.llvm.engine"): "llvmlite, on the first load of a saved .ll/.bc",
    ("tensorlang.target.llvm.target", "tensorlang.target.llvm.host"): "llvmlite, once a target is really made",
    ("tensorlang.target.llvm.target", "tensorlang.target.llvm.cpu_features"): "llvmlite, once a target is really made",
    ("tensorlang.target.cuda", "tensorlang.target.cuda.emulate"): "llvmlite, on the first emulated build",
    ("tensorlang.target.cuda", "tensorlang.target.cuda.build"):
        "code generation and the NVRTC/driver bindings, on the first build: parsing a CUDA target stays cheap",
    ("tensorlang.target.cuda", "tensorlang.target.cuda.runtime"): "the NVRTC/driver bindings, on the first load",
}


@functools.cache
def _module_level_graph() -> dict[str, set[str]]:
    """The modules each module names in imports that run when it is imported (not in functions or
    TYPE_CHECKING blocks)."""
    mods = _modules()
    return {name: {t for t, _, _ in _imports_in(name, path, set(mods), _module_level_nodes(path))} - {name}
            for name, path in mods.items()}


def _module_level_nodes(path: Path) -> list[ast.AST]:
    out = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                out.append(node)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])

    visit(_parse(path).body)
    return out


def _function_level_nodes(path: Path) -> list[ast.AST]:
    return [node for fn in ast.walk(_parse(path))
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))]


def _imports_in(name: str, path: Path, known: set[str], nodes: list[ast.AST]) -> list[tuple[str, str, int]]:
    tree = ast.Module(body=list(nodes), type_ignores=[])
    return _imports(name, path, known, tree)


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_function_level_imports_break_a_cycle_or_defer_something_heavy():
    """An import inside a function must break a real import cycle, defer a heavy or optional package
    (DEFERRED_PACKAGES), or be listed in DEFERRED with its reason; else it belongs at the top.
    autotune/ and cli.py had their own pass and are not checked yet."""
    mods = _modules()
    graph = _module_level_graph()
    bad = []
    for name, path in mods.items():
        if name.startswith(("tensorlang.autotune", "tensorlang.cli")):
            continue
        nodes = _function_level_nodes(path)
        for node in nodes:
            if isinstance(node, ast.Import) or not node.level:
                roots = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad += [f"{name}:{node.lineno} imports {r} in a function" for r in roots
                        if not r.startswith("tensorlang") and r.split(".")[0] not in DEFERRED_PACKAGES]
        for target, _, line in _imports_in(name, path, set(mods), nodes):
            target = target if target in mods else target.rpartition(".")[0]
            if (name, target) in DEFERRED or _reaches(graph, target, name):
                continue
            bad.append(f"{name}:{line} imports {target} in a function, which breaks no cycle")
    assert not bad, "move these imports to the top of their module, or list them in DEFERRED with the reason:\n" + \
        "\n".join(bad)
