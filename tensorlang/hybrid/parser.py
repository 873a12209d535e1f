"""Translate a hybrid script's source into loop IR (``ir_builder``) inside a ``te.extern`` stage.

The script's statements map one to one: ``for v in range(a, b)`` (or ``const_range``,
``parallel``, ``vectorize``, ``unroll``, ``bind("threadIdx.x", n)``) to loops, ``if``/``else``
to branches, ``t[i, j] = e`` to stores, ``x = output_tensor(shape, dtype)`` to the stage's
outputs, ``x = allocate(shape, dtype)`` to scratch buffers, and a scalar assigned in the body to
a one-element buffer (so loops can update it).  Errors name the script, the line and the
construct at fault.
"""

from __future__ import annotations

import ast
import inspect
import operator
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from .. import te
from ..errors import ExprError
from ..ir import builder as ir_builder
from ..te.expr import PrimExpr
from ..te.tensor import Tensor

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: te.floordiv(a, b), ast.Mod: lambda a, b: te.floormod(a, b),
    ast.Pow: lambda a, b: te.power(a, b), ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: lambda a, b: a.equal(b), ast.NotEq: lambda a, b: a != b,
}
_LOOPS = {"range": "serial", "const_range": "unroll", "serial": "serial", "parallel": "parallel",
          "vectorize": "vectorize", "unroll": "unroll"}
_MATH = {"sqrt": te.sqrt, "exp": te.exp, "log": te.log, "tanh": te.tanh, "sigmoid": te.sigmoid, "sin": te.sin,
         "cos": te.cos, "floor": te.floor, "ceil": te.ceil, "abs": te.abs, "power": te.power,
         "max": te.max, "min": te.min, "select": te.if_then_else}
_CASTS = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "bool")


def _as_expr(v: Any) -> PrimExpr:
    return v if isinstance(v, PrimExpr) else te.const(v)


class _Local:
    """A scalar the script assigns: a one-element buffer."""

    def __init__(self, ptr: Any):
        self.ptr = ptr


class _Tensor:
    """A tensor the script reads or writes: its element access and its shape."""

    def __init__(self, ptr: Any, shape: Sequence[Any], dtype: Any):
        self.ptr, self.shape, self.dtype = ptr, tuple(shape), dtype


class _Translator:
    def __init__(self, name: str, first_line: int, ib: Any, symbols: dict[str, Any]):
        self.name, self.first_line, self.ib, self.symbols = name, first_line, ib, symbols
        self.returned: list[str] = []
        self.outputs: list[tuple[str, tuple, str]] = []   # declared with output_tensor, in order

    def error(self, node: ast.AST, what: str) -> ExprError:
        line = self.first_line + getattr(node, "lineno", 1) - 1
        return ExprError(f"hybrid script '{self.name}', line {line}: {what}")

    # -- statements ---------------------------------------------------------------------------
    def body(self, stmts: Sequence[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                raise self.error(node, "assign to one target at a time")
            self.assign(node.targets[0], node.value, node)
        elif isinstance(node, ast.AugAssign):
            target = node.target
            current = self.expr(target)
            self.store(target, _BINOPS[type(node.op)](current, self.expr(node.value)), node)
        elif isinstance(node, ast.For):
            self.loop(node)
        elif isinstance(node, ast.If):
            with self.ib.if_scope(self.expr(node.test)):
                self.body(node.body)
            if node.orelse:
                with self.ib.else_scope():
                    self.body(node.orelse)
        elif isinstance(node, ast.Return):
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for v in values:
                if not isinstance(v, ast.Name) or not isinstance(self.symbols.get(v.id), _Tensor):
                    raise self.error(node, "return the tensors made with output_tensor, by name")
                self.returned.append(v.id)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return   # a docstring
        elif isinstance(node, ast.Pass):
            return
        else:
            raise self.error(node, f"'{type(node).__name__}' statements are not supported in hybrid scripts")

    def assign(self, target: ast.expr, value: ast.expr, node: ast.stmt) -> None:
        if isinstance(target, ast.Name) and isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in ("output_tensor", "allocate"):
            shape, dtype, scope = self.storage_args(value)
            if value.func.id == "output_tensor":
                self.outputs.append((target.id, shape, dtype))
                self.symbols[target.id] = self.symbols["__outputs__"].pop(0)
            else:
                ptr = self.ib.allocate(dtype, shape, name=target.id, scope=scope)
                self.symbols[target.id] = _Tensor(ptr, shape, dtype)
            return
        self.store(target, self.expr(value), node)

    def storage_args(self, call: ast.Call) -> tuple[tuple, str, str]:
        """(shape, dtype, scope) of ``output_tensor(shape, dtype)`` / ``allocate(shape, dtype, scope)``."""
        args = [self.expr(a) for a in call.args]
        kwargs = {k.arg: self.expr(k.value) for k in call.keywords}
        shape = tuple(args[0] if args else kwargs["shape"])
        dtype = args[1] if len(args) > 1 else kwargs.get("dtype", "float32")
        scope = args[2] if len(args) > 2 else kwargs.get("scope", "global")
        return shape, str(dtype), scope

    def store(self, target: ast.expr, value: Any, node: ast.stmt) -> None:
        if isinstance(target, ast.Subscript):
            t = self.tensor(target.value)
            t.ptr[self.indices(target)] = value
        elif isinstance(target, ast.Name):
            sym = self.symbols.get(target.id)
            if sym is None:
                value = _as_expr(value)
                sym = _Local(self.ib.allocate(str(value.dtype), (1,), name=target.id, scope="local"))
                self.symbols[target.id] = sym
            if not isinstance(sym, _Local):
                raise self.error(node, f"cannot assign to '{target.id}' (a loop variable, argument or tensor)")
            sym.ptr[0] = value
        else:
            raise self.error(node, "assign to a name or to a tensor element")

    def loop(self, node: ast.For) -> None:
        call = node.iter
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and (call.func.id in _LOOPS or call.func.id == "bind")) or not isinstance(node.target, ast.Name):
            raise self.error(node, "loops are 'for v in range(...)' (or const_range, parallel, vectorize, unroll, "
                                   "bind(\"threadIdx.x\", n))")
        if node.orelse:
            raise self.error(node, "for ... else is not supported")
        args = [self.expr(a) for a in call.args]
        if call.func.id == "bind":
            raise self.error(node, "bind(...) loops (GPU thread binding) are not supported in hybrid scripts here; "
                                   "schedule the stage with te.compute instead")
        lo, hi = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        with self.ib.for_range(lo, hi, name=node.target.id, kind=_LOOPS[call.func.id]) as v:
            saved = self.symbols.get(node.target.id)
            self.symbols[node.target.id] = v
            self.body(node.body)
            if saved is None:
                del self.symbols[node.target.id]
            else:
                self.symbols[node.target.id] = saved

    # -- expressions --------------------------------------------------------------------------
    def tensor(self, node: ast.expr) -> _Tensor:
        if isinstance(node, ast.Name) and isinstance(self.symbols.get(node.id), _Tensor):
            return self.symbols[node.id]
        raise self.error(node, f"'{ast.unparse(node)}' is not a tensor of the script")

    def indices(self, node: ast.Subscript) -> Any:
        idx = node.slice
        parts = idx.elts if isinstance(idx, ast.Tuple) else [idx]
        values = tuple(self.expr(p) for p in parts)
        return values if len(values) > 1 else values[0]

    def expr(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.symbols:
                raise self.error(node, f"unknown name '{node.id}'")
            sym = self.symbols[node.id]
            return sym.ptr[0] if isinstance(sym, _Local) else sym
        if isinstance(node, ast.Attribute):
            base = self.expr(node.value)
            if isinstance(base, _Tensor) and node.attr in ("shape", "dtype"):
                return getattr(base, node.attr)
            raise self.error(node, f"unsupported attribute '{ast.unparse(node)}'")
        if isinstance(node, ast.Subscript):
            base = self.expr(node.value)
            if isinstance(base, _Tensor):
                return base.ptr[self.indices(node)]
            if isinstance(base, tuple):
                return base[self.expr(node.slice)]
            raise self.error(node, f"cannot index '{ast.unparse(node.value)}'")
        if isinstance(node, ast.Tuple):
            return tuple(self.expr(e) for e in node.elts)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = self.expr(node.left), self.expr(node.right)
            if not isinstance(a, PrimExpr) and not isinstance(b, PrimExpr):
                a = _as_expr(a)   # two Python numbers (a shape's extents): fold as te does
            return _BINOPS[type(node.op)](a, b)
        if isinstance(node, ast.UnaryOp):
            v = self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                return te.expr.logical_not(v)
            return ~_as_expr(v)
        if isinstance(node, ast.Compare):
            out, left = None, self.expr(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self.expr(comp)
                if type(op) not in _CMPOPS:
                    raise self.error(node, f"unsupported comparison '{ast.unparse(node)}'")
                part = _CMPOPS[type(op)](_as_expr(left), right)
                out = part if out is None else te.all(out, part)
                left = right
            return out
        if isinstance(node, ast.BoolOp):
            values = [self.expr(v) for v in node.values]
            return te.all(*values) if isinstance(node.op, ast.And) else te.any(*values)
        if isinstance(node, ast.IfExp):
            return te.if_then_else(self.expr(node.test), self.expr(node.body), self.expr(node.orelse))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            args = [self.expr(a) for a in node.args]
            if fn in _CASTS and len(args) == 1:
                return _as_expr(args[0]).astype(fn)
            if fn in _MATH:
                return _MATH[fn](*[_as_expr(a) if fn not in ("max", "min") else a for a in args])
            if fn == "len" and len(args) == 1 and isinstance(args[0], _Tensor):
                return args[0].shape[0]
            raise self.error(node, f"unknown function '{fn}' in a hybrid script")
        raise self.error(node, f"unsupported expression '{ast.unparse(node)}'")


def _parse(fn: Callable[..., Any]) -> tuple[ast.FunctionDef, int]:
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise ExprError(f"hybrid script '{fn.__name__}': its source is not available ({exc})") from None
    tree = ast.parse(textwrap.dedent("".join(lines)))
    func = tree.body[0]
    if not isinstance(func, ast.FunctionDef):
        raise ExprError(f"hybrid script '{fn.__name__}' must be a plain function (def)")
    return func, first


def build_extern(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """The stage a hybrid script declares on ``args`` (tensors, and ints or expressions)."""
    func, first = _parse(fn)
    params = [a.arg for a in func.args.args]
    if len(params) != len(args):
        raise ExprError(f"hybrid script '{fn.__name__}' takes {len(params)} arguments, got {len(args)}")
    tensors = [a for a in args if isinstance(a, Tensor)]
    # First pass: the outputs' shapes and dtypes (output_tensor may use the inputs' shapes).
    probe_syms: dict[str, Any] = {}
    for p, a in zip(params, args):
        probe_syms[p] = _Tensor(None, a.shape, a.dtype) if isinstance(a, Tensor) else a
    probe = _Translator(fn.__name__, first, ir_builder.create(), probe_syms)
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "output_tensor":
            shape, dtype, _ = probe.storage_args(node.value)
            probe.outputs.append((node.targets[0].id, shape, dtype))
    if not probe.outputs:
        raise ExprError(f"hybrid script '{fn.__name__}' declares no output_tensor")
    shapes = [s for _, s, _ in probe.outputs]
    dtypes = [d for _, _, d in probe.outputs]

    returned: list[str] = []

    def fcompute(ins: list[Any], outs: list[Any]) -> Any:
        ib = ir_builder.create()
        symbols: dict[str, Any] = {}
        it = iter(ins)
        for p, a in zip(params, args):
            if isinstance(a, Tensor):
                buf = next(it)
                symbols[p] = _Tensor(ib.buffer_ptr(buf), a.shape, a.dtype)
            else:
                symbols[p] = a
        symbols["__outputs__"] = [_Tensor(ib.buffer_ptr(o), s, d) for o, s, d in zip(outs, shapes, dtypes)]
        tr = _Translator(fn.__name__, first, ib, symbols)
        tr.body(func.body)
        if sorted(n for n, _, _ in tr.outputs) != sorted(tr.returned):
            raise tr.error(func, "return every output_tensor the script declares, by name")
        returned.extend(tr.returned)
        return ib.get()
    shape_arg = shapes[0] if len(shapes) == 1 else shapes
    made = te.extern(shape_arg, tensors, fcompute, name=fn.__name__, dtype=dtypes if len(dtypes) > 1 else dtypes[0])
    if len(shapes) == 1:
        return made
    declared = [n for n, _, _ in probe.outputs]    # the stage's outputs, in the order declared
    return [made[declared.index(n)] for n in returned]   # the tensors, in the order returned
