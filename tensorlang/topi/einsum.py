"""Contractions by subscripts: ``einsum`` (numpy.einsum semantics) and TVM's 2-D ``matmul``.
Both are one ``te.compute`` with a ``te.sum`` over the contracted indices, tagged for schedules."""

from __future__ import annotations

import inspect
from typing import Any

from .. import te
from ..errors import ExprError
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from .common_dtype import common_dtype
from .utils import static_dim

_ELLIPSIS = "..."


def matmul(a: Tensor, b: Tensor, transp_a: bool = False, transp_b: bool = False) -> Tensor:
    """The 2-D matrix product ``a @ b``, ``a`` and/or ``b`` read transposed when asked (TVM's ``topi.matmul``)."""
    what = "matmul"
    for arg, t in (("a", a), ("b", b)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {t!r}")
        if len(t.shape) != 2:
            raise ExprError(f"{what}: {arg} must be 2-D, got {len(t.shape)}-D")
    m, red_a = (a.shape[1], a.shape[0]) if transp_a else (a.shape[0], a.shape[1])
    red_b, n = (b.shape[1], b.shape[0]) if transp_b else (b.shape[0], b.shape[1])
    sa, sb = static_dim(red_a), static_dim(red_b)
    if sa is not None and sb is not None and sa != sb:
        raise ExprError(f"{what}: a has {sa} columns to contract (transp_a={transp_a}) but b has {sb} rows "
                        f"(transp_b={transp_b})")
    k = te.reduce_axis((0, red_a), name="k")

    def body(i: Any, j: Any) -> PrimExpr:
        va = a[k, i] if transp_a else a[i, k]
        vb = b[j, k] if transp_b else b[k, j]
        return te.sum(va * vb, axis=k)
    return te.compute((m, n), body, name="T_matmul", tag="matmul")


def _parse_term(term: str, what: str) -> tuple[list[str], int | None]:
    """The labels of one subscript term and where its ellipsis sits among them (None: no ellipsis)."""
    where = None
    if term.count(_ELLIPSIS) > 1:
        raise ExprError(f"{what}: subscripts term '{term}' has more than one ellipsis '...'")
    if _ELLIPSIS in term:
        where = term.index(_ELLIPSIS)
        term = term.replace(_ELLIPSIS, "")
    for ch in term:
        if not ch.isascii() or not ch.isalpha():
            raise ExprError(f"{what}: subscripts may only hold letters, ',', '->' and '...', got {ch!r} "
                            f"in '{term}'")
    return list(term), where


def _broadcast_dims(dims: list[Any], other: list[Any], what: str) -> list[Any]:
    """numpy broadcasting of two ellipsis shapes, aligned at the right."""
    if len(other) > len(dims):
        dims, other = other, dims
    out = list(dims)
    for k in range(1, len(other) + 1):
        x, y = static_dim(out[-k]), static_dim(other[-k])
        if x == 1:
            out[-k] = other[-k]
        elif y is not None and y != 1 and x is not None and x != y:
            raise ExprError(f"{what}: the dimensions covered by '...' do not broadcast ({x} against {y})")
    return out


def einsum(subscripts: str, *operand: Tensor) -> Tensor:
    """numpy.einsum: ``einsum("ij,jk->ik", A, B)``; the implicit form (``"ij,jk"``), repeated indices in one
    operand (``"ii->i"``, trace ``"ii"``), broadcasting ``...`` and any number of operands."""
    what = "einsum"
    if len(operand) == 1 and isinstance(operand[0], (list, tuple)):
        operand = tuple(operand[0])  # einsum(subscripts, [A, B]), as some TVM callers pass them
    if not isinstance(subscripts, str):
        raise ExprError(f"{what}: subscripts must be a string such as 'ij,jk->ik', got {subscripts!r}")
    if not operand:
        raise ExprError(f"{what}: needs at least one operand")
    for n, t in enumerate(operand):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: operand {n} must be a tensor, got {t!r}")
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1 or ("-" in spec.replace("->", "")) or (">" in spec.replace("->", "")):
        raise ExprError(f"{what}: subscripts '{subscripts}' must have at most one '->'")
    lhs, explicit, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operand):
        raise ExprError(f"{what}: subscripts '{subscripts}' name {len(terms)} operand(s) but {len(operand)} "
                        f"were given")

    # Label sizes, checked across operands (a size-1 dimension broadcasts, as numpy allows) and within one.
    parsed = [_parse_term(term, what) for term in terms]
    sizes: dict[str, Any] = {}
    ell_shape: list[Any] = []
    ell_count: list[int] = []
    for n, ((labels, pos), t) in enumerate(zip(parsed, operand)):
        ndim = len(t.shape)
        n_ell = ndim - len(labels)
        if n_ell < 0 or (pos is None and n_ell != 0):
            raise ExprError(f"{what}: subscripts term '{terms[n]}' has {len(labels)} index(es) for operand {n} "
                            f"of {ndim} dimension(s)")
        ell_count.append(n_ell)
        dims = list(t.shape)
        own = dims[pos:pos + n_ell] if pos is not None else []
        ell_shape = _broadcast_dims(ell_shape, own, what)
        label_dims = dims[:pos] + dims[pos + n_ell:] if pos is not None else dims
        mine: dict[str, Any] = {}
        for lab, dim in zip(labels, label_dims):
            if lab in mine and static_dim(mine[lab]) is not None and static_dim(dim) is not None \
                    and static_dim(mine[lab]) != static_dim(dim):
                raise ExprError(f"{what}: index '{lab}' repeats in operand {n} over dimensions of different "
                                f"sizes ({static_dim(mine[lab])} and {static_dim(dim)})")
            mine.setdefault(lab, dim)
            known = sizes.get(lab)
            if known is None or static_dim(known) == 1:
                sizes[lab] = dim
            elif static_dim(dim) not in (None, 1) and static_dim(known) not in (None, static_dim(dim)):
                raise ExprError(f"{what}: index '{lab}' has size {static_dim(known)} in one operand and "
                                f"{static_dim(dim)} in operand {n}")

    counts: dict[str, int] = {}
    for labels, _ in parsed:
        for lab in labels:
            counts[lab] = counts.get(lab, 0) + 1
    any_ellipsis = any(pos is not None for _, pos in parsed)
    if explicit:
        out_labels, out_pos = _parse_term(rhs, what)
        for lab in out_labels:
            if out_labels.count(lab) > 1:
                raise ExprError(f"{what}: output subscripts '{rhs}' repeat index '{lab}'")
            if lab not in sizes:
                raise ExprError(f"{what}: output index '{lab}' does not appear in the input subscripts")
        if out_pos is None and ell_shape:
            raise ExprError(f"{what}: the inputs' '...' covers {len(ell_shape)} dimension(s) but the output "
                            f"subscripts '{rhs}' have no '...' to keep them")
    else:
        # numpy's implicit output: the broadcast dimensions, then the indices seen once in ASCII order.
        out_labels = sorted(lab for lab, c in counts.items() if c == 1)
        out_pos = 0 if any_ellipsis else None

    reduce_labels = [lab for lab in sizes if lab not in out_labels]
    raxes = {lab: te.reduce_axis((0, sizes[lab]), name=lab) for lab in reduce_labels}
    n_ell_out = len(ell_shape) if out_pos is not None else 0
    shape = [sizes[lab] for lab in out_labels]
    if out_pos is not None:
        shape[out_pos:out_pos] = ell_shape

    dtype = common_dtype(operand, what)

    def read(n: int, idx: dict[str, Any], ell_idx: list[Any]) -> PrimExpr:
        labels, pos = parsed[n]
        t = operand[n]
        dims = list(t.shape)
        out: list[Any] = []
        for lab in labels:
            out.append(idx[lab])
        if pos is not None:
            count = ell_count[n]
            own = ell_idx[len(ell_idx) - count:] if count else []
            out[pos:pos] = own
        # A size-1 dimension read against a larger index broadcasts: read its only element.  Each
        # operand goes straight to the common dtype, as numpy's einsum casts them all first.
        return t(*[0 if static_dim(d) == 1 else x for d, x in zip(dims, out)]).astype(dtype)

    def body(*i: Any) -> PrimExpr:
        i = list(i)
        ell_idx = i[out_pos:out_pos + n_ell_out] if out_pos is not None else []
        free = i[:out_pos] + i[out_pos + n_ell_out:] if out_pos is not None else i
        idx: dict[str, Any] = dict(zip(out_labels, free))
        idx.update(raxes)
        value = read(0, idx, ell_idx)
        for n in range(1, len(operand)):
            value = value * read(n, idx, ell_idx)
        return te.sum(value, axis=list(raxes.values())) if raxes else value
    # The output's index variables take their labels' names (the broadcast ones e0, e1 ...), as the
    # reduction's do: lowered code and bounds errors then read pl1[j, k], not pl1[j, j].
    names = list(out_labels)
    if out_pos is not None:
        names[out_pos:out_pos] = [f"e{k}" for k in range(n_ell_out)]
    body.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names])
    return te.compute(shape, body, name="T_einsum", tag="einsum")


__all__ = ["einsum", "matmul"]
