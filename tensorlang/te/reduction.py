"""Commutative reducers: te.sum, te.max, te.min, te.fmax, te.fmin and user-defined ones via
te.comm_reducer."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from ..errors import DTypeError, ExprError
from .dtype import BOOL, DType
from .expr import (
    GE,
    LE,
    NE,
    Add,
    Max,
    Min,
    Or,
    PrimExpr,
    Reduce,
    Select,
    Var,
    _operand_pair,
    binary,
    cast,
    const,
    convert,
)
from .intrin import max_value, min_value
from .tensor import IterVar

# The spatial index variables of the te.compute whose function is being called (set by compute),
# so that a reducer can tell an index passed as ``axis`` from an elementwise operand.
spatial_indices: ContextVar[tuple[Var, ...]] = ContextVar("spatial_indices", default=())
_UNSET: Any = object()


class CommReducer:
    """A concrete reducer for fixed dtypes: ``result = combine(lhs, rhs)`` starting at ``identity``.
    ``allow_empty`` False: a reduction over an axis that runs zero times is an error (numpy's
    maximum/minimum have no identity), not the identity."""

    def __init__(self, name: str, lhs: Sequence[Var], rhs: Sequence[Var],
                 result: Sequence[PrimExpr], identity: Sequence[PrimExpr], allow_empty: bool = True,
                 starts_at_init: bool = False, neutral: Sequence[PrimExpr] | None = None):
        self.name = name
        self.lhs, self.rhs = tuple(lhs), tuple(rhs)
        self.result, self.identity = tuple(result), tuple(identity)
        self.allow_empty = allow_empty
        # ``identity`` is the user's init= (TVM's Reduce.init), not a neutral element: the
        # reduction starts there once, so partial reductions (rfactor's) start at ``neutral``,
        # the reducer's own identity, and only the final one at init.
        self.starts_at_init = starts_at_init
        self.neutral = tuple(neutral) if neutral is not None else self.identity

    def without_init(self) -> CommReducer:
        """This reducer starting at its neutral element (the partial reductions of one with init=)."""
        if not self.starts_at_init:
            return self
        return CommReducer(self.name, self.lhs, self.rhs, self.result, self.neutral, allow_empty=True)

    def __repr__(self) -> str:
        return f"CommReducer({self.name})"


class Reducer:
    """What te.comm_reducer returns: call it as ``r(expr, axis, where=None)``, or with two
    expressions for the elementwise combination (``te.max(a, b)``)."""

    def __init__(self, fcombine: Callable, fidentity: Callable, name: str, allow_empty: bool = True):
        self.fcombine, self.fidentity, self.name = fcombine, fidentity, name
        self.allow_empty = allow_empty

    def __call__(self, expr: Any, *args: Any, **kwargs: Any) -> Any:
        names = ("axis", "where", "init")
        if args and not kwargs and not _is_axis(args[0]) and args[0] is not None \
                and not (isinstance(args[0], (list, tuple)) and not args[0]):
            # TVM's elementwise mode folds every value given: te.max(a, b, c) is max(max(a, b), c)
            self._reject_index_as_axis(args[0], by_keyword=False)
            res = expr
            for value in args:
                a, b = _operand_pair(res, value, f" (in te.{self.name})")
                res = self.fcombine(a, b)
            return res
        if len(args) > len(names) or set(kwargs) - set(names):
            raise ExprError(f"te.{self.name} takes (expr, axis, where=None, init=None)")
        bound = dict(zip(names, args)) | kwargs
        axis, where, init = (bound.get(n, _UNSET if n == "axis" else None) for n in names)
        if axis is _UNSET or axis is None or (isinstance(axis, (list, tuple)) and not axis):
            raise ExprError(f"te.{self.name} needs axis=... (a reduce_axis or a list of them)")
        if not _is_axis(axis):
            self._reject_index_as_axis(axis, by_keyword="axis" in kwargs)
            a, b = _operand_pair(expr, axis, f" (in te.{self.name})")
            return self.fcombine(a, b)
        axes = [axis] if isinstance(axis, IterVar) else list(axis)
        for n, ax in enumerate(axes):
            if not ax.is_reduce:
                raise ExprError(f"te.{self.name}: axis {ax.name} is not a reduce_axis")
            if ax in axes[:n]:
                raise ExprError(f"te.{self.name}: axis {ax.name} is given twice")
        multi = isinstance(expr, (tuple, list))
        source = tuple(convert(e) for e in (expr if multi else (expr,)))
        dtypes = [s.dtype for s in source]
        lhs = [Var(f"x{i}", dt) for i, dt in enumerate(dtypes)]
        rhs = [Var(f"y{i}", dt) for i, dt in enumerate(dtypes)]
        check_callable_with(self.fcombine, 2, f"te.{self.name}: fcombine")
        check_callable_with(self.fidentity, len(dtypes), f"te.{self.name}: fidentity")
        res = self.fcombine(tuple(lhs), tuple(rhs)) if multi else self.fcombine(lhs[0], rhs[0])
        res = tuple(res) if multi else (res,)
        ident = self.fidentity(*dtypes)
        ident = tuple(ident) if multi else (ident,)
        if len(res) != len(source) or len(ident) != len(source):
            raise ExprError(f"te.{self.name}: the combiner and identity must give {len(source)} value(s)")
        res = tuple(_as_dtype(convert(r), dt, f"te.{self.name} combiner") for r, dt in zip(res, dtypes))
        ident = tuple(_as_dtype(const(i, dt) if not isinstance(i, PrimExpr) else i, dt,
                                f"te.{self.name} identity") for i, dt in zip(ident, dtypes))
        neutral = ident
        if init is not None:
            # TVM's init=: the reduction starts at these values (one per output), which may read
            # the output's indices (init=Bias[i]); over an empty axis the result is init.
            inits = tuple(init) if isinstance(init, (list, tuple)) else (init,)
            if len(inits) != len(source):
                raise ExprError(f"te.{self.name}: init= must give {len(source)} value(s), got {len(inits)}")
            ident = tuple(_as_dtype(convert(i), dt, f"te.{self.name} init") for i, dt in zip(inits, dtypes))
        combiner = CommReducer(self.name, lhs, rhs, res, ident, self.allow_empty or init is not None,
                               starts_at_init=init is not None, neutral=neutral)
        cond = const(True, BOOL) if where is None else convert(where)
        if not (cond.dtype.is_bool or cond.dtype.is_int) or cond.dtype.lanes != 1:
            raise DTypeError(f"te.{self.name}: where= must be a condition (bool or int), got {cond.dtype} "
                             f"expression '{cond}'")
        if not cond.dtype.is_bool:
            cond = cond != 0
        outs = tuple(Reduce(combiner, source, axes, cond, i) for i in range(len(source)))
        return outs if multi else outs[0]


    def _reject_index_as_axis(self, axis: Any, by_keyword: bool) -> None:
        """``te.sum(x, axis=j)`` with a spatial index ``j`` would compute ``x + j``: refuse it."""
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        spatial = [a for a in axes if isinstance(a, Var) and a in spatial_indices.get()]
        if not by_keyword and self.name in ("min", "max"):
            spatial = []  # te.min(3, j): an elementwise min of an index is common, as in TVM
        if spatial or (by_keyword and axes):
            what = (f"the spatial index '{spatial[0].name}' of the compute" if spatial
                    else f"'{axes[0]}', which is not a reduce_axis")
            raise ExprError(f"te.{self.name}: axis is {what}; reduce over a "
                            f"te.reduce_axis(...) instead (te.{self.name}(expr, axis=k))")


def check_callable_with(fn: Callable, n: int, where: str) -> None:
    """An ExprError when ``fn`` cannot be called with ``n`` positional arguments."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin without a signature: let the call say
    try:
        sig.bind(*range(n))
    except TypeError:
        raise ExprError(f"{where} {getattr(fn, '__name__', fn)}{sig} is called with {n} argument(s)") from None


def _as_dtype(e: PrimExpr, dt: DType, where: str) -> PrimExpr:
    if e.dtype != dt:
            return cast(e, dt)
    return e


def _is_axis(axis: Any) -> bool:
    if isinstance(axis, IterVar):
        return True
    return isinstance(axis, (list, tuple)) and len(axis) > 0 and all(isinstance(a, IterVar) for a in axis)


def comm_reducer(fcombine: Callable, fidentity: Callable, name: str = "reduce", *,
                 allow_empty: bool = True) -> Reducer:
    """Make a reducer from ``fcombine(x, y)`` and ``fidentity(*dtypes)``; both may work on
    tuples, for multi-value reductions such as argmax. A reduction over an axis that runs zero
    times gives the identity (numpy's sum and prod: 0 and 1); with ``allow_empty=False`` it is
    an error instead, as numpy's max, min and argmax are (a LoweringError when the extent is
    constant, an ArgumentError at call time when it is symbolic). The identity still fills
    points that ``where=`` masks out."""
    for what, fn in (("fcombine", fcombine), ("fidentity", fidentity)):
        if not callable(fn):
            raise ExprError(f"te.comm_reducer {name}: {what} must be a function, got {fn!r}")
    return Reducer(fcombine, fidentity, name, allow_empty)


def _min_value(dt: DType) -> PrimExpr:
    return min_value(dt)


def _max_value(dt: DType) -> PrimExpr:
    return max_value(dt)


sum = comm_reducer(lambda x, y: binary(Add, x, y), lambda dt: const(0, dt), name="sum")  # noqa: A001
def _max_identity(dt: DType) -> PrimExpr:
    # -inf, not the lowest finite float: a max over values that are all -inf is -inf (numpy).
    return const(float("-inf"), dt) if dt.is_float else _min_value(dt)


def _min_identity(dt: DType) -> PrimExpr:
    return const(float("inf"), dt) if dt.is_float else _max_value(dt)


# numpy.max/min of an empty axis raise ("zero-size array to reduction operation maximum which
# has no identity"): so do these (allow_empty=False), rather than return -inf/inf.
max = comm_reducer(lambda x, y: binary(Max, x, y), _max_identity, name="max", allow_empty=False)  # noqa: A001
min = comm_reducer(lambda x, y: binary(Min, x, y), _min_identity, name="min", allow_empty=False)  # noqa: A001


def _nan_ignoring(cmp: type, plain: type) -> Callable[[Any, Any], PrimExpr]:
    """``a`` where ``a cmp b`` holds or ``b`` is NaN, else ``b``: the larger (GE) or smaller (LE)
    of two floats, NaN only when both are (C's fmax/fmin, numpy.fmax/fmin); ``plain`` on ints."""
    def combine(a: Any, b: Any) -> PrimExpr:
        a, b = _operand_pair(a, b, f" (in te.f{plain.symbol})")
        if not a.dtype.is_float:
            return binary(plain, a, b)
        return Select(Or(cmp(a, b), NE(b, b)), a, b)
    return combine


def _fmax_identity(dt: DType) -> PrimExpr:
    # NaN, which every value replaces: a reduction over only NaN is NaN (numpy.fmax.reduce).
    return const(float("nan"), dt) if dt.is_float else _min_value(dt)


def _fmin_identity(dt: DType) -> PrimExpr:
    return const(float("nan"), dt) if dt.is_float else _max_value(dt)


# NaN-ignoring variants of te.max/te.min: numpy.fmax/fmin elementwise, and as reductions
# numpy.fmax.reduce/fmin.reduce (numpy.nanmax/nanmin without the warning): NaN only where
# every value is NaN. te.max/te.min propagate NaN instead (numpy.maximum/minimum).
fmax = comm_reducer(_nan_ignoring(GE, Max), _fmax_identity, name="fmax", allow_empty=False)
fmin = comm_reducer(_nan_ignoring(LE, Min), _fmin_identity, name="fmin", allow_empty=False)
