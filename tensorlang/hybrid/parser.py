"""Translate a hybrid script's source into loop IR (``ir_builder``) inside a ``te.extern`` stage.

The script's statements map one to one: ``for v in range(a, b[, step])`` (or ``parallel``,
``vectorize``, ``unroll``) to loops, ``const_range`` with constant bounds to copies of its body
(the loop variable a constant in each, as TVM unrolls it), ``if``/``else`` to branches (a
constant condition keeps one side), ``t[i, j] = e`` to stores, ``x = output_tensor(shape,
dtype)`` to the stage's outputs, ``x = allocate(shape, dtype)`` to scratch buffers, ``y = f(x)``
of another hybrid script to its body inlined, and a scalar assigned in the body to a
one-element buffer (so loops can update it).

Scoping follows TVM: a name assigned once to a value that reads no memory (a number, a shape,
``i * 2``) is that value; other locals and buffers live in the innermost loop (or unrolled
iteration) around their first assignment, so a scalar assigned in both branches of an ``if`` is
usable after it, and one used after its loop is refused.  Names the script does not define are
read from its closure and module globals when they are numbers (or tuples/lists of numbers).

Errors name the script, the line and the construct at fault; where the compiled code and the
Python emulation would disagree (an int local given a float, ``int / int``, a 2-D tensor read
with one index) the script is refused rather than compiled.
"""

from __future__ import annotations

import ast
import inspect
import numbers
import operator
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import te
from ..arith import Analyzer
from ..errors import ExprError, TensorLangError
from ..ir import builder as ir_builder
from ..ir.stmt import Allocate
from ..ir.storage_scope import STORAGE_SCOPES
from ..te import expr as E
from ..te.dtype import HANDLE, DType, as_dtype
from ..te.expr import FloatImm, IntImm, Load, PrimExpr, Var
from ..te.functor import post_order_visit
from ..te.numeric import check_fits
from ..te.tensor import Range, Tensor

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: te.floordiv(a, b), ast.Mod: lambda a, b: te.floormod(a, b),
    ast.Pow: lambda a, b: te.power(a, b), ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
# Operators on two Python ints computed exactly, as Python does (floor division and modulo are
# te's floordiv/floormod); zero divisors and negative powers and shifts are left to te's checks.
_EXACT_INT_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_DIVISIONS = (ast.FloorDiv, ast.Mod)
_NEEDS_NATURAL = (ast.Pow, ast.LShift, ast.RShift)
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: lambda a, b: a.equal(b), ast.NotEq: lambda a, b: a != b,
}
_LOOPS = {"range": "serial", "const_range": "unroll", "serial": "serial", "parallel": "parallel",
          "vectorize": "vectorize", "unroll": "unroll"}
_MATH = {"sqrt": te.sqrt, "rsqrt": te.rsqrt, "exp": te.exp, "log": te.log, "tanh": te.tanh, "sigmoid": te.sigmoid,
         "sin": te.sin, "cos": te.cos, "floor": te.floor, "ceil": te.ceil, "abs": te.abs, "power": te.power,
         "max": te.max, "min": te.min, "select": te.if_then_else, "popcount": te.popcount,
         "likely": te.likely, "ceil_div": te.ceildiv}
_CASTS = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "bool")
_MAX_INLINE_DEPTH = 16   # scripts calling scripts: deeper than this is taken for recursion


def _as_expr(v: Any) -> PrimExpr:
    return v if isinstance(v, PrimExpr) else te.const(v)


def _const_int(v: Any) -> int | None:
    """``v`` as a Python int when it is an integer constant (Python, numpy or IntImm)."""
    if isinstance(v, (numbers.Integral, np.integer, np.bool_)):
        return int(v)
    if isinstance(v, IntImm):
        return int(v.value)
    return None


def _python_int(v: Any) -> bool:
    """A Python (or numpy) integer that is not a bool."""
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _small_result(op: type, a: int, b: int) -> bool:
    """Whether ``a op b`` has at most a few hundred bits (2 ** 10 ** 9 would take minutes)."""
    if op is ast.Pow:
        return abs(a) <= 1 or b * max(abs(a).bit_length(), 1) <= 256
    if op is ast.LShift:
        return b <= 256
    return True


def _const_bool(v: Any) -> bool | None:
    """The truth of a constant condition (a folded comparison, a number), else None."""
    if isinstance(v, (bool, np.bool_, numbers.Number, np.number)):
        return bool(v)
    if isinstance(v, (IntImm, FloatImm)):
        return bool(v.value)
    return None


def _is_integral(v: Any) -> bool:
    if isinstance(v, PrimExpr):
        return v.dtype.is_int or v.dtype.is_bool
    return isinstance(v, (numbers.Integral, np.integer, np.bool_))


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (PrimExpr, numbers.Number, np.number, np.bool_))


def _reads_memory(v: Any) -> bool:
    """True when an expression loads from a buffer (its value may change between uses)."""
    if not isinstance(v, PrimExpr):
        return False
    found: list[bool] = []
    post_order_visit(v, lambda n: found.append(True) if isinstance(n, Load) else None)
    return bool(found)


def _is_fixed_value(v: Any) -> bool:
    """A value a once-assigned name can stand for: numbers, expressions that read no memory,
    tensors, and tuples/lists of these."""
    if isinstance(v, (list, tuple)):
        return all(_is_fixed_value(x) for x in v)
    if isinstance(v, _Tensor):
        return True
    return _is_scalar(v) and not _reads_memory(v)


def _widens(got: DType, want: DType) -> bool:
    """True when every value of ``got`` is exactly a value of ``want`` (a safe widening)."""
    if got.lanes != 1 or want.lanes != 1:
        return False
    if got.is_bool:
        return want.is_int
    if got.is_int and want.is_int:
        if got.is_signed == want.is_signed:
            return want.bits > got.bits
        return not got.is_signed and want.bits > got.bits   # uint8 -> int16, never int -> uint
    if got.is_float and want.is_float:
        return want.bits > got.bits
    if got.is_int and want.is_float:   # the integer fits the float's mantissa
        return got.bits < {16: 11, 32: 24, 64: 53}.get(want.bits, 0)
    return False


def max_num_threads(allow_none: Any = True) -> int:
    """The current target's threads per block (TVM's hybrid ``max_num_threads``).  Without a
    target it is an error whatever ``allow_none`` says (TVM's then reads an attribute of None)."""
    # hybrid sits below target in the layers: an upward import, resolved when a script asks
    from ..target.target import Target
    target = Target.current()
    if target is None:
        raise ExprError("max_num_threads(): no target is set; call the script inside "
                        "'with tvm.target.Target(\"cuda\"):'")
    try:
        return int(target.max_num_threads)
    except AttributeError as exc:
        raise ExprError(f"max_num_threads(): {exc}") from None


class _Local:
    """A scalar the script assigns more than once: a one-element buffer."""

    def __init__(self, ptr: Any, dtype: DType, name: str, line: int):
        self.ptr, self.dtype, self.name, self.line = ptr, dtype, name, line


class _Tensor:
    """A tensor the script reads or writes: its element access, shape and name."""

    def __init__(self, ptr: Any, shape: Sequence[Any], dtype: Any, name: str = "tensor"):
        self.ptr, self.shape, self.dtype, self.name = ptr, tuple(shape), dtype, name


@dataclass
class _Scope:
    """A loop body (or the script): where its locals are allocated, and which they are."""

    frame: int                 # the builder frame the scope's allocations wrap
    line: int                  # the loop's line (0 for the script's top level)
    names: list[str] = field(default_factory=list)


class _Builder(ir_builder.IRBuilder):
    """The IR builder with allocations placed at the start of an enclosing frame, so a local
    first assigned inside an ``if`` is in scope for the rest of its loop body."""

    def frame(self) -> int:
        return len(self._stack) - 1

    def allocate_at(self, frame: int, dtype: str, shape: Sequence[Any], name: str, scope: str) -> Any:
        """Scratch storage wrapping all of ``frame`` (the wrapper goes first: it wraps what follows)."""
        size: Any = 1
        for d in shape:
            size = size * d
        var = Var(name, HANDLE)
        self._stack[frame].insert(0, lambda body: Allocate(var, as_dtype(dtype), E.convert(size), scope, body))
        return ir_builder.BufferPtr(self, var, dtype, tuple(E.convert(d) for d in shape))


_MISSING = object()


class _Translator:
    """One script's statements into ``ib``; ``make_output`` says what ``output_tensor`` makes
    (the stage's buffers, stand-ins while probing, or scratch when the script is inlined)."""

    def __init__(self, fn: Callable[..., Any], func: ast.FunctionDef, first_line: int, ib: _Builder,
                 symbols: dict[str, Any], make_output: Callable[[_Translator, str, tuple, str], _Tensor],
                 analyzer: Analyzer | None = None, frame: int = 0, depth: int = 0):
        self.fn, self.func, self.name, self.first_line = fn, func, fn.__name__, first_line
        self.ib, self.symbols, self.make_output = ib, symbols, make_output
        self.analyzer = analyzer if analyzer is not None else Analyzer()
        self.scopes = [_Scope(frame, 0)]
        self.depth = depth                         # how deeply this script is inlined
        self.nesting = 0                           # loops and ifs around the current statement
        self.expired: dict[str, int] = {}          # local -> the line of the loop it lived in
        self.returned: list[str] = []
        self.outputs: list[tuple[str, tuple, str]] = []   # declared with output_tensor, in order
        self.stores = _store_counts(func)
        self.launched: dict[str, int] = {}         # GPU index -> the line of the bind loop running on it

    def run(self) -> None:
        """Translate the whole body and check that it returns its outputs."""
        self.body(self.func.body)
        if sorted(n for n, _, _ in self.outputs) != sorted(self.returned):
            raise self.error(self.func, "return every output_tensor the script declares, by name")

    def error(self, node: ast.AST, what: str) -> ExprError:
        return ExprError(f"hybrid script '{self.name}', line {self.line(node)}: {what}")

    def line(self, node: ast.AST) -> int:
        return self.first_line + getattr(node, "lineno", 1) - 1

    # -- scopes -------------------------------------------------------------------------------
    @contextmanager
    def scope(self, node: ast.stmt) -> Iterator[None]:
        """A loop body: locals first assigned in it are allocated in it and forgotten after it."""
        sc = _Scope(self.ib.frame(), self.line(node))
        self.scopes.append(sc)
        self.nesting += 1
        try:
            yield
        finally:
            self.nesting -= 1
            self.scopes.pop()
            for n in sc.names:
                self.symbols.pop(n, None)
                self.expired[n] = sc.line

    def declare(self, name: str, value: Any) -> None:
        self.symbols[name] = value
        self.scopes[-1].names.append(name)
        self.expired.pop(name, None)

    # -- statements ---------------------------------------------------------------------------
    def body(self, stmts: Sequence[ast.stmt]) -> None:
        for s in stmts:
            if self.returned:
                raise self.error(s, "statements after 'return' never run in Python; end the script with the return")
            self.stmt(s)

    def stmt(self, node: ast.stmt) -> None:
        """One statement; an error from below it gets the script's name and the line."""
        try:
            self._stmt(node)
        except TensorLangError as exc:
            if str(exc).startswith("hybrid script '"):
                raise
            raise self.error(node, str(exc)) from exc
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            raise self.error(node, f"{type(exc).__name__}: {exc}") from exc

    def _stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                raise self.error(node, "assign to one target at a time")
            self.assign(node.targets[0], node.value, node)
        elif isinstance(node, ast.AugAssign):
            target = node.target
            current = self.expr(target)
            self.store(target, self.binop(type(node.op), current, self.expr(node.value), node), node)
        elif isinstance(node, ast.For):
            self.loop(node)
        elif isinstance(node, ast.If):
            self.branch(node)
        elif isinstance(node, ast.Assert):
            self.check_assert(node)
        elif isinstance(node, ast.Return):
            if self.nesting:
                # Python would leave the script early; the compiled loop would run on.
                raise self.error(node, "return the outputs at the end of the script, not inside a loop or if")
            if node.value is None:
                raise self.error(node, "return the tensors made with output_tensor, by name")
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
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            fn = value.func.id
            if fn in ("output_tensor", "allocate") and fn not in self.symbols:
                if not isinstance(target, ast.Name):
                    raise self.error(node, f"assign {fn}(...) to a name")
                self.storage(target.id, fn, value, node)
                return
            script = self.script_called(fn)
            if script is not None:
                self.inline(script, target, value, node)
                return
        if isinstance(target, ast.Tuple):
            raise self.error(node, "assign to one name or tensor element at a time (unpacking is only for "
                                   "the outputs of a called hybrid script)")
        self.store(target, self.expr(value), node)

    def storage(self, name: str, fn: str, call: ast.Call, node: ast.stmt) -> None:
        """``name = output_tensor(...)`` or ``name = allocate(...)``."""
        shape, dtype, scope = self.storage_args(call)
        if any(_reads_memory(d) for d in shape):
            raise self.error(node, f"the shape of '{name}' reads a tensor or a reassigned local; shapes are "
                                   "numbers, arguments and shapes of tensors")
        for d in shape:
            # numpy refuses these at run time; the compiled stage would allocate from them
            if not _is_integral(d) or isinstance(d, (bool, np.bool_)):
                raise self.error(node, f"the shape of '{name}' has the extent {d!r}, not an integer")
            if _const_int(d) is not None and _const_int(d) < 0:
                raise self.error(node, f"the shape of '{name}' has the negative extent {_const_int(d)}")
        if fn == "allocate" and scope not in STORAGE_SCOPES:
            raise self.error(node, f"allocate(...) of '{name}': unknown storage scope {scope!r} (known: "
                                   f"{', '.join(STORAGE_SCOPES)})")
        if name in self.symbols:
            raise self.error(node, f"'{name}' is already defined; give the {fn} a new name")
        if fn == "output_tensor":
            if self.nesting:
                raise self.error(node, "declare output_tensor at the top level of the script, not in a loop or if")
            self.outputs.append((name, shape, dtype))
            self.declare(name, self.make_output(self, name, shape, dtype))
        else:
            ptr = self.ib.allocate_at(self.scopes[-1].frame, dtype, shape, name, scope)
            self.declare(name, _Tensor(ptr, shape, dtype, name))

    def storage_args(self, call: ast.Call) -> tuple[tuple, str, str]:
        """(shape, dtype, scope) of ``output_tensor(shape, dtype)`` / ``allocate(shape, dtype, scope)``."""
        args = [self.expr(a) for a in call.args]
        kwargs = {k.arg: self.expr(k.value) for k in call.keywords}
        raw = args[0] if args else kwargs.get("shape")
        if not isinstance(raw, (tuple, list)):
            raise self.error(call, f"the shape of {ast.unparse(call.func)}(...) is a tuple, got {raw!r}")
        shape = tuple(raw)
        dtype = args[1] if len(args) > 1 else kwargs.get("dtype", "float32")
        scope = args[2] if len(args) > 2 else kwargs.get("scope", "global")
        return shape, str(dtype), scope

    def store(self, target: ast.expr, value: Any, node: ast.stmt) -> None:
        if isinstance(target, ast.Subscript):
            t = self.expr(target.value)
            if not isinstance(t, _Tensor):
                raise self.error(node, f"'{ast.unparse(target.value)}' is not a tensor of the script")
            value = self.scalar(value, node)
            known = _const_int(value) if not isinstance(value, (bool, np.bool_)) else None
            if known is not None and as_dtype(str(t.dtype)).is_int:
                # Python's store raises OverflowError; the compiled one would wrap the number.
                check_fits(known, as_dtype(str(t.dtype)), f"'{ast.unparse(node)}': the number")
            t.ptr[self.indices(t, target)] = value
        elif isinstance(target, ast.Name):
            self.store_name(target.id, value, node)
        else:
            raise self.error(node, "assign to a name or to a tensor element")

    def store_name(self, name: str, value: Any, node: ast.stmt) -> None:
        sym = self.symbols.get(name, _MISSING)
        if sym is _MISSING:
            if self.stores.get(name, 0) == 1 and _is_fixed_value(value):
                # Assigned once to a value that cannot change: the name stands for it (TVM's
                # constant variables), so it can size buffers and bound const_range loops.
                self.declare(name, value)
                return
            e = _as_expr(self.scalar(value, node))
            ptr = self.ib.allocate_at(self.scopes[-1].frame, str(e.dtype), (1,), name, "local")
            self.declare(name, _Local(ptr, e.dtype, name, self.line(node)))
            ptr[0] = e
            return
        if not isinstance(sym, _Local):
            raise self.error(node, f"cannot assign to '{name}' (a loop variable, argument, tensor or a name "
                                   "assigned once before)")
        sym.ptr[0] = self.local_value(sym, value, node)

    def scalar(self, value: Any, node: ast.stmt) -> Any:
        if not _is_scalar(value):
            what = "a tensor" if isinstance(value, _Tensor) else type(value).__name__
            raise self.error(node, f"cannot store {what} as a scalar value")
        return value

    def local_value(self, sym: _Local, value: Any, node: ast.stmt) -> Any:
        """``value`` for the local ``sym``: its dtype, a safe widening, or a literal it holds
        exactly.  Anything else is refused: the store would convert (an int local truncates a
        float) while the Python emulation rebinds the name to the new type."""
        want = sym.dtype
        lit = value
        if isinstance(value, (IntImm, FloatImm)):
            lit = bool(value.value) if value.dtype.is_bool else value.value
        if not isinstance(lit, PrimExpr):
            self.scalar(lit, node)
            if isinstance(lit, (bool, np.bool_)):
                ok = want.is_bool or want.is_int
            elif isinstance(lit, (numbers.Integral, np.integer)):
                ok = want.is_int or want.is_float
            else:
                ok = want.is_float
            if ok:
                return te.const(lit, str(want)) if not want.is_bool else te.const(bool(lit))
            got_type = "float32" if isinstance(lit, (float, np.floating)) else type(lit).__name__
            got = "a float"
        else:
            if value.dtype == want or _widens(value.dtype, want):
                return value
            got_type = str(value.dtype)
            got = f"a {got_type}"
        hint = f"'{sym.name} = 0.0'" if got_type == "float32" else f"'{sym.name} = {got_type}(0)'"
        raise self.error(node, f"'{sym.name}' is {want} (first assigned at line {sym.line}) but is assigned "
                               f"{got} value here; the compiled code would convert it to {want} while Python "
                               f"keeps the new type. Give the first assignment the type the value needs, "
                               f"e.g. {hint}, or cast the value ({want}(...))")

    # -- loops and branches -------------------------------------------------------------------
    def loop(self, node: ast.For) -> None:
        call = node.iter
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and (call.func.id in _LOOPS or call.func.id == "bind")) or not isinstance(node.target, ast.Name):
            raise self.error(node, "loops are 'for v in range(...)' (or const_range, parallel, vectorize, unroll, "
                                   "bind(\"threadIdx.x\", n))")
        if node.orelse:
            raise self.error(node, "for ... else is not supported")
        if call.func.id == "bind":
            self.bind_loop(node, call)
            return
        if call.keywords or not 1 <= len(call.args) <= 3:
            raise self.error(node, f"{call.func.id}() takes 1 to 3 positional arguments (start, stop, step)")
        args = [self.expr(a) for a in call.args]
        for a in args:
            if not _is_integral(a):
                raise self.error(node, f"loop bounds are integers, got '{a}' in '{ast.unparse(call)}'")
        lo, hi = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        step = _const_int(args[2]) if len(args) == 3 else 1
        if step is None:
            raise self.error(node, f"the step of '{ast.unparse(call)}' must be a constant integer")
        if step == 0:
            raise self.error(node, f"the step of '{ast.unparse(call)}' is zero")
        name, kind = node.target.id, _LOOPS[call.func.id]
        c_lo, c_hi = _const_int(lo), _const_int(hi)
        if call.func.id == "const_range" and c_lo is not None and c_hi is not None:
            # TVM unrolls const_range as it parses: the variable is a constant in each copy,
            # so it can index lists (b[j]) and decide branches.
            for value in range(c_lo, c_hi, step):
                with self.ib.new_scope(), self.scope(node), self.bound(name, value):
                    self.body(node.body)
            return
        if step == 1:
            with self.ib.for_range(lo, hi, name=name, kind=kind) as v:
                self.analyzer.bind(v, Range(lo, _as_expr(hi) - lo))
                with self.scope(node), self.bound(name, v):
                    self.body(node.body)
            return
        # A step other than 1: loop over the trip count k, the variable being start + step * k.
        if c_lo is not None and c_hi is not None:
            trips: Any = len(range(c_lo, c_hi, step))
        else:
            span = (_as_expr(hi) - lo) if step > 0 else (_as_expr(lo) - hi)
            trips = te.max(te.floordiv(span + (abs(step) - 1), abs(step)), 0)
        with self.ib.for_range(0, trips, name=f"{name}.k", kind=kind) as k:
            self.analyzer.bind(k, Range(0, trips))
            with self.scope(node), self.bound(name, k * step + lo):
                self.body(node.body)

    def bind_loop(self, node: ast.For, call: ast.Call) -> None:
        """TVM's ``for tx in bind("threadIdx.x", n):`` the body runs on GPU index ``tx`` over
        [0, n): a thread-bound loop, as ``ir_builder.scope_attr(..., "thread_extent", n)`` makes."""
        tags = ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z")
        if call.keywords or len(call.args) != 2 or not isinstance(call.args[0], ast.Constant) \
                or call.args[0].value not in tags:
            raise self.error(node, f"bind takes a GPU index name ({', '.join(tags)}) and an extent: "
                                   f"bind(\"threadIdx.x\", n); got '{ast.unparse(call)}'")
        extent = self.expr(call.args[1])
        if not _is_integral(extent):
            raise self.error(node, f"the extent of '{ast.unparse(call)}' must be an integer, got '{extent}'")
        tag = call.args[0].value
        if tag in self.launched:
            # One GPU index cannot run two nested loops: the kernel would read it for both.
            raise self.error(node, f"'{ast.unparse(call)}' is inside the loop at line {self.launched[tag]}, which "
                                   f"runs on {tag} already; bind it to another index")
        axis = te.thread_axis(tag, name=node.target.id)
        self.launched[tag] = self.line(node)
        try:
            with self.ib.new_scope():
                self.ib.scope_attr(axis, "thread_extent", extent)
                self.analyzer.bind(axis.var, Range(0, extent))
                with self.scope(node), self.bound(node.target.id, axis.var):
                    self.body(node.body)
        finally:
            del self.launched[tag]

    @contextmanager
    def bound(self, name: str, value: Any) -> Iterator[None]:
        """``name`` is a loop variable (``value``) inside the block."""
        saved = self.symbols.get(name, _MISSING)
        self.symbols[name] = value
        try:
            yield
        finally:
            if saved is _MISSING:
                self.symbols.pop(name, None)
            else:
                self.symbols[name] = saved

    def branch(self, node: ast.If) -> None:
        test = self.expr(node.test)
        known = _const_bool(test)
        if known is not None:
            # A constant condition (an unrolled variable, a number): only the side taken is
            # translated, as TVM does, so the other may index past a list's end.
            self.body(node.body if known else node.orelse)
            return
        cond = _as_expr(test)
        self.nesting += 1
        try:
            with self.ib.if_scope(cond), self.analyzer.constraint_scope(cond):
                self.body(node.body)
            if node.orelse:
                with self.ib.else_scope():
                    self.body(node.orelse)
        finally:
            self.nesting -= 1

    def check_assert(self, node: ast.Assert) -> None:
        """``assert cond, msg``: TVM checks it at run time.  Compiled code here has no run-time
        assert, so it is accepted only where the loop bounds prove it (it can never fail)."""
        test = self.expr(node.test)
        known = _const_bool(test)
        if known is True:
            return
        if known is None:
            parts: list[PrimExpr] = []
            stack = [_as_expr(test)]
            while stack:
                e = stack.pop()
                if isinstance(e, E.And):
                    stack.extend((e.a, e.b))
                else:
                    parts.append(e)
            if all(self.analyzer.can_prove(p) for p in parts):
                return
        msg = f" ({ast.unparse(node.msg)})" if node.msg is not None else ""
        raise self.error(node, f"cannot prove 'assert {ast.unparse(node.test)}'{msg} from the loop bounds; "
                               "compiled hybrid scripts have no run-time assert, so only asserts that always "
                               "hold are accepted: check the inputs before the call, or remove the assert "
                               "(the Python emulation still runs it)")

    # -- calls to other scripts ---------------------------------------------------------------
    def script_called(self, fn: str) -> Any:
        """The hybrid script ``fn`` names (from the closure or globals), else None."""
        if fn in self.symbols:
            return None
        obj = _captured(self.fn, fn)
        return obj if getattr(obj, "hybrid_function", None) is not None else None

    def inline(self, script: Any, target: ast.expr, call: ast.Call, node: ast.stmt) -> None:
        """``y = other_script(args)``: the callee's body here, its outputs scratch buffers (TVM
        inlines a called script the same way)."""
        callee = script.hybrid_function
        if self.depth >= _MAX_INLINE_DEPTH:
            raise self.error(node, f"hybrid scripts call each other more than {_MAX_INLINE_DEPTH} deep "
                                   f"(a recursive call to '{callee.__name__}'?)")
        if call.keywords:
            raise self.error(node, f"pass the arguments of '{callee.__name__}' by position")
        args = [self.expr(a) for a in call.args]
        func, first = _parse(callee)
        params = [a.arg for a in func.args.args]
        if len(params) != len(args):
            raise self.error(node, f"hybrid script '{callee.__name__}' takes {len(params)} arguments, "
                                   f"got {len(args)}")
        child = _Translator(callee, func, first, self.ib, dict(zip(params, args)), _inline_output,
                            self.analyzer, self.scopes[-1].frame, self.depth + 1)
        child.launched = dict(self.launched)   # the callee runs inside the caller's bind loops
        try:
            child.run()
        except TensorLangError as exc:
            raise ExprError(f"{exc} (inlined at hybrid script '{self.name}', line {self.line(node)})") from exc
        results = [child.symbols[n] for n in child.returned]
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(n, ast.Name) for n in names) or len(names) != len(results):
            raise self.error(node, f"'{callee.__name__}' returns {len(results)} tensor(s): assign them to as "
                                   "many names")
        for n, r in zip(names, results):
            if n.id in self.symbols:
                raise self.error(node, f"'{n.id}' is already defined; name the result of "
                                       f"'{callee.__name__}' anew")
            self.declare(n.id, r)

    # -- expressions --------------------------------------------------------------------------
    def indices(self, t: _Tensor, node: ast.Subscript) -> Any:
        """The index of ``t[...]``, one per dimension (a missing index would read another element
        of the flattened buffer, so a count that differs is refused)."""
        idx = node.slice
        if isinstance(idx, ast.Slice) or (isinstance(idx, ast.Tuple) and any(isinstance(p, ast.Slice)
                                                                             for p in idx.elts)):
            raise self.error(node, f"slices are not supported: index '{t.name}' one element at a time")
        parts = idx.elts if isinstance(idx, ast.Tuple) else [idx]
        if not t.shape and not parts:
            return 0   # a 0-d tensor's one element: t[()], as numpy (TVM's shape functions use it)
        if len(parts) != len(t.shape):
            hint = f": index it as '{t.name}[()]'" if not t.shape else ""
            raise self.error(node, f"tensor '{t.name}' has {len(t.shape)} dimension(s) but "
                                   f"'{ast.unparse(node)}' gives {len(parts)} index(es){hint}")
        values = tuple(self.expr(p) for p in parts)
        for v in values:
            if not _is_integral(v):
                raise self.error(node, f"index '{ast.unparse(node)}' of '{t.name}' is not an integer")
        return values if len(values) > 1 else values[0]

    def lookup(self, node: ast.Name) -> Any:
        name = node.id
        if name in self.symbols:
            sym = self.symbols[name]
            return sym.ptr[0] if isinstance(sym, _Local) else sym
        if name in self.expired:
            raise self.error(node, f"'{name}' is used outside the loop at line {self.expired[name]} that assigns "
                                   "it (a local lives in the loop where it is first assigned, as in TVM); "
                                   "assign it before that loop")
        value = _captured(self.fn, name)
        if value is _MISSING:
            raise self.error(node, f"unknown name '{name}'")
        try:
            return _constant(value)
        except ExprError as exc:
            raise self.error(node, f"'{name}' from the script's enclosing scope is {exc}; hybrid scripts can "
                                   "use int, float and bool constants (and tuples or lists of them) from "
                                   "there, or take it as an argument") from None

    def binop(self, op: type, a: Any, b: Any, node: ast.AST) -> Any:
        if op not in _BINOPS:
            raise self.error(node, f"the operator '{op.__name__}' is not supported in hybrid scripts")
        if op is ast.Div and _is_integral(a) and _is_integral(b):
            # TVM refuses it as ambiguous; C truncation here against Python's true division
            # in the emulation would give two answers.
            raise self.error(node, f"'/' between two integers ('{ast.unparse(node)}') is ambiguous: use '//' "
                                   "(floor division), or cast one side to a float for a true division")
        if op in (ast.LShift, ast.RShift) and _python_int(b) and b < 0:
            raise self.error(node, f"negative shift count in '{ast.unparse(node)}' (Python raises ValueError)")
        if _python_int(a) and _python_int(b) and op in _EXACT_INT_OPS and (b != 0 or op not in _DIVISIONS) \
                and (b >= 0 or op not in _NEEDS_NATURAL) and _small_result(op, a, b):
            # Exactly, as the emulation computes: te would fold in int32 and wrap (2 ** 40 is 0),
            # where Python's store of the true value raises OverflowError.
            return _EXACT_INT_OPS[op](a, b)
        if not isinstance(a, PrimExpr) and not isinstance(b, PrimExpr):
            a = _as_expr(a)   # two Python numbers (a shape's extents): fold as te does
        return _BINOPS[op](a, b)

    def expr(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node)
        if isinstance(node, ast.Attribute):
            base = self.expr(node.value)
            if isinstance(base, _Tensor) and node.attr in ("shape", "dtype"):
                return getattr(base, node.attr)
            raise self.error(node, f"unsupported attribute '{ast.unparse(node)}'")
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.expr(e) for e in node.elts)
        if isinstance(node, ast.BinOp):
            return self.binop(type(node.op), self.expr(node.left), self.expr(node.right), node)
        if isinstance(node, ast.UnaryOp):
            v = self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                known = _const_bool(v)
                return (not known) if known is not None else E.logical_not(v)
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
            test = self.expr(node.test)
            known = _const_bool(test)
            if known is not None:
                return self.expr(node.body if known else node.orelse)
            return te.if_then_else(test, self.expr(node.body), self.expr(node.orelse))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node)
        raise self.error(node, f"unsupported expression '{ast.unparse(node)}'")

    def subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        if isinstance(base, _Tensor):
            return base.ptr[self.indices(base, node)]
        if not isinstance(base, (tuple, list)):
            raise self.error(node, f"cannot index '{ast.unparse(node.value)}'")
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(p, ast.Slice) for p in parts):
            raise self.error(node, f"slices are not supported: index '{ast.unparse(node.value)}' with integers")
        for p in parts[:-1]:   # b[i, j] of a nested list is b[i][j]
            base = self.list_item(base, self.expr(p), node)
            if not isinstance(base, (tuple, list)):
                raise self.error(node, f"'{ast.unparse(node)}' has more indices than the list has levels")
        return self.list_item(base, self.expr(parts[-1]), node)

    def list_item(self, base: Sequence[Any], idx: Any, node: ast.Subscript) -> Any:
        """``base[idx]`` of a list (a captured constant, or an argument list of tensors or numbers)."""
        k = _const_int(idx)
        if k is not None:
            if not -len(base) <= k < len(base):
                raise self.error(node, f"index {k} is out of range for '{ast.unparse(node.value)}' "
                                       f"({len(base)} elements)")
            return base[k]
        if not (isinstance(idx, PrimExpr) and _is_integral(idx)) or not base \
                or not all(_is_scalar(x) for x in base):
            raise self.error(node, f"index '{ast.unparse(node.value)}' with a constant (a number or a "
                                   "const_range loop variable); a variable index selects only among numbers")
        # A list of numbers indexed by a loop variable: a chain of selects, once the index is
        # known to stay inside the list (Python would raise IndexError past its end).
        if not self.analyzer.can_prove(te.all(idx >= 0, idx < len(base))):
            raise self.error(node, f"cannot prove that the index '{idx}' stays within the "
                                   f"{len(base)} elements of '{ast.unparse(node.value)}'")
        values = [_as_expr(x) for x in base]
        if any(v.dtype.is_float for v in values):
            values = [v if v.dtype.is_float else v.astype("float32") for v in values]
        out = values[-1]
        for j in range(len(values) - 2, -1, -1):
            out = te.if_then_else(idx.equal(j), values[j], out)
        return out

    def call(self, node: ast.Call) -> Any:
        fn = node.func.id
        if node.keywords:
            raise self.error(node, f"'{fn}(...)' takes positional arguments in a hybrid script")
        args = [self.expr(a) for a in node.args]
        if fn in _CASTS and len(args) == 1:
            return _as_expr(args[0]).astype(fn)
        if fn == "round" and len(args) == 1:
            return args[0] if _is_integral(args[0]) else te.round(_as_expr(args[0]))
        if fn in ("abs", "max", "min") and args and all(_python_int(a) for a in args):
            # exactly, as the emulation computes them: abs(-2 ** 31) fits no int32
            return {"abs": abs, "max": max, "min": min}[fn](*args)
        if fn in _MATH:
            return _MATH[fn](*[_as_expr(a) if fn not in ("max", "min") else a for a in args])
        if fn == "len" and len(args) == 1:
            if isinstance(args[0], _Tensor):
                return args[0].shape[0]
            if isinstance(args[0], (tuple, list)):
                return len(args[0])
        if fn == "max_num_threads" and len(args) <= 1:
            return max_num_threads(*[_const_bool(a) for a in args])
        if fn in ("inf", "ninf") and len(args) == 1:
            return te.max_value(str(args[0])) if fn == "inf" else te.min_value(str(args[0]))
        if self.script_called(fn) is not None:
            raise self.error(node, f"call the hybrid script '{fn}' as a statement of its own ('out = {fn}(...)'), "
                                   "not inside an expression")
        raise self.error(node, f"unknown function '{fn}' (with {len(args)} argument(s)) in a hybrid script")


def _store_counts(func: ast.FunctionDef) -> dict[str, int]:
    """How many statements assign each name (loop targets aside)."""
    loop_targets = {id(n.target) for n in ast.walk(func) if isinstance(n, ast.For)}
    counts: dict[str, int] = {}
    for n in ast.walk(func):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in loop_targets:
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _captured(fn: Callable[..., Any], name: str) -> Any:
    """What ``name`` means in ``fn``'s closure or module globals (``_MISSING`` if nothing)."""
    code = fn.__code__
    if name in code.co_freevars and fn.__closure__:
        try:
            return fn.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:   # a cell not filled yet
            return _MISSING
    return fn.__globals__.get(name, _MISSING)


def _constant(value: Any) -> Any:
    """A captured value as the script sees it; anything but numbers (and lists of them) is refused."""
    if isinstance(value, (bool, numbers.Number)) and not isinstance(value, complex):
        return value
    if isinstance(value, np.generic) and isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, (IntImm, FloatImm)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(_constant(v) for v in value)
    raise ExprError(f"a {type(value).__name__}")


def _inline_output(tr: _Translator, name: str, shape: tuple, dtype: str) -> _Tensor:
    ptr = tr.ib.allocate_at(tr.scopes[-1].frame, dtype, shape, name, "global")
    return _Tensor(ptr, shape, dtype, name)


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


def has_tensor(value: Any) -> bool:
    """True when ``value`` is a tensor or a list/tuple holding one (the script is compiled)."""
    if isinstance(value, Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(has_tensor(v) for v in value)


def _tensors_of(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_of(v)]
    return []


def _bind_arg(value: Any, name: str, ib: _Builder, bufs: Iterator[Any] | None) -> Any:
    """An argument as the script sees it: tensors become element access to their buffer (a
    stand-in handle while probing), lists stay lists, numbers stay numbers."""
    if isinstance(value, Tensor):
        if bufs is None:
            ptr = ir_builder.BufferPtr(ib, Var(name, HANDLE), value.dtype, tuple(value.shape))
        else:
            ptr = ib.buffer_ptr(next(bufs))
        return _Tensor(ptr, value.shape, value.dtype, name)
    if isinstance(value, (list, tuple)):
        return [_bind_arg(v, f"{name}[{k}]", ib, bufs) for k, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _probe_output(tr: _Translator, name: str, shape: tuple, dtype: str) -> _Tensor:
    ptr = ir_builder.BufferPtr(tr.ib, Var(name, HANDLE), dtype, tuple(E.convert(d) for d in shape))
    return _Tensor(ptr, shape, dtype, name)


def build_extern(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """The stage a hybrid script declares on ``args`` (tensors, lists of tensors or numbers,
    ints or expressions)."""
    func, first = _parse(fn)
    params = [a.arg for a in func.args.args]
    if len(params) != len(args):
        raise ExprError(f"hybrid script '{fn.__name__}' takes {len(params)} arguments, got {len(args)}")
    tensors = [t for a in args for t in _tensors_of(a)]
    # First pass, on stand-in buffers: the outputs' shapes and dtypes, and every error the
    # script has, before te.extern is asked for a stage.
    ib = _Builder()
    probe = _Translator(fn, func, first, ib, {p: _bind_arg(a, p, ib, None) for p, a in zip(params, args)},
                        _probe_output)
    probe.run()
    if not probe.outputs:
        raise ExprError(f"hybrid script '{fn.__name__}' declares no output_tensor")
    # The stage's outputs are in the order the script returns them, as TVM's HybridOp
    # (op.output(k) is the k-th returned tensor, whatever order output_tensor declared them in).
    declared = {n: (s, d) for n, s, d in probe.outputs}
    shapes = [declared[n][0] for n in probe.returned]
    dtypes = [declared[n][1] for n in probe.returned]

    def fcompute(ins: list[Any], outs: list[Any]) -> Any:
        ib = _Builder()
        bufs = iter(ins)
        symbols = {p: _bind_arg(a, p, ib, bufs) for p, a in zip(params, args)}
        by_name = {n: _Tensor(ib.buffer_ptr(o), *declared[n], n) for o, n in zip(outs, probe.returned)}
        tr = _Translator(fn, func, first, ib, symbols, lambda _tr, name, shape, dtype: by_name[name])
        tr.run()
        return ib.get()
    shape_arg = shapes[0] if len(shapes) == 1 else shapes
    made = te.extern(shape_arg, tensors, fcompute, name=fn.__name__, dtype=dtypes if len(dtypes) > 1 else dtypes[0])
    ext = (made if len(shapes) == 1 else made[0]).op   # the same stage, as TVM's te.HybridOp
    op = te.HybridOp(ext.name, ext.tag, ext.attrs, [o.shape for o in ext.outputs], [o.dtype for o in ext.outputs],
                     ext.inputs, ext.input_placeholders, ext.output_placeholders, ext.extern_body)
    return op.outputs[0] if len(shapes) == 1 else list(op.outputs)
