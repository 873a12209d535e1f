"""TVM's ``autotvm.feature``: per-loop ("itervar") and curve features of a schedule's loop nest.

The nest analysed is the schedule lowered as far as flat buffers (``ana_lower``), with the
initial stores of reductions left out, as TVM's analysis lowering leaves them out: each loop
sees the accesses of the reduction updates only, so the features of one computation have the
same shape whatever the loop order.

For every loop (in order of first appearance) a row holds:

* ``["_itervar_", var]``;
* ``["_attr_", length, nest_level, topdown, bottomup, *annotation]``: the extent, the depth
  (1 outermost), the product of the extents down to this loop, the most element touches any
  access makes below it (count x reuse), and an 11-way one-hot of how the loop runs
  (``ANNOTATIONS``);
* ``["_arith_", add, mul, div]``: floating-point operations directly inside this loop;
* per access (``"<buffer>_<n>"``, the n-th access of that buffer in program order, sorted by
  name): ``[stride, mod, count, reuse, thread_count, thread_reuse]``: the access's index stride
  along this loop (0: the loop does not move it), -1 (kept for TVM's layout), how many distinct
  positions and how many repeats the loops from this one inwards make, and the same two per
  thread of the enclosing parallel level (0 when not inside one).

``take_log`` maps each number x (but the nest level and the one-hot) to log2(x + 1), or to
-log2(-x + 1) when negative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TensorLangError
from ..ir.passes.simplify import simplify_stmt
from ..ir.stmt import For, ForKind, LetStmt, Stmt, Store
from ..lowering import lower_schedule
from ..target.target import Target
from ..te import expr as E
from ..te.functor import Visitor, contains, post_order_visit
from .record import RecordError, decode
from .task import create

ANNOTATIONS = ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z",
               "unrolled", "vectorized", "parallel", "serial", "vthread")
_KIND_ANNOTATION = {ForKind.UNROLLED: "unrolled", ForKind.VECTORIZED: "vectorized", ForKind.PARALLEL: "parallel",
                    ForKind.SERIAL: "serial"}
_ATTR_NAMES = ("length", "nest_level", "topdown", "bottomup") + tuple(f"ann_{a.replace('.', '_')}" for a in ANNOTATIONS)
_ARITH_NAMES = ("add", "mul", "div")
_TOUCH_NAMES = ("stride", "mod", "count", "reuse", "T_count", "T_reuse")


class FeatureError(TensorLangError, ValueError):
    """A schedule or log line whose features cannot be extracted."""


def ana_lower(sch: Any, args: Sequence[Any], binds: Any = None, simple_mode: bool = True) -> Stmt:
    """The loop nest the features read: ``sch`` lowered to flat buffers and simplified (no
    virtual-thread injection, unrolling or vectorization), for the current target's kind."""
    if binds:
        raise FeatureError("ana_lower: binds are not supported; pass the tensors themselves in args")
    target = Target.current()
    kind = target.kind.name if target is not None else "llvm"
    func = lower_schedule(sch, list(args), "main", target_kind=kind, until="storage_flatten", check_ir=False)
    return simplify_stmt(func.body)


# --- the analysis --------------------------------------------------------------------------------

@dataclass
class _Touch:
    """How one access moves with one loop, and how often the loops from it inwards touch it."""

    stride: int = 0
    mod: int = -1
    count: int = 1
    reuse: int = 1
    thread_count: int = 0
    thread_reuse: int = 0


@dataclass
class _Loop:
    var: E.Var
    length: int
    nest_level: int
    annotation: str
    topdown: int
    bottomup: int = -1
    arith: list[int] = field(default_factory=lambda: [0, 0, 0])
    touch: dict[str, _Touch] = field(default_factory=dict)


def _parallel_level(annotation: str) -> int:
    """2 for block indices, 1 for thread indices and parallel loops, 0 otherwise."""
    if annotation.startswith("blockIdx"):
        return 2
    return 1 if annotation.startswith("threadIdx") or annotation == "parallel" else 0


def _annotation(loop: For) -> str:
    if any(key == "virtual_thread" for key, _ in loop.annotations) or loop.thread_tag.startswith("vthread"):
        return "vthread"
    if loop.kind == ForKind.THREAD_BINDING:
        return loop.thread_tag if loop.thread_tag in ANNOTATIONS else "serial"
    return _KIND_ANNOTATION[loop.kind]


def _strides(e: E.PrimExpr, lets: dict[E.Var, E.PrimExpr]) -> dict[E.Var, int]:
    """Integer strides of the variables of an index: exact where the index is linear in them, 1
    for a variable that appears only under a non-linear operation (``x // 4``)."""
    if isinstance(e, E.Var):
        return _strides(lets[e], lets) if e in lets else {e: 1}
    if isinstance(e, (E.IntImm, E.FloatImm)):
        return {}
    if isinstance(e, (E.Add, E.Sub)):
        out = dict(_strides(e.a, lets))
        sign = 1 if isinstance(e, E.Add) else -1
        for v, c in _strides(e.b, lets).items():
            out[v] = out.get(v, 0) + sign * c
        return out
    if isinstance(e, E.Mul) and isinstance(e.b, E.IntImm):
        return {v: c * e.b.value for v, c in _strides(e.a, lets).items()}
    if isinstance(e, E.Mul) and isinstance(e.a, E.IntImm):
        return {v: c * e.a.value for v, c in _strides(e.b, lets).items()}
    if isinstance(e, E.Cast):
        return _strides(e.value, lets)
    if isinstance(e, E.Ramp):
        return _strides(e.base, lets)
    if isinstance(e, E.Broadcast):
        return _strides(e.value, lets)
    mentioned: dict[E.Var, int] = {}
    for name in e._children:
        value = getattr(e, name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, E.PrimExpr):
                mentioned.update(dict.fromkeys(_strides(child, lets), 1))
    return mentioned


def _stores(body: Stmt) -> list[Store]:
    stores: list[Store] = []

    def collect(node: Any) -> None:
        if isinstance(node, Store):
            stores.append(node)
    post_order_visit(body, collect)
    return stores


def _reduction_inits(body: Stmt) -> set[int]:
    """The ids of the stores that initialize a reduction: plain stores to a buffer that some
    other store updates in place (reads the buffer in its value)."""
    stores = _stores(body)

    def reads_itself(s: Store) -> bool:
        return contains(s.value, lambda n: isinstance(n, E.Load) and n.buffer is s.buffer)
    updated = {s.buffer for s in stores if reads_itself(s)}
    return {id(s) for s in stores if s.buffer in updated and not reads_itself(s)}


class _TouchAnalysis(Visitor):
    """Walks a flat loop nest keeping the stack of enclosing loops and what each access does."""

    def __init__(self, body: Stmt):
        super().__init__()
        self.loops: list[_Loop] = []  # every loop, in order of appearance
        self.stack: list[_Loop] = []
        self.current: dict[E.Var, _Loop] = {}  # the innermost entry of each loop variable
        self.vthreads: set[E.Var] = set()
        self.lets: dict[E.Var, E.PrimExpr] = {}
        self.accesses: dict[str, int] = {}
        self.topdown = 1
        self.skip = _reduction_inits(body)
        self.visit(body)

    def _only_inits(self, loop: For) -> bool:
        """Whether the loop holds reduction initializations and no other store (the nest of an
        initialization, which the analysis leaves out with its stores)."""
        stores = _stores(loop.body)
        return bool(stores) and all(id(n) in self.skip for n in stores)

    def visit_For(self, loop: For) -> None:
        if self.skip and self._only_inits(loop):
            return
        annotation = _annotation(loop)
        if annotation == "vthread":
            if loop.loop_var in self.vthreads:
                self.visit(loop.body)  # one virtual thread bound in several stages is one loop
                return
            self.vthreads.add(loop.loop_var)
        length = loop.extent.value if isinstance(loop.extent, E.IntImm) else -1
        self.topdown *= length
        entry = _Loop(loop.loop_var, length, len(self.stack) + 1, annotation, self.topdown)
        self.loops.append(entry)
        self.stack.append(entry)
        outer = self.current.get(loop.loop_var)
        self.current[loop.loop_var] = entry
        self.visit(loop.body)
        self._leave(entry)
        if outer is not None:
            self.current[loop.loop_var] = outer
        else:
            del self.current[loop.loop_var]

    def _leave(self, entry: _Loop) -> None:
        for key, touch in entry.touch.items():
            for loop in self.stack:  # this loop and those around it
                if touch.stride != 0:
                    loop.touch[key].count *= entry.length
                else:
                    loop.touch[key].reuse *= entry.length
        self.stack.pop()
        if entry.length:
            self.topdown //= entry.length
        entry.bottomup = max((t.count * t.reuse for t in entry.touch.values()), default=-1)
        # Across a change of parallel level (a thread loop inside a block loop, a serial loop
        # inside a thread loop), the outer level's loops get this loop's counts as their base.
        level = _parallel_level(entry.annotation)
        if self.stack and _parallel_level(self.stack[-1].annotation) == level + 1:
            for key, touch in entry.touch.items():
                for loop in self.stack:
                    if _parallel_level(loop.annotation) == level + 1:
                        loop.touch[key].thread_count = -touch.count
                        loop.touch[key].thread_reuse = -touch.reuse
        for touch in entry.touch.values():
            if touch.thread_count < 0:  # a base left by an inner level: per-thread figures
                touch.thread_count = touch.count // -touch.thread_count
                touch.thread_reuse = touch.reuse // -touch.thread_reuse

    def visit_LetStmt(self, node: LetStmt) -> None:
        self.visit(node.value)
        self.lets[node.var] = node.value
        self.visit(node.body)

    def _access(self, buffer: E.Var, index: E.PrimExpr) -> None:
        n = self.accesses.get(buffer.name, 0)
        self.accesses[buffer.name] = n + 1
        key = f"{buffer.name}_{n}"
        strides = _strides(index, self.lets)
        for loop in self.stack:
            loop.touch[key] = _Touch(stride=strides.get(loop.var, 0) if self.current.get(loop.var) is loop else 0)

    def visit_Store(self, node: Store) -> None:
        if id(node) in self.skip:
            return
        self._access(node.buffer, node.index)
        self.generic_visit(node)

    def visit_Load(self, node: E.Load) -> None:
        self._access(node.buffer, node.index)
        self.generic_visit(node)

    def _count(self, node: E.PrimExpr, slot: int) -> None:
        if self.stack and node.dtype.is_float:
            self.stack[-1].arith[slot] += 1
        self.generic_visit(node)

    def visit_Add(self, node: E.PrimExpr) -> None:
        self._count(node, 0)

    visit_Sub = visit_Add

    def visit_Mul(self, node: E.PrimExpr) -> None:
        self._count(node, 1)

    def visit_Div(self, node: E.PrimExpr) -> None:
        self._count(node, 2)

    visit_Mod = visit_FloorDiv = visit_FloorMod = visit_Div


def _log_scale(x: float) -> float:
    return -math.log2(-x + 1) if x < 0 else math.log2(x + 1)


def _analyse(sch: Any, args: Sequence[Any]) -> list[_Loop]:
    return _TouchAnalysis(ana_lower(sch, args)).loops


# --- TVM's functions -----------------------------------------------------------------------------

def get_itervar_feature(sch: Any, args: Sequence[Any], take_log: bool = False) -> list[list[list[Any]]]:
    """One row per loop of the schedule's nest (see the module docstring)."""
    trans = _log_scale if take_log else (lambda x: x)
    rows = []
    for loop in _analyse(sch, args):
        row: list[list[Any]] = [["_itervar_", loop.var]]
        row.append(["_attr_", trans(loop.length), loop.nest_level, trans(loop.topdown), trans(loop.bottomup)]
                   + [int(loop.annotation == a) for a in ANNOTATIONS])
        row.append(["_arith_", *(trans(c) for c in loop.arith)])
        for key in sorted(loop.touch):
            t = loop.touch[key]
            row.append([key, *(trans(v) for v in (t.stride, t.mod, t.count, t.reuse, t.thread_count,
                                                   t.thread_reuse))])
        rows.append(row)
    return rows


def flatten_itervar_feature(fea: Sequence[Sequence[Sequence[Any]]]) -> np.ndarray:
    """The numbers of ``get_itervar_feature``'s rows in one vector (the ``_itervar_`` entries left out)."""
    values = [v for row in fea for pair in row[1:] for v in pair[1:]]
    return np.asarray(values, dtype=np.float32)


def get_itervar_feature_flatten(sch: Any, args: Sequence[Any], take_log: bool = True) -> np.ndarray:
    """``flatten_itervar_feature(get_itervar_feature(sch, args, take_log))``."""
    return flatten_itervar_feature(get_itervar_feature(sch, args, take_log))


def get_flatten_name(fea: Any) -> list[str]:
    """Names of the flattened features, ``f<i>.<loop>.<row>.<field>``: of the rows of
    ``get_itervar_feature``, or of a tuning-log line (its config instantiated)."""
    if isinstance(fea, str):
        try:
            inp, _ = decode(fea)
        except RecordError as exc:
            raise FeatureError(f"get_flatten_name: not a tuning-log line: {exc}") from None
        target = Target(str(inp.task.target))
        task = create(inp.task.name, args=tuple(inp.task.args), target=target)
        with target:
            sch, args = task.instantiate(inp.config)
        fea = get_itervar_feature(sch, args)
    names: list[str] = []
    for row in fea:
        var = str(row[0][1])
        for pair in row[1:]:
            fields = {"_attr_": _ATTR_NAMES, "_arith_": _ARITH_NAMES}.get(pair[0], _TOUCH_NAMES)
            for name in fields[:len(pair) - 1]:
                names.append(f"f{len(names)}.{var}.{pair[0]}.{name}")
    return names


def _raw_buffer(key: str) -> str:
    """``A.local_1`` -> ``A``: the buffer an access key names, without access number and scope."""
    return key[:key.rfind("_")].split(".")[0]


def get_buffer_curve_sample_flatten(sch: Any, args: Sequence[Any], sample_n: int = 30) -> np.ndarray:
    """Curve features: for one access per buffer touched by the innermost loops, the curves
    reuse(count), count(reuse), topdown(count) and count(topdown) over the loops around it
    (log2 scale, starting at 0), each sampled at x = 0 .. sample_n - 1 as pairs (y, x - x_j)
    of the last point x_j <= x: ``sample_n * 4 * 2`` numbers per buffer, buffers by name."""
    loops = _analyse(sch, args)
    depth = max((loop.nest_level for loop in loops), default=0)
    chosen: dict[str, str] = {}  # raw buffer -> its access key, the one of the last innermost loop
    for loop in reversed(loops):
        if loop.nest_level == depth:
            for key in sorted(loop.touch):
                chosen.setdefault(_raw_buffer(key), key)
    out: list[float] = []
    for key in sorted(chosen.values()):
        points = [(0.0, 0.0, 0.0)] + [(math.log2(max(loop.touch[key].count, 1)),
                                       math.log2(max(loop.touch[key].reuse, 1)),
                                       math.log2(max(loop.topdown, 1))) for loop in loops if key in loop.touch]
        count, reuse, topdown = (np.asarray(col) for col in zip(*points))
        for xs, ys in ((count, reuse), (reuse, count), (count, topdown), (topdown, count)):
            order = np.argsort(xs, kind="stable")
            xs, ys = xs[order], ys[order]
            for i in range(sample_n):
                j = int(np.searchsorted(xs, i + 1e-6, side="right")) - 1
                out += [float(ys[j]), i - float(xs[j])]
    return np.asarray(out, dtype=np.float32)


__all__ = ["ANNOTATIONS", "FeatureError", "ana_lower", "get_itervar_feature", "flatten_itervar_feature",
           "get_itervar_feature_flatten", "get_flatten_name", "get_buffer_curve_sample_flatten"]
