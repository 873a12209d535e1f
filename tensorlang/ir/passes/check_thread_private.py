"""check_thread_private: no GPU thread reads an element of a thread-private buffer that only another thread wrote.

Guarantees: in each kernel, for every ``local`` buffer (one copy per thread: registers) and every
tensor-core fragment (``wmma.*``: one copy per warp) whose accesses it can decide, an element a
thread (warp) reads, when some other thread (warp) writes it, is written by the reading thread
(warp) too; otherwise ``check_thread_private`` raises a BuildError naming the kernel, the buffer
(its stage's name), its scope, one such element with the writing and the reading thread indices
and statements, and the thread axes the value would have to cross -- with the fixes (a
``shared`` stage, or attaching the private stage inside its reader's thread loops).  Such a
schedule is silently wrong on a GPU: the reader sees its own copy, which nobody wrote.  Where the
IR allocates the buffer does not matter: inside a thread loop it is per thread by construction,
and a thread reading an element only other threads write then reads its own never-written copy.

It decides by enumeration, exactly: each access is evaluated at every thread index of the launch,
every iteration of the loops its index or guards depend on and every vector lane, with the other
loops outside the buffer's allocation (blockIdx, which every access of one copy shares) fixed at
their first and at their last value.  The order of the accesses plays no part (a thread that
writes an element after reading it is not this check's concern).  A guard it cannot evaluate (one
that reads memory) leaves its access's points a superset: such a read is never the witness of a
refusal, and such a write only ever covers its own thread's elements.  A buffer whose writes it
cannot place (an index that reads memory, a symbolic size or extent, a pointer to the buffer
passed to a call, more than ``_MAX_POINTS`` points) is left unchecked, never refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from ...errors import BuildError
from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import children, free_vars
from ..function import PrimFunc
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store
from ..storage_scope import WMMA_SCOPES
from ..warp import WARP_SIZE
from ..wmma import FILL, LOAD, MMA, STORE

_TAGS = ("threadIdx.z", "threadIdx.y", "threadIdx.x")  # slowest to fastest in a linear thread id
_MAX_POINTS = 1 << 21  # per access and sample: beyond, the buffer is left unchecked
_MAX_SAMPLES = 8  # combinations of the fixed outer loop values tried per buffer


class _Undecided(Exception):
    """An access the check cannot enumerate: its buffer is left unchecked."""


@dataclass(frozen=True)
class _Loop:
    node: For
    tag: str  # "threadIdx.*" or "blockIdx.*" for a launch loop, "" for any other loop


@dataclass(frozen=True)
class _Cond:
    expr: PrimExpr
    holds: bool


@dataclass(frozen=True)
class _Let:
    var: Var
    value: PrimExpr


_Item = Union[_Loop, _Cond, _Let]


@dataclass
class _Access:
    write: bool
    index: PrimExpr
    predicate: PrimExpr | None
    context: tuple[_Item, ...]  # from the kernel's root down to the access
    node: Any  # the Store, Load or tensor-core call, for the message

    def text(self) -> str:
        n = self.node
        if isinstance(n, E.Load):
            return _short(f"{n.buffer.name}[{n.index}]")
        if isinstance(n, tuple):  # (a tensor-core call, the fragment buffer, its index)
            return _short(f"{n[0].name}({n[1].name}, fragment {n[2]}, ...)")
        return _short(str(n))


@dataclass
class _Private:
    alloc: Allocate
    depth: int  # the context length at the allocation: items before it stay fixed while it lives
    accesses: list[_Access] = field(default_factory=list)
    undecided: bool = False


def check_thread_private(func: PrimFunc) -> None:
    """Raise a BuildError when a kernel of ``func`` reads another thread's private element (module docstring)."""
    count = 0
    base = func.name
    stack: list[Any] = [func.body]
    while stack:
        s = stack.pop()
        if isinstance(s, For) and s.kind is ForKind.THREAD_BINDING:
            kernel = _Kernel(s, f"{base}_kernel{count}")
            count += 1
            kernel.check()
        elif isinstance(s, Stmt):
            stack.extend(reversed([c for c in children(s) if isinstance(c, Stmt)]))


# -- collecting the accesses ---------------------------------------------------------------------

def _launch(root: For) -> tuple[dict[str, int | None], bool]:
    """Each threadIdx tag of the kernel with its launch extent (the largest constant extent
    bound to it; None when one of its loops has a symbolic extent), and whether the kernel
    allocates a private buffer at all (statements only: cheap)."""
    out: dict[str, int | None] = {}
    private = False
    stack: list[Any] = [root]
    while stack:
        s = stack.pop()
        if isinstance(s, For) and s.kind is ForKind.THREAD_BINDING and s.thread_tag in _TAGS:
            old = out.get(s.thread_tag, 0)
            if old is not None:
                out[s.thread_tag] = max(old, s.extent.value) if isinstance(s.extent, IntImm) else None
        elif isinstance(s, Allocate) and (s.scope == "local" or s.scope in WMMA_SCOPES):
            private = True
        stack.extend(c for c in children(s) if isinstance(c, Stmt))
    return out, private


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _Kernel:
    """The private buffers of one kernel and every access to them, each with its context."""

    def __init__(self, root: For, name: str):
        self.name = name
        self.launch, private = _launch(root)
        self.buffers: dict[Var, _Private] = {}
        if private and self.launch:
            self._stmt(root, ())

    def _stmt(self, s: Any, ctx: tuple[_Item, ...]) -> None:
        if isinstance(s, SeqStmt):
            for c in s.seq:
                self._stmt(c, ctx)
        elif isinstance(s, For):
            self._expr(s.min, ctx)
            self._expr(s.extent, ctx)
            tag = s.thread_tag if s.kind is ForKind.THREAD_BINDING and \
                s.thread_tag.startswith(("threadIdx", "blockIdx")) else ""
            self._stmt(s.body, (*ctx, _Loop(s, tag)))
        elif isinstance(s, IfThenElse):
            self._expr(s.condition, ctx)
            self._stmt(s.then_case, (*ctx, _Cond(s.condition, True)))
            if s.else_case is not None:
                self._stmt(s.else_case, (*ctx, _Cond(s.condition, False)))
        elif isinstance(s, LetStmt):
            self._expr(s.value, ctx)
            self._stmt(s.body, (*ctx, _Let(s.var, s.value)))
        elif isinstance(s, Allocate):
            self._expr(s.extent, ctx)
            if s.scope == "local" or s.scope in WMMA_SCOPES:
                self.buffers[s.buffer] = _Private(s, len(ctx))
            self._stmt(s.body, ctx)
        elif isinstance(s, Store):
            self._expr(s.value, ctx)
            self._expr(s.index, ctx)
            if s.predicate is not None:
                self._expr(s.predicate, ctx)
            self._record(s.buffer, True, s.index, s.predicate, ctx, s)
        elif isinstance(s, Evaluate) and isinstance(s.value, E.Call) and s.value.name in (FILL, LOAD, MMA, STORE):
            self._wmma(s.value, ctx)
        else:
            for c in children(s):
                if isinstance(c, Stmt):
                    self._stmt(c, ctx)
                else:
                    self._expr(c, ctx)

    def _record(self, buf: Var, write: bool, index: PrimExpr, predicate: PrimExpr | None,
                ctx: tuple[_Item, ...], node: Any) -> None:
        priv = self.buffers.get(buf)
        if priv is not None:
            priv.accesses.append(_Access(write, index, predicate, ctx, node))

    def _wmma(self, call: E.Call, ctx: tuple[_Item, ...]) -> None:
        """A fragment is written by fill/load and by an mma's ``d``, read by an mma's a, b, c and by a store."""
        args = call.args
        if call.name == MMA and len(args) == 8:
            roles = [(args[0], args[1], True), (args[2], args[3], False), (args[4], args[5], False),
                     (args[6], args[7], False)]
            rest: Sequence[Any] = ()
        elif call.name != MMA and len(args) >= 5:
            roles = [(args[0], args[4], call.name in (FILL, LOAD))]
            rest = args[1:4] + args[5:]
        else:
            self._expr(call, ctx)
            return
        for buf, index, write in roles:
            self._expr(index, ctx)
            if isinstance(buf, Var):
                self._record(buf, write, index, None, ctx, (call, buf, index))
            else:
                self._expr(buf, ctx)
        for a in rest:
            self._expr(a, ctx)

    def _expr(self, e: Any, ctx: tuple[_Item, ...]) -> None:
        stack: list[tuple[Any, tuple[_Item, ...]]] = [(e, ctx)]
        while stack:
            n, c = stack.pop()
            t = type(n)
            if t is E.Load:
                self._record(n.buffer, False, n.index, n.predicate, c, n)
                stack.append((n.index, c))
                if n.predicate is not None:
                    stack.append((n.predicate, c))
            elif t is Var:
                if n in self.buffers:  # a pointer to it (access_ptr, a call argument): undecidable
                    self.buffers[n].undecided = True
            elif not t._children:
                continue
            elif t is E.Select or (t is E.Call and n.name == "if_then_else" and len(n.args) == 3):
                cond, then, other = (n.condition, n.true_value, n.false_value) if t is E.Select else n.args
                # Only the chosen branch is evaluated: its reads happen under the condition.
                stack += [(cond, c), (then, (*c, _Cond(cond, True))), (other, (*c, _Cond(cond, False)))]
            elif t is E.Let:
                stack += [(n.value, c), (n.body, (*c, _Let(n.var, n.value)))]
            elif t is E.Call and n.name == "address_of" and n.args and type(n.args[0]) is E.Load:
                if n.args[0].buffer in self.buffers:  # a pointer to one element
                    self.buffers[n.args[0].buffer].undecided = True
                stack.append((n.args[0].index, c))
            else:
                stack.extend((x, c) for x in children(n))

    # -- deciding -----------------------------------------------------------------------------

    def check(self) -> None:
        for priv in self.buffers.values():
            if priv.undecided or not any(a.write for a in priv.accesses) or all(a.write for a in priv.accesses):
                continue
            try:
                _Decide(self, priv).run()
            except _Undecided:
                continue


class _Decide:
    """Enumerate the accesses of one private buffer and look for a read of another thread's element."""

    def __init__(self, kernel: _Kernel, priv: _Private):
        self.kernel, self.priv = kernel, priv
        self.fragment = priv.alloc.scope in WMMA_SCOPES
        self.outer = priv.accesses[0].context[:priv.depth]
        # The thread indices to enumerate, and the owner's id made of them: a local buffer's
        # owner is its thread (the indices its accesses are bound under: along the others
        # every thread does the same); a fragment's is its warp, a range of linear thread ids
        # over every index of the launch.  A thread loop around the allocation counts too: on a
        # GPU each thread has its copy wherever the IR allocates it, so a thread reading an
        # element only another one writes reads its own copy, never written.
        seen = {it.tag for a in priv.accesses for it in a.context if isinstance(it, _Loop)}
        self.tags = [t for t in _TAGS if t in kernel.launch and (self.fragment or t in seen)]
        if any(kernel.launch[t] is None for t in self.tags):
            raise _Undecided

    def run(self) -> None:
        if not self.tags:
            return  # every thread runs every access alike
        for env in self._samples():
            self._check_sample(env)

    def _samples(self) -> list[dict[Var, Any]]:
        """Values of the loops around the allocation other than thread loops (blockIdx, serial):
        every access of one copy of the buffer shares them; each is tried at its first and its
        last value (only the first once ``_MAX_SAMPLES`` combinations are reached)."""
        needed: set[Var] = set()
        for a in self.priv.accesses:
            needed |= _uses(a)
        for it in reversed(self.outer):
            if isinstance(it, _Let) and it.var in needed:
                needed |= free_vars(it.value)
            elif isinstance(it, _Loop) and it.node.loop_var in needed:
                needed |= free_vars(it.node.min) | free_vars(it.node.extent)
        envs: list[dict[Var, Any]] = [{}]
        for it in self.outer:
            if isinstance(it, _Loop) and it.tag not in _TAGS and it.node.loop_var in needed:
                out = []
                for env in envs:
                    lo, ext = _scalar(it.node.min, env), _scalar(it.node.extent, env)
                    if ext <= 0:
                        continue
                    ends = [lo] if ext == 1 or len(envs) * 2 > _MAX_SAMPLES else [lo, lo + ext - 1]
                    out += [{**env, it.node.loop_var: v} for v in ends]
                envs = out
        return envs

    def _check_sample(self, env0: dict[Var, Any]) -> None:
        extent = self.priv.alloc.extent
        size = extent.value * self.priv.alloc.dtype.lanes if isinstance(extent, IntImm) else None
        writes, exact_writes, reads = [], [], []
        for a in self.priv.accesses:
            try:
                tid, elem, exact = self._points(a, env0)
            except _Undecided:
                if a.write:
                    raise  # it may write any element: nothing can be concluded
                continue  # a read it cannot place proves nothing either way
            keep = (elem >= 0) if size is None or self.fragment else (elem >= 0) & (elem < size)
            point = (a, tid[keep], elem[keep])
            if a.write:
                writes.append(point)
                if exact:
                    exact_writes.append(point)
            elif exact:
                reads.append(point)
        if not exact_writes or not reads:
            return
        # A read is wrong where its thread never writes the element (even maybe: all writes
        # count) but another thread surely does (exact writes only).
        span = 1 + max((int(p[2].max()) for p in writes + reads if p[2].size), default=0)
        w_codes = np.unique(np.concatenate([p[1] * span + p[2] for p in writes]))
        written = np.unique(np.concatenate([p[2] for p in exact_writes]))
        for a, tid, elem in reads:
            if not elem.size:
                continue
            bad = ~np.isin(tid * span + elem, w_codes) & np.isin(elem, written)
            if bad.any():
                k = int(np.argmax(bad))
                self._report(a, int(tid[k]), int(elem[k]), exact_writes, env0)

    def _points(self, a: _Access, env0: dict[Var, Any]) -> tuple[np.ndarray, np.ndarray, bool]:
        """(thread or warp id, element) of every point where ``a`` may touch the buffer, and
        whether it surely does at each (False when a guard could not be evaluated and was left
        out: the points are then a superset)."""
        depth = self.priv.depth
        # The loops, lets and guards whose values matter: what the index, the predicate and the
        # conditions use, and what the bounds and values of those use in turn.
        relevant = free_vars(a.index) | (free_vars(a.predicate) if a.predicate is not None else set())
        for k, it in enumerate(a.context):
            if isinstance(it, _Cond):
                relevant |= free_vars(it.expr)
            elif isinstance(it, _Loop) and k >= depth and \
                    not (isinstance(it.node.extent, IntImm) and it.node.extent.value > 0):
                relevant |= free_vars(it.node.extent)  # may be empty: its emptiness guards the access
        for it in reversed(a.context):
            if isinstance(it, _Let) and it.var in relevant:
                relevant |= free_vars(it.value)
            elif isinstance(it, _Loop) and it.node.loop_var in relevant:
                relevant |= free_vars(it.node.min) | free_vars(it.node.extent)
        grid = _Grid()
        env: dict[Var, Any] = dict(env0)
        h = {t: grid.axis(self.kernel.launch[t]) for t in self.tags}  # type: ignore[arg-type]
        lanes = a.index.dtype.lanes
        lane = grid.axis(lanes) if lanes > 1 else None
        mask: Any = True
        exact = True
        for k, it in enumerate(a.context):
            if isinstance(it, _Loop):
                node = it.node
                if it.tag in _TAGS:
                    if it.tag in h:  # else no access depends on it: every thread does the same
                        env[node.loop_var] = _value(node.min, env) + h[it.tag]
                        mask = mask & (h[it.tag] < _value(node.extent, env))
                elif k < depth:
                    continue  # sampled (when anything depends on it)
                elif it.tag:
                    raise _Undecided  # a blockIdx loop inside a kernel's private buffer
                elif node.loop_var in relevant:
                    ext = _value(node.extent, env)
                    i = grid.axis(int(np.max(ext)))
                    env[node.loop_var] = _value(node.min, env) + i
                    mask = mask & (i < ext)
                elif not (isinstance(node.extent, IntImm) and node.extent.value > 0):
                    mask = mask & (_value(node.extent, env) > 0)
            elif isinstance(it, _Cond):
                try:
                    c = _value(it.expr, env, lane)
                except _Undecided:  # a data-dependent guard: the access may happen at each point
                    exact = False
                    continue
                mask = mask & (c if it.holds else ~np.asarray(c, dtype=bool))
            elif isinstance(it, _Let) and it.var in relevant:
                try:
                    env[it.var] = _value(it.value, env, lane)
                except _Undecided:
                    pass  # a value read from memory: what uses it is undecided in turn
        index = _value(a.index, env, lane)
        if a.predicate is not None:
            mask = mask & _value(a.predicate, env, lane)
        tid: Any = 0
        for t in self.tags:
            tid = tid * self.kernel.launch[t] + h[t]
        if self.fragment:
            tid = tid // WARP_SIZE
        shape = grid.shape()
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), shape)
        return (np.broadcast_to(np.asarray(tid, dtype=np.int64), shape)[mask],
                np.broadcast_to(np.asarray(index, dtype=np.int64), shape)[mask], exact)

    # -- the message ----------------------------------------------------------------------------

    def _threads(self, tid: int) -> dict[str, int]:
        """The thread indices of linear id ``tid`` (of a warp's first thread, for fragments)."""
        if self.fragment:
            tid *= WARP_SIZE
        out: dict[str, int] = {}
        for t in reversed(self.tags):
            n = self.kernel.launch[t]
            out[t] = tid % n  # type: ignore[operator]
            tid //= n  # type: ignore[operator]
        return {t: out[t] for t in self.tags}

    def _who(self, tid: int) -> str:
        values = ", ".join(f"{t}={v}" for t, v in self._threads(tid).items())
        return f"warp {tid} (its first thread {values})" if self.fragment else f"thread {values}"

    def _where(self, a: _Access, tags: Iterable[str]) -> str:
        loops = {it.tag: it.node.loop_var.name for it in a.context if isinstance(it, _Loop) and it.tag in _TAGS}
        parts = [f"loop {loops[t]} bound to {t}" if t in loops else f"every {t} (no loop of it is bound to {t})"
                 for t in tags]
        return f"`{a.text()}`, in " + " and ".join(parts)

    def _report(self, read: _Access, t_r: int, elem: int, writes: list, env0: dict[Var, Any]) -> None:
        t_w, write = -1, writes[0][0]
        for a, tid, el in writes:
            other = tid[(el == elem) & (tid != t_r)]
            if other.size:
                t_w, write = int(other[0]), a
                break
        who_w, who_r = self._threads(t_w), self._threads(t_r)
        crossed = [t for t in self.tags if who_w[t] != who_r[t]]
        axes = " and ".join(crossed)
        scope = self.priv.alloc.scope
        name = self.priv.alloc.buffer.name
        at = ", ".join(f"{v.name}={val}" for v, val in env0.items())
        unit, owner = ("fragment", "warp") if self.fragment else ("element", "thread")
        head = (f"kernel {self.kernel.name}: buffer {name} (scope '{scope}') is read by another {owner} than the "
                f"one that writes it, across {axes}: {unit} {elem} is written by {self._who(t_w)} in "
                f"{self._where(write, crossed)}, and read by {self._who(t_r)} in {self._where(read, crossed)}"
                f"{f' (at {at})' if at else ''}. ")
        if self.fragment:
            raise BuildError(
                head + "A tensor-core fragment lives in the registers of one warp, so on a GPU the reading warp "
                "sees its own copy, which it never wrote: garbage, silently. compute_at stage "
                f"{name} inside the loops its reader binds to {axes}, or bind its own loops as its reader binds "
                "them, so that each warp computes the fragments it reads")
        raise BuildError(
            head + "A 'local' buffer lives in each thread's registers, so on a GPU the reading thread sees its "
            "own copy, which it never wrote: garbage, silently. Use scope 'shared' for values that threads "
            "exchange (cache_read/cache_write/set_scope with \"shared\"; the barriers are added), or compute_at "
            f"stage {name} inside the loop its reader binds to {axes}, so that each thread computes the "
            "elements it reads")


def _uses(a: _Access) -> set[Var]:
    """The variables the access's index, predicate and context use."""
    out = free_vars(a.index) | (free_vars(a.predicate) if a.predicate is not None else set())
    for it in a.context:
        if isinstance(it, _Cond):
            out |= free_vars(it.expr)
        elif isinstance(it, _Loop):
            out |= free_vars(it.node.min) | free_vars(it.node.extent)
        else:
            out |= free_vars(it.value)
    return out


class _Grid:
    """Axes of a broadcast grid of points: each new axis is an ``arange`` along its own dimension."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def axis(self, n: int) -> np.ndarray:
        n = max(int(n), 0)
        total = n
        for s in self.sizes:
            total *= s
        if total > _MAX_POINTS:
            raise _Undecided
        self.sizes.append(n)
        # Axis k is dimension -(k+1): arrays made before it broadcast along it unchanged.
        return np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (len(self.sizes) - 1))

    def shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.sizes))


def _scalar(e: PrimExpr, env: dict[Var, Any]) -> int:
    v = np.asarray(_value(e, env))
    if v.ndim:
        raise _Undecided
    return int(v)


def _trunc_div(a: Any, b: Any) -> Any:
    if np.any(np.asarray(b) == 0):
        raise _Undecided
    q = np.abs(a) // np.abs(b)
    return np.where((np.asarray(a) < 0) != (np.asarray(b) < 0), -q, q)


_BINARY = {
    E.Add: lambda a, b: a + b, E.Sub: lambda a, b: a - b, E.Mul: lambda a, b: a * b,
    E.Min: np.minimum, E.Max: np.maximum,
    E.EQ: lambda a, b: a == b, E.NE: lambda a, b: a != b, E.LT: lambda a, b: a < b,
    E.LE: lambda a, b: a <= b, E.GT: lambda a, b: a > b, E.GE: lambda a, b: a >= b,
    E.And: np.logical_and, E.Or: np.logical_or,
}


def _value(e: PrimExpr, env: dict[Var, Any], lane: Any = None) -> Any:
    """``e`` over the grid: an int64 or bool numpy value; _Undecided for what is not integer
    arithmetic on known variables (a load, a call, a float, an unknown variable)."""
    t = type(e)
    if t is IntImm:
        return np.int64(e.value) if not e.dtype.is_bool else np.bool_(e.value)
    if t is Var:
        if e not in env:
            raise _Undecided
        return env[e]
    fn = _BINARY.get(t)
    if fn is not None:
        return fn(_value(e.a, env, lane), _value(e.b, env, lane))
    if t in (E.FloorDiv, E.FloorMod, E.Div, E.Mod):
        if e.dtype.is_float:
            raise _Undecided
        a, b = _value(e.a, env, lane), _value(e.b, env, lane)
        if np.any(np.asarray(b) == 0):
            raise _Undecided
        if t is E.FloorDiv:
            return np.floor_divide(a, b)
        if t is E.FloorMod:
            return np.mod(a, b)
        q = _trunc_div(a, b)
        return q if t is E.Div else a - b * q
    if t is E.Not:
        return np.logical_not(_value(e.a, env, lane))
    if t is E.Select:
        return np.where(_value(e.condition, env, lane), _value(e.true_value, env, lane),
                        _value(e.false_value, env, lane))
    if t is E.Cast:
        if e.dtype.is_float or e.value.dtype.is_float:
            raise _Undecided
        v = _value(e.value, env, lane)
        return np.asarray(v) != 0 if e.dtype.is_bool else np.asarray(v, dtype=np.int64)
    if t is E.Call:
        if e.name in ("likely", "tl.likely") and len(e.args) == 1:
            return _value(e.args[0], env, lane)
        if e.name == "if_then_else" and len(e.args) == 3:
            return np.where(*(_value(x, env, lane) for x in e.args))
        raise _Undecided
    if t is E.Ramp:
        if lane is None or e.lanes != lane.size:
            raise _Undecided
        return _value(e.base, env) + _value(e.stride, env) * lane
    if t is E.Broadcast:
        if lane is None or e.lanes != lane.size:
            raise _Undecided
        return _value(e.value, env)
    if t is E.Let:
        return _value(e.body, {**env, e.var: _value(e.value, env, lane)}, lane)
    raise _Undecided
