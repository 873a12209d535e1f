"""Shape and schedule helpers that TVM templates call on every line: constant shapes and inlining;
and the check that keeps the CPU-only operators (numpy through a packed function) off GPU targets."""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..arith.simplify import simplify as _simplify
from ..errors import DTypeError, ExprError, TargetError
from ..schedule.schedule import Schedule, create_schedule
from ..target import Target
from ..te.dtype import as_dtype
from ..te.expr import FloatImm, IntImm, PrimExpr, const, convert
from ..te.tensor import ComputeOp, IterVar, Operation, Tensor
from . import tag
from .const_matrix import const_matrix  # noqa: F401 - TVM's topi.utils.const_matrix


def get_const_int(expr: Any) -> int:
    """The int value of ``expr`` (an int, IntImm or an expression that simplifies to one)."""
    if isinstance(expr, bool):
        return int(expr)
    if isinstance(expr, int):
        return expr
    if hasattr(expr, "__index__") and not isinstance(expr, PrimExpr):
        return int(expr)
    if isinstance(expr, IterVar):
        expr = expr.var
    if not isinstance(expr, PrimExpr):
        raise ExprError(f"get_const_int: expected an int or an expression, got {expr!r}")
    if not isinstance(expr, IntImm):
        expr = _simplify(expr)
    if not isinstance(expr, IntImm):
        raise ExprError(f"get_const_int: '{expr}' is not a constant integer")
    return int(expr.value)


def get_const_float(expr: Any) -> float:
    """The float value of ``expr`` (a number, FloatImm or IntImm)."""
    if isinstance(expr, (int, float)):
        return float(expr)
    if isinstance(expr, (FloatImm, IntImm)):
        return float(expr.value)
    expr = _simplify(convert(expr))
    if isinstance(expr, (FloatImm, IntImm)):
        return float(expr.value)
    raise ExprError(f"get_const_float: '{expr}' is not a constant")


def static_dim(dim: Any) -> int | None:
    """A dimension's value when it is a constant, else None."""
    value = get_const_tuple([dim])[0]
    return value if isinstance(value, int) else None


def get_const_tuple(in_tuple: Sequence[Any]) -> tuple:
    """A shape as a tuple of ints; symbolic dimensions stay expressions (as in TVM)."""
    out = []
    for elem in in_tuple:
        if isinstance(elem, IterVar):
            elem = elem.var
        if isinstance(elem, PrimExpr) and not isinstance(elem, IntImm):
            simplified = _simplify(elem)
            out.append(int(simplified.value) if isinstance(simplified, IntImm) else elem)
        else:
            out.append(get_const_int(elem))
    return tuple(out)


def equal_const_int(expr: Any, value: int) -> bool:
    """Whether ``expr`` is the constant ``value``."""
    try:
        return get_const_int(expr) == value
    except ExprError:
        return False


def simplify(expr: Any) -> Any:
    """Simplify an expression (ints pass through)."""
    return _simplify(expr) if isinstance(expr, PrimExpr) else expr


def prod(values: Sequence[Any]) -> Any:
    """The product of a shape's dimensions: an int for ints, a simplified expression (an IntImm when
    every dimension is constant) otherwise."""
    # Constant dimensions multiply as Python ints: folded as int32 IntImms, 65536 x 32769 would wrap
    # negative; the constant part then takes int64 when it needs it.
    const, symbolic, saw_expr = 1, [], False
    for v in values:
        saw_expr = saw_expr or isinstance(v, PrimExpr)
        value = static_dim(v)
        if value is None:
            symbolic.append(v)
        else:
            const *= value
    if not saw_expr:
        return const
    result: Any = convert(const)
    for v in symbolic:
        result = result * v
    return simplify(result)


def traverse_inline(s: Any, final_op: Operation | Tensor, callback: Callable[[Operation], None] | None = None) -> None:
    """Walk the compute ops feeding ``final_op``: inline every injective one that is not an
    output, and call ``callback(op)`` on each compute op reached (the anchor op included)."""
    if isinstance(final_op, Tensor):
        final_op = final_op.op
    outputs = {id(op) for op in s.outputs}
    seen: set[int] = set()

    def visit(op: Operation) -> None:
        if id(op) in seen:
            return
        seen.add(id(op))
        if tag.is_injective(op.tag):
            if id(op) not in outputs:
                s[op].compute_inline()
            for t in op.input_tensors:
                if isinstance(t.op, ComputeOp):
                    visit(t.op)
        if callback is not None:
            callback(op)

    visit(final_op)


def schedule_tagged(outs: Tensor | Sequence[Tensor], anchor_tag: str,
                    schedule_op: Callable[[Schedule, Operation, Tensor], None]) -> Schedule:
    """A schedule for ``outs``: the injective ops after the anchor are inlined, and
    ``schedule_op(s, op, outs[0])`` schedules each compute op tagged ``anchor_tag``."""
    outs = [outs] if isinstance(outs, Tensor) else list(outs)
    s = create_schedule([t.op for t in outs])

    def callback(op: Operation) -> None:
        if op.tag == anchor_tag:
            schedule_op(s, op, outs[0])

    traverse_inline(s, outs[0].op, callback)
    return s


def get_shape(src_shape: Sequence[Any], src_layout: Any, dst_layout: Any) -> tuple:
    """``src_shape`` (in ``src_layout``) permuted into ``dst_layout``, whose axes are those of ``src_layout``
    in another order (TVM's topi.utils.get_shape): ``get_shape((1, 3, 224, 224), "NCHW", "NHWC")`` is
    (1, 224, 224, 3); split axes such as ``16c`` count as axes of their own."""

    def axes(layout: Any) -> list[str]:
        text = str(getattr(layout, "name", layout))
        found = re.findall(r"\d*[A-Za-z]", text)
        if "".join(found) != text or len(set(found)) != len(found):
            raise ExprError(f"get_shape: layout '{text}' is not a sequence of distinct axes such as NCHW16c")
        return found

    src, dst = axes(src_layout), axes(dst_layout)
    shape = get_const_tuple(src_shape)
    if len(src) != len(shape):
        raise ExprError(f"get_shape: layout '{src_layout}' has {len(src)} axes but the shape {shape} has {len(shape)}")
    if sorted(src) != sorted(dst):
        raise ExprError(f"get_shape: layout '{dst_layout}' is not a reordering of the axes of '{src_layout}'")
    return tuple(shape[src.index(a)] for a in dst)


def nchw_pack_layout(layout_info: str) -> bool:
    """Whether a layout is NCHW packed by batch and channel blocks (``NCHW4n4c``), as TVM reads it."""
    return layout_info[:4] == "NCHW" and "n" in layout_info and "c" in layout_info


def nchw_xc_layout(layout_info: str) -> bool:
    """Whether a layout is NCHW with a channel block (``NCHW16c``)."""
    return layout_info[:4] == "NCHW" and layout_info.endswith("c") and layout_info[4:-1].isdigit()


def get_pad_tuple(padding: Any, kernel: Sequence[Any]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) padding from an int, a pair, a 4-tuple, "SAME" or "VALID"."""
    kh, kw = (get_const_int(k) for k in kernel)
    if isinstance(padding, str):
        if padding == "VALID":
            return 0, 0, 0, 0
        if padding == "SAME":
            ph, pw = kh - 1, kw - 1
            return (ph + 1) // 2, (pw + 1) // 2, ph // 2, pw // 2
        raise ExprError(f"padding '{padding}' is not 'SAME', 'VALID' or numbers")
    if isinstance(padding, (int, PrimExpr)):
        p = get_const_int(padding)
        return p, p, p, p
    pad = [get_const_int(p) for p in padding]
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad[0], pad[1], pad[2], pad[3]
    raise ExprError(f"padding {padding!r}: expected an int, 2 or 4 numbers")


def get_pad_tuple3d(padding: Any, kernel: Sequence[Any]) -> tuple[int, int, int, int, int, int]:
    """(front, top, left, back, bottom, right) padding from an int, a triple (each on both sides),
    a 6-tuple, "SAME" or "VALID"; ``kernel`` is the (dilated) window (kd, kh, kw)."""
    ks = [get_const_int(k) for k in kernel]
    if isinstance(padding, str):
        if padding == "VALID":
            return 0, 0, 0, 0, 0, 0
        if padding == "SAME":
            before = [k // 2 for k in ks]
            after = [k - 1 - k // 2 for k in ks]
            return (*before, *after)  # type: ignore[return-value]
        raise ExprError(f"padding '{padding}' is not 'SAME', 'VALID' or numbers")
    if isinstance(padding, (int, PrimExpr)):
        p = get_const_int(padding)
        return p, p, p, p, p, p
    pad = [get_const_int(p) for p in padding]
    if len(pad) == 3:
        return pad[0], pad[1], pad[2], pad[0], pad[1], pad[2]
    if len(pad) == 6:
        return pad[0], pad[1], pad[2], pad[3], pad[4], pad[5]
    raise ExprError(f"padding {padding!r}: expected an int, 3 or 6 numbers")


def const_ints(values: Any, n: int, what: str, arg: str) -> list[int]:
    """``n`` constant ints from one value (repeated) or a sequence of ``n``; errors name ``arg``."""
    vals = list(values) if isinstance(values, (list, tuple)) else [values]
    if len(vals) == 1 and n > 1:
        vals = vals * n
    if len(vals) != n:
        raise ExprError(f"{what}: {arg} {values!r} must give {n} value(s)")
    try:
        return [get_const_int(v) for v in vals]
    except ExprError:
        raise ExprError(f"{what}: {arg} {values!r} must be constant ints") from None


def pair(value: Any, what: str) -> tuple[Any, Any]:
    """``(v, v)`` from one value, or the two values of a pair."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ExprError(f"{what}: expected one value or two, got {value!r}")
        return value[0], value[1]
    return value, value


def out_dtype_of(out_dtype: Any, data: Tensor, what: str) -> str:
    """The dtype an operator's ``out_dtype`` argument names (``data``'s own when None); a name
    that is not a dtype is a DTypeError naming the operator ``what``."""
    try:
        return str(as_dtype(out_dtype)) if out_dtype is not None else str(data.dtype)
    except DTypeError:
        raise DTypeError(f"{what}: out_dtype {out_dtype!r} is not a dtype") from None


def check_tensors(what: str, **tensors: Any) -> None:
    """An ``ExprError`` naming the first argument that is not a tensor (instead of an AttributeError
    from deep inside the operator)."""
    for arg, t in tensors.items():
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {t!r} ({type(t).__name__})")


def scalar_const(value: Any, dtype: Any, what: str, arg: str) -> PrimExpr:
    """``value`` (a number, a numpy scalar or 0-d array, or a scalar expression) as a constant of
    ``dtype`` for operator ``what``; anything else (None, a string, a tensor), or a number ``dtype``
    cannot hold (0.5 or 300 for int8), is an error naming ``what`` and ``arg``."""
    if isinstance(value, PrimExpr):
        return value.astype(str(dtype)) if str(value.dtype) != str(dtype) else value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise ExprError(f"{what}: {arg} must be a number, got {value!r} ({type(value).__name__})")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        return const(value, str(dtype))
    except (DTypeError, ExprError, OverflowError, ValueError) as err:
        raise DTypeError(f"{what}: {arg} {value!r} is not a valid {dtype} value: {err}") from None


def check_cpu_target(op: str, gpu_version: str | None = None) -> None:
    """Raise a ``TargetError`` naming the operator ``op`` when it is declared under a GPU target:
    its work is a ``te.extern`` stage calling numpy through a packed function, which runs on the
    CPU only (sort, unique, argwhere, sparse_transpose, sparse_reshape, non_max_suppression ...).
    ``gpu_version`` names the operator's GPU form, where there is one."""
    target = Target.current()
    if target is not None and "gpu" in target.keys:
        instead = f"use {gpu_version} for the GPU, or " if gpu_version else ""
        raise TargetError(f"{op}: runs on the CPU only (a packed numpy function), but the current target "
                          f"is '{target}'; {instead}declare it outside the GPU target's scope and build for llvm")
