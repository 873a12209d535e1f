"""A reference interpreter for flat loop IR: runs a statement on numpy buffers, lanes and predicates included.

Semantics it pins down (the contract code generators must match):

* Scalars are numpy scalars and vectors are 1-D numpy arrays, always of the node's dtype, so
  float arithmetic happens in that precision and integers wrap around.
* Every binary operator means what ``tensorlang.te.numeric`` says (numpy's semantics): integer
  ``//`` and ``%`` floor, truncdiv/truncmod round toward zero, a zero divisor gives 0 and
  INT_MIN // -1 wraps; float ``//`` and ``%`` are numpy's; min/max propagate NaN.
* ``Select`` with a scalar condition evaluates only the chosen value; with a vector condition
  it evaluates both (their loads must carry predicates) and picks per lane.
* A Load or Store touches only the lanes its predicate enables; masked-off load lanes read 0.
  Any enabled out-of-bounds access raises IndexError (negative indices do not wrap).
* Loops of every kind run sequentially in order; ``Allocate`` gives a zero-filled buffer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tensorlang.ir.stmt import Allocate, Evaluate, For, IfThenElse, LetStmt, SeqStmt, Stmt, Store
from tensorlang.ir.verify import NOT_EXECUTABLE
from tensorlang.te import expr as E
from tensorlang.te import numeric
from tensorlang.te.dtype import DType
from tensorlang.te.functor import Visitor

Value = Any  # a numpy scalar (np.generic) or a 1-D numpy array (one element per lane)


def run(stmt: Stmt, buffers: dict[E.Var, np.ndarray], scalars: dict[E.Var, int | float]) -> None:
    """Execute ``stmt``, updating ``buffers`` in place.

    ``buffers`` maps each buffer's handle Var to a C-contiguous array (used flat, row-major);
    ``scalars`` maps each free scalar Var (shape parameters and the like) to its value.
    """
    flat = {}
    for var, arr in buffers.items():
        if not arr.flags.c_contiguous:
            raise ValueError(f"buffer {var.name} must be C-contiguous so that writes reach the caller")
        flat[var] = arr.reshape(-1)
    env = {var: _scalar(value, var.dtype) for var, value in scalars.items()}
    with np.errstate(all="ignore"):  # integers wrap and masked lanes may divide by zero, as on hardware
        _Interpreter(flat, env).visit(stmt)


def _scalar(value: Any, dtype: DType) -> np.generic:
    return np.asarray(value).astype(dtype.numpy())[()]


def _as_dtype(value: Value, dtype: DType) -> Value:
    out = np.asarray(value).astype(dtype.numpy())
    return out[()] if dtype.lanes == 1 else out


_INTRINSICS: dict[str, Callable[..., Value]] = {
    "exp": np.exp, "exp2": np.exp2, "exp10": lambda x: np.power(x.dtype.type(10), x), "log": np.log,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "tanh": np.tanh,
    "erf": np.vectorize(math.erf, otypes=[np.float64]), "floor": np.floor, "ceil": np.ceil,
    "round": np.round, "trunc": np.trunc, "sin": np.sin, "cos": np.cos, "tan": np.tan, "fabs": np.abs,
    "pow": np.power, "likely": lambda x: x, "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "log1p": np.log1p, "expm1": np.expm1, "atan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign,
    "nextafter": np.nextafter,
}


class _Interpreter(Visitor):
    REJECTED = NOT_EXECUTABLE  # generic_visit refuses these (and any other node class it lacks)

    def __init__(self, buffers: dict[E.Var, np.ndarray], env: dict[E.Var, np.generic]):
        super().__init__()
        self.buffers = buffers
        self.env = env

    def generic_visit(self, node: Any) -> Any:
        raise NotImplementedError(f"the loop-IR interpreter cannot run {type(node).__name__}")

    def _bound(self, var: E.Var, value: Any, table: dict, node: Any) -> Any:
        """Visit ``node`` with ``var`` bound to ``value`` in ``table``, restoring it afterwards."""
        missing = object()
        outer = table.get(var, missing)
        table[var] = value
        try:
            return self.visit(node)
        finally:
            if outer is missing:
                del table[var]
            else:
                table[var] = outer

    def _buffer(self, var: E.Var, dtype: DType) -> np.ndarray:
        buf = self.buffers.get(var)
        if buf is None:
            raise KeyError(f"buffer {var.name} is not bound")
        if buf.dtype != dtype.numpy():
            raise TypeError(f"buffer {var.name} holds {buf.dtype}, accessed as {dtype.element_of()}")
        return buf

    def _lanes_enabled(self, index: Value, predicate: E.PrimExpr | None) -> np.ndarray:
        lanes = np.size(index)
        if predicate is None:
            return np.ones(lanes, dtype=bool)
        return np.broadcast_to(np.asarray(self.visit(predicate), dtype=bool), (lanes,))

    @staticmethod
    def _check_bounds(buf: np.ndarray, name: str, index: np.ndarray) -> None:
        bad = (index < 0) | (index >= buf.size)
        if np.any(bad):
            raise IndexError(f"access to {name}[{index[bad].tolist()}] is out of bounds [0, {buf.size})")

    # --- expressions -------------------------------------------------------------------

    def visit_Var(self, op: E.Var) -> Value:
        if op not in self.env:
            raise KeyError(f"variable {op.name} is not bound")
        return self.env[op]

    def visit_IntImm(self, op: E.IntImm) -> Value:
        return _scalar(op.value, op.dtype)

    def visit_FloatImm(self, op: E.FloatImm) -> Value:
        return _scalar(op.value, op.dtype)

    def visit_Cast(self, op: E.Cast) -> Value:
        return _as_dtype(self.visit(op.value), op.dtype)

    def visit_BinaryOp(self, op: E.BinaryOp) -> Value:
        a, b = self.visit(op.a), self.visit(op.b)
        if np.shape(a) != np.shape(b):
            raise ValueError(f"operands of {type(op).__name__} differ in lanes: "
                             f"{np.shape(a)} and {np.shape(b)}")
        return _as_dtype(numeric.apply(type(op).__name__, a, b), op.dtype)

    def visit_Not(self, op: E.Not) -> Value:
        return _as_dtype(np.logical_not(self.visit(op.a)), op.dtype)

    def visit_Select(self, op: E.Select) -> Value:
        cond = self.visit(op.condition)
        if np.ndim(cond) == 0:  # only the chosen value is evaluated
            return self.visit(op.true_value if cond else op.false_value)
        return _as_dtype(np.where(cond, self.visit(op.true_value), self.visit(op.false_value)), op.dtype)

    def visit_Call(self, op: E.Call) -> Value:
        fn = _INTRINSICS.get(op.name)
        if fn is None:
            raise NotImplementedError(f"the loop-IR interpreter does not know the intrinsic {op.name}")
        return _as_dtype(fn(*(self.visit(a) for a in op.args)), op.dtype)

    def visit_Let(self, op: E.Let) -> Value:
        return self._bound(op.var, self.visit(op.value), self.env, op.body)

    def visit_Ramp(self, op: E.Ramp) -> Value:
        base, stride = self.visit(op.base), self.visit(op.stride)
        return _as_dtype(base + np.arange(op.lanes, dtype=base.dtype) * stride, op.dtype)

    def visit_Broadcast(self, op: E.Broadcast) -> Value:
        return np.full(op.lanes, self.visit(op.value), dtype=op.value.dtype.numpy())

    def visit_Load(self, op: E.Load) -> Value:
        buf = self._buffer(op.buffer, op.dtype)
        index = self.visit(op.index)
        enabled = self._lanes_enabled(index, op.predicate)
        lanes = np.atleast_1d(index)[enabled]
        self._check_bounds(buf, op.buffer.name, lanes)
        out = np.zeros(np.size(index), dtype=buf.dtype)
        out[enabled] = buf[lanes]
        return out[0] if np.ndim(index) == 0 else out

    # --- statements --------------------------------------------------------------------

    def visit_Store(self, op: Store) -> None:
        index = self.visit(op.index)
        value = self.visit(op.value)
        if np.shape(value) != np.shape(index):
            raise ValueError(f"store to {op.buffer.name}: value lanes {np.shape(value)} differ "
                             f"from index lanes {np.shape(index)}")
        buf = self._buffer(op.buffer, op.value.dtype)
        enabled = self._lanes_enabled(index, op.predicate)
        lanes = np.atleast_1d(index)[enabled]
        self._check_bounds(buf, op.buffer.name, lanes)
        # Lanes are written in order, so with repeated indices the last enabled lane wins.
        buf[lanes] = np.atleast_1d(value)[enabled]

    def visit_For(self, op: For) -> None:
        start, extent = int(self.visit(op.min)), int(self.visit(op.extent))
        for i in range(start, start + extent):
            self._bound(op.loop_var, _scalar(i, op.loop_var.dtype), self.env, op.body)

    def visit_LetStmt(self, op: LetStmt) -> None:
        self._bound(op.var, self.visit(op.value), self.env, op.body)

    def visit_Allocate(self, op: Allocate) -> None:
        buf = np.zeros(int(self.visit(op.extent)), dtype=op.dtype.numpy())
        self._bound(op.buffer, buf, self.buffers, op.body)

    def visit_IfThenElse(self, op: IfThenElse) -> None:
        cond = self.visit(op.condition)
        if np.ndim(cond) != 0:
            raise ValueError(f"the condition of an if must be a scalar, got {op.condition.dtype}")
        if cond:
            self.visit(op.then_case)
        elif op.else_case is not None:
            self.visit(op.else_case)

    def visit_SeqStmt(self, op: SeqStmt) -> None:
        for s in op.seq:
            self.visit(s)

    def visit_Evaluate(self, op: Evaluate) -> None:
        self.visit(op.value)
