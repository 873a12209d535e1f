"""The declaration API: placeholder, compute, var, reduce_axis, thread_axis."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import DTypeError, ExprError
from .attrs import tvm_attrs
from .cse import share_subexpressions
from .depth import deep_expressions
from .dtype import INT32, DType, as_dtype
from .expr import IntImm, PrimExpr, Reduce, Var, convert
from .functor import post_order_visit
from .reduction import spatial_indices
from .tag import current_tag
from .tensor import (
    ComputeOp,
    IterVar,
    IterVarType,
    PlaceholderOp,
    Range,
    Tensor,
    axis_of,
    index_dtype_of,
    integral,
    to_shape,
)
from .tensor_intrin import TensorIntrinCall, tensor_compute

_THREAD_TAGS = ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y",
                "threadIdx.z", "vthread", "cthread")


# Longer names would be cut short by LLVM (1024 characters), making two arguments one.
_MAX_NAME = 1000


def _check_name(name: Any, what: str) -> str:
    """``name`` when it can name a tensor, axis or variable in generated code; else an ExprError."""
    if not isinstance(name, str):
        raise ExprError(f"{what}: a name must be a string, got {name!r} ({type(name).__name__})")
    if "\x00" in name or len(name) > _MAX_NAME:
        raise ExprError(f"{what}: the name {name[:40]!r}{'...' if len(name) > 40 else ''} must be at most "
                        f"{_MAX_NAME} characters, without NUL characters")
    return name


def var(name: str = "tindex", dtype: str | DType = "int32") -> Var:
    """A symbolic scalar, e.g. a shape parameter ``n = te.var("n")``."""
    return Var(_check_name(name, "te.var"), as_dtype(dtype))


def size_var(name: str = "size", dtype: str | DType = "int32") -> Var:
    """A symbolic size (a non-negative ``te.var``)."""
    return Var(_check_name(name, "te.size_var"), as_dtype(dtype))


def placeholder(shape: Any, dtype: str | DType = "float32", name: str = "placeholder") -> Tensor:
    """An input tensor of the given shape and dtype (``dtype=None``: float32, as in TVM)."""
    _check_name(name, "placeholder")
    dt = as_dtype("float32" if dtype is None else dtype)
    if dt.lanes != 1 or dt.is_handle:
        raise DTypeError(f"placeholder {name}: a tensor holds scalar elements (bool, int, uint or float), "
                         f"not {dt}")
    return PlaceholderOp(name, to_shape(shape, f"placeholder {name}"), dt).output(0)


def _range_of(dom: Any, where: str) -> Range:
    if isinstance(dom, Range):
        return dom
    if isinstance(dom, (tuple, list)) and len(dom) == 2:
        begin, end = (integral(d, where) for d in dom)
        for d in (begin, end):
            if not isinstance(d, (int, PrimExpr)) and not hasattr(d, "__index__"):
                raise ExprError(f"{where}: the range ({dom[0]!r}, {dom[1]!r}) must hold integers or integer "
                                f"expressions, got {d!r} ({type(d).__name__})")
        rng = Range.from_begin_end(begin, end)
    elif isinstance(dom, (int, float, PrimExpr)):
        rng = Range(0, integral(dom, where))
    else:
        raise ExprError(f"{where}: expected a (begin, end) pair or an extent, got {dom!r}")
    if isinstance(rng.extent, IntImm) and rng.extent.value < 0:
        raise ExprError(f"{where}: the range {dom!r} has a negative extent ({rng.extent.value}); "
                        "it must be (begin, end) with begin <= end")
    return rng


def reduce_axis(dom: Any, name: str = "rv") -> IterVar:
    """A reduction axis over ``dom`` = (begin, end), for te.sum/te.max/te.min."""
    where = f"reduce_axis {_check_name(name, 'reduce_axis')}"
    try:
        rng = _range_of(dom, where)
    except ExprError as exc:
        if str(exc).startswith(where):
            raise
        raise ExprError(f"{where}: {exc}") from None
    return IterVar(rng, Var(name, index_dtype_of(rng)), IterVarType.COMM_REDUCE)


def thread_axis(dom: Any = None, tag: str = "", name: str = "") -> IterVar:
    """A GPU thread axis such as ``te.thread_axis("threadIdx.x")``, for ``Stage.bind``."""
    if isinstance(dom, str):
        dom, tag = None, dom
    if tag not in _THREAD_TAGS:
        raise ExprError(f"unknown thread tag '{tag}' (expected one of {', '.join(_THREAD_TAGS)})")
    rng = None if dom is None else _range_of(dom, f"thread_axis {tag}")
    return IterVar(rng, Var(name or tag, INT32), IterVarType.THREAD_INDEX, tag)


def _lambda_arity(fcompute: Callable, where: str) -> tuple[int | None, list[str]]:
    try:
        sig = inspect.signature(fcompute)
    except (TypeError, ValueError):
        return None, []
    names, variadic = [], False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if p.default is p.empty:
                names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            variadic = True
        elif p.kind == p.KEYWORD_ONLY and p.default is p.empty:
            raise ExprError(f"{where}: the function's keyword-only argument '{p.name}' has no default; it is "
                            "called with the index variables only")
    return (None if variadic else len(names)), names


def compute(shape: Any, fcompute: Callable[..., Any], name: str = "compute", tag: str = "",
            attrs: dict | None = None) -> Any:
    """A tensor whose element at each index of ``shape`` is ``fcompute(*index)``.

    ``fcompute`` may return one expression, or a tuple of them (a multi-output op, as a
    tuple reducer gives); a reduction (te.sum ...) must be the outermost operation.
    """
    tag = tag or current_tag()
    where = f"compute '{name}'"
    _check_name(name, "compute")
    if not isinstance(tag, str):
        raise ExprError(f"{where}: tag must be a string, got {tag!r}")
    if attrs is not None and not isinstance(attrs, dict):
        raise ExprError(f"{where}: attrs must be a dict, got {attrs!r}")
    attrs = tvm_attrs(attrs)  # numbers answer .value, as TVM's IntImm/FloatImm attrs do
    if not callable(fcompute):
        raise ExprError(f"{where}: the second argument must be a function of the indices (lambda i, j: ...), "
                        f"got {fcompute!r}")
    dims = to_shape(shape, where)
    arity, names = _lambda_arity(fcompute, where)
    if arity is not None and arity < len(dims):
        # A tensor intrinsic called on regions computes the trailing dimensions (TensorComputeOp).
        axis = [IterVar(Range(0, d), Var(nm, index_dtype_of(Range(0, d))), IterVarType.DATA_PAR)
                for nm, d in zip(names if len(names) == arity else ["i", "j", "k", "l"][:arity], dims)]
        body = fcompute(*[iv.var for iv in axis])
        if isinstance(body, TensorIntrinCall):
            return tensor_compute(name, tag, attrs, axis, dims, body)
    if arity is not None and arity != len(dims):
        raise ExprError(f"{where}: the function takes {arity} index argument(s) but the shape "
                        f"has {len(dims)} dimension(s)")
    if len(names) != len(dims):
        names = ["i", "j", "k", "l", "m", "n"][: len(dims)] if len(dims) <= 6 else [
            f"ax{n}" for n in range(len(dims))]
    axis = [IterVar(Range(0, d), Var(nm, index_dtype_of(Range(0, d))), IterVarType.DATA_PAR)
            for nm, d in zip(names, dims)]
    token = spatial_indices.set(tuple(iv.var for iv in axis))
    try:
        body = fcompute(*[iv.var for iv in axis])
    finally:
        spatial_indices.reset(token)
    if isinstance(body, TensorIntrinCall):
        return tensor_compute(name, tag, attrs, axis, dims, body)
    bodies = list(body) if isinstance(body, (tuple, list)) else [body]
    if not bodies:
        raise ExprError(f"{where}: the function returned an empty tuple")
    for b in bodies:
        if not isinstance(b, PrimExpr) and not hasattr(b, "asobject") and not isinstance(b, (numbers.Real, np.generic)):
            raise ExprError(f"{where}: the function must return an expression (or a tuple of them), got {b!r} "
                            f"({type(b).__name__})")
    with deep_expressions(where):
        bodies = _shared([convert(b) for b in bodies])
        _check_body(bodies, axis, where)
    op = ComputeOp(name, tag, attrs, axis, bodies)
    return op.outputs[0] if len(op.outputs) == 1 else op.outputs


def _shared(bodies: list[PrimExpr]) -> list[PrimExpr]:
    """The bodies with subexpressions the user's code reused bound once (te.cse), so that
    lowering and code generation stay linear in what was built."""
    if all(isinstance(b, Reduce) for b in bodies) and bodies:
        first = bodies[0]
        source = tuple(share_subexpressions(s) for s in first.source)
        if all(a is b for a, b in zip(source, first.source)):
            return bodies
        return [Reduce(b.combiner, source, b.axis, b.condition, b.value_index) for b in bodies]
    return [b if isinstance(b, Reduce) else share_subexpressions(b) for b in bodies]


def _check_body(bodies: list[PrimExpr], axis: list[IterVar], where: str) -> None:
    reduces = [isinstance(b, Reduce) for b in bodies]
    if any(reduces) and not all(reduces):
        raise ExprError(f"{where}: either every output is a reduction or none is")
    if all(reduces) and len(bodies) > 1:
        first = bodies[0]
        for b in bodies[1:]:
            if b.combiner is not first.combiner or b.source is not first.source:
                raise ExprError(f"{where}: the outputs must come from one tuple reduction")
    for k, b in enumerate(bodies):
        if b.dtype.lanes != 1 or b.dtype.is_handle:
            what = "the function's value" if len(bodies) == 1 else f"output {k} of the function"
            raise DTypeError(f"{where}: {what} is a {b.dtype} expression '{b}'; a tensor holds scalar elements "
                             "(bool, int, uint or float)")
    own = {id(iv.var) for iv in axis}

    def check(node: Any, top: PrimExpr) -> None:
        if isinstance(node, Reduce) and node is not top:
            raise ExprError(f"{where}: a reduction must be the outermost operation of the body "
                            f"(found '{node}' nested inside '{top}'); compute it in its own stage")

    def check_var(node: Any, top: PrimExpr) -> None:
        if isinstance(node, Var) and id(node) not in own:
            _check_foreign_axis(node, top, where)

    for visit in (check, check_var):  # a nested reduction is the first thing to report
        for b in bodies:
            post_order_visit(b, lambda n, b=b: visit(n, b))
    for r in (bodies[0].axis if all(reduces) else ()):
        # A reduction's range is evaluated in this compute's loops too: the same variables qualify.
        def check_range(node: Any, r: IterVar = r) -> None:
            if isinstance(node, Var) and id(node) not in own:
                _check_foreign_axis(node, None, where, f"the range of reduce_axis {r.var.name} uses")
        for e in (r.dom.min, r.dom.extent):
            post_order_visit(e, check_range)


def _check_foreign_axis(v: Var, top: PrimExpr | None, where: str, uses: str = "the body uses") -> None:
    """A variable of the body that is no index of this compute: a te.var (a parameter) is fine;
    the axis of a reduction that does not reduce over it, or of another compute, is never bound
    in this one's loops (lowering would only say that it is unbound)."""
    if isinstance(top, Reduce) and any(r.var is v for r in top.axis):
        return
    iv = axis_of(v)
    if iv is None:
        return
    if iv.iter_type == IterVarType.THREAD_INDEX:
        raise ExprError(f"{where}: {uses} {v.name}, a te.thread_axis; a thread axis is no value in a compute: "
                        f"bind a loop of the stage to it (s[...].bind(axis, {v.name})) and use the compute's "
                        "own indices")
    if iv.iter_type == IterVarType.COMM_REDUCE:
        if top is None:
            return  # a range over another reduce_axis: lowering decides (this check is about bodies)
        if not isinstance(top, Reduce):
            raise ExprError(f"{where}: reduce_axis {v.name} is used outside a reduction; reduce over it "
                            f"(te.sum(..., axis={v.name})) or index with this compute's own indices")
        raise ExprError(f"{where}: reduce_axis {v.name} is used in a reduction over "
                        f"{', '.join(r.var.name for r in top.axis)}, which does not include it; list it in axis=[...]")
    if iv.iter_type == IterVarType.DATA_PAR and iv.dom is not None:
        raise ExprError(f"{where}: {uses} {v.name}, an index of another compute; use the indices this "
                        "compute's function is given")
