"""Tests of unroll_loops, vectorize_loops and remove_no_op: output structure, and identical results
from the reference interpreter before and after each pass on fresh random inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tensorlang.errors import LoweringError
from tensorlang.ir.passes import remove_no_op, unroll_loops, vectorize_loops
from tensorlang.ir.stmt import (
    Allocate,
    Evaluate,
    For,
    ForKind,
    IfThenElse,
    LetStmt,
    SeqStmt,
    Stmt,
    Store,
    is_no_op,
    no_op,
    seq,
)
from tensorlang.te.expr import (
    Add,
    BinaryOp,
    Broadcast,
    Call,
    Div,
    FloatImm,
    FloorDiv,
    FloorMod,
    IntImm,
    Let,
    Load,
    Mod,
    PrimExpr,
    Ramp,
    Select,
    Var,
    cast,
    const,
    if_then_else,
)
from tensorlang.te.functor import post_order_visit

from .interp import run

F32 = "float32"


# --- helpers --------------------------------------------------------------------------

def _buf(name: str) -> Var:
    return Var(name, "handle")


def _loop(var: Var, extent: Any, body: Stmt, kind: ForKind = ForKind.SERIAL,
          annotations: tuple = ()) -> For:
    return For(var, const(0), const(extent) if isinstance(extent, int) else extent, kind, body,
               annotations=annotations)


def _load(buf: Var, index: PrimExpr) -> Load:
    return Load(F32, buf, index)


def _nodes(stmt: Any, cls: type) -> list[Any]:
    found: list[Any] = []
    post_order_visit(stmt, lambda n: found.append(n) if isinstance(n, cls) else None)
    return found


def _assert_vector_invariants(stmt: Stmt) -> None:
    """What vectorize_loops guarantees: no VECTORIZED loop, and lanes agree everywhere."""
    assert not [f for f in _nodes(stmt, For) if f.kind is ForKind.VECTORIZED]
    for op in _nodes(stmt, BinaryOp):
        assert op.a.dtype.lanes == op.b.dtype.lanes, op
    for st in _nodes(stmt, Store):
        assert st.value.dtype.lanes == st.index.dtype.lanes, st
        if st.predicate is not None:
            assert st.predicate.dtype.is_bool and st.predicate.dtype.lanes == st.index.dtype.lanes
    for ld in _nodes(stmt, Load):
        if ld.predicate is not None:
            assert ld.predicate.dtype.is_bool and ld.predicate.dtype.lanes == ld.index.dtype.lanes
    for sel in _nodes(stmt, Select):
        assert sel.condition.dtype.lanes == sel.dtype.lanes


def _random(rng: np.random.Generator, size: int, dtype: str) -> np.ndarray:
    if dtype.startswith("float"):
        return rng.standard_normal(size).astype(dtype)
    return rng.integers(-50, 50, size).astype(dtype)


def _assert_same_results(before: Stmt, after: Stmt, buffers: dict[Var, tuple[int, str]],
                         scalars: dict[Var, int] | None = None, exact: bool = True) -> None:
    """Run both statements on copies of the same fresh random buffers; every buffer must match."""
    rng = np.random.default_rng()
    inputs = {var: _random(rng, size, dtype) for var, (size, dtype) in buffers.items()}
    expected = {var: arr.copy() for var, arr in inputs.items()}
    actual = {var: arr.copy() for var, arr in inputs.items()}
    run(before, expected, scalars or {})
    run(after, actual, scalars or {})
    for var in buffers:
        if exact:
            np.testing.assert_array_equal(actual[var], expected[var], err_msg=var.name)
        else:
            np.testing.assert_allclose(actual[var], expected[var], rtol=1e-6, err_msg=var.name)


# --- hand-built loop nests ------------------------------------------------------------

def _tail_add(n: Var, a: Var, b: Var, c: Var) -> Stmt:
    """c[x] = a[x] + b[x] for x < n, split by 16 with a guarded tail, xi vectorized."""
    xo, xi = Var("xo"), Var("xi")
    x = xo * 16 + xi
    body = IfThenElse(x < n, Store(c, _load(a, x) + _load(b, x), x))
    return _loop(xo, (n + 15) // 16, _loop(xi, 16, body, ForKind.VECTORIZED))


def _stencil(h: Var, width: int, a: Var, b: Var) -> Stmt:
    """b[i, x] = a[i, x] + a[i-1, x] + a[i, x-1], the neighbours read under Select guards."""
    i, xo, xi = Var("i"), Var("xo"), Var("xi")
    x = xo * 8 + xi
    up = if_then_else(i >= 1, _load(a, (i - 1) * width + x), 0.0)  # lane-invariant guard
    left = if_then_else(x >= 1, _load(a, i * width + x - 1), 0.0)  # lane-varying guard
    store = Store(b, _load(a, i * width + x) + up + left, i * width + x)
    return _loop(i, h, _loop(xo, width // 8, _loop(xi, 8, store, ForKind.VECTORIZED)))


def _matvec(k_extent: Any, a: Var, v: Var, c: Var, rows: int, k_stride: Any) -> Stmt:
    """c[x] = sum_k a[x, k] * v[k], an inner serial reduction loop inside a vectorized x."""
    xo, xi, k = Var("xo"), Var("xi"), Var("k")
    x = xo * 8 + xi
    update = Store(c, _load(c, x) + _load(a, x * k_stride + k) * _load(v, k), x)
    body = seq(Store(c, const(0.0), x), _loop(k, k_extent, update))
    return _loop(xo, rows // 8, _loop(xi, 8, body, ForKind.VECTORIZED))


# --- vectorize_loops: structure -------------------------------------------------------

def test_vectorize_guarded_tail_predicates_store_and_loads() -> None:
    n, a, b, c = Var("n"), _buf("A"), _buf("B"), _buf("C")
    out = vectorize_loops(_tail_add(n, a, b, c))
    _assert_vector_invariants(out)
    (store,) = _nodes(out, Store)
    assert isinstance(store.index, Ramp) and store.index.lanes == 16
    assert isinstance(store.index.stride, IntImm) and store.index.stride.value == 1
    assert store.predicate is not None and store.predicate.dtype.lanes == 16
    loads = _nodes(out, Load)
    assert len(loads) == 2
    assert all(isinstance(ld.index, Ramp) and ld.predicate is store.predicate for ld in loads)
    assert not _nodes(out, IfThenElse)  # the lane-varying if became the mask


def test_vectorize_stencil_predicates_each_select_arm() -> None:
    h, a, b = Var("h"), _buf("A"), _buf("B")
    out = vectorize_loops(_stencil(h, 24, a, b))
    _assert_vector_invariants(out)
    selects = _nodes(out, Select)
    assert len(selects) == 2 and all(s.dtype.lanes == 8 for s in selects)
    guarded = [ld for ld in _nodes(out, Load) if ld.predicate is not None]
    unguarded = [ld for ld in _nodes(out, Load) if ld.predicate is None]
    assert len(guarded) == 2 and len(unguarded) == 1
    assert all(isinstance(ld.index, Ramp) for ld in _nodes(out, Load))
    # The lane-invariant guard i >= 1 stays a broadcast scalar condition.
    assert any(isinstance(ld.predicate, Broadcast) for ld in guarded)


def test_vectorize_keeps_inner_serial_loop_and_strided_ramp() -> None:
    a, v, c = _buf("A"), _buf("V"), _buf("C")
    out = vectorize_loops(_matvec(5, a, v, c, 16, 5))
    _assert_vector_invariants(out)
    inner = [f for f in _nodes(out, For) if f.loop_var.name == "k"]
    assert len(inner) == 1 and inner[0].kind is ForKind.SERIAL
    a_load = next(ld for ld in _nodes(out, Load) if ld.buffer is a)
    assert isinstance(a_load.index, Ramp) and a_load.index.stride.value == 5
    v_load = next(ld for ld in _nodes(out, Load) if ld.buffer is v)
    assert v_load.dtype.lanes == 1  # lane-invariant: a scalar load, broadcast where combined
    assert any(isinstance(bc.value, Load) and bc.value is v_load for bc in _nodes(out, Broadcast))


def test_vectorize_rejects_reduction_over_lanes() -> None:
    a, s = _buf("A"), _buf("S")
    k = Var("k")
    stmt = _loop(k, 8, Store(s, _load(s, const(0)) + _load(a, k), const(0)), ForKind.VECTORIZED)
    message = "cannot vectorize loop k: the store to S reduces across its lanes"
    with pytest.raises(LoweringError, match=message):
        vectorize_loops(stmt)


def test_vectorize_rejects_lane_invariant_accumulation() -> None:
    s, k = _buf("S"), Var("k")
    # The value is the same in every lane, but the loop adds it 8 times.
    stmt = _loop(k, 8, Store(s, _load(s, const(0)) + 1.0, const(0)), ForKind.VECTORIZED)
    with pytest.raises(LoweringError, match="reduces across its lanes"):
        vectorize_loops(stmt)


def test_vectorize_requires_constant_extent() -> None:
    n, a, x = Var("n"), _buf("A"), Var("x")
    stmt = _loop(x, n, Store(a, const(1.0), x), ForKind.VECTORIZED)
    with pytest.raises(LoweringError, match=r"loop x.*split"):
        vectorize_loops(stmt)


def test_vectorize_affine_index_arithmetic_stays_ramp() -> None:
    a, b, x = _buf("A"), _buf("B"), Var("x")
    # 2*x - 1 + (x + 3) - x  ==  2*x + 2: a Ramp of stride 2.
    index = (x * 2 - 1) + (x + 3) - x
    out = vectorize_loops(_loop(x, 4, Store(b, _load(a, index), x), ForKind.VECTORIZED))
    (load,) = _nodes(out, Load)
    assert isinstance(load.index, Ramp) and load.index.stride.value == 2
    _assert_same_results(_loop(x, 4, Store(b, _load(a, index), x)), out, {a: (12, F32), b: (4, F32)})


def test_vectorize_reversed_index_is_negative_stride_ramp() -> None:
    a, b, x = _buf("A"), _buf("B"), Var("x")
    stmt = _loop(x, 8, Store(b, _load(a, 7 - x), x), ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    (load,) = _nodes(out, Load)
    assert isinstance(load.index, Ramp) and load.index.stride.value == -1
    _assert_same_results(stmt, out, {a: (8, F32), b: (8, F32)})


def test_vectorize_leaves_other_loops_untouched() -> None:
    a, x = _buf("A"), Var("x")
    stmt = _loop(x, 8, Store(a, const(1.0), x))
    assert vectorize_loops(stmt) is stmt


# --- vectorize_loops: fallbacks -------------------------------------------------------

def test_vectorize_falls_back_to_serial_on_allocate() -> None:
    a, b, t, x = _buf("A"), _buf("B"), _buf("T"), Var("x")
    body = Allocate(t, F32, const(1), "local",
                    seq(Store(t, _load(a, x) * 2.0, const(0)), Store(b, _load(t, const(0)), x)))
    stmt = _loop(x, 8, body, ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    (loop,) = _nodes(out, For)
    assert loop.kind is ForKind.SERIAL
    _assert_same_results(stmt, out, {a: (8, F32), b: (8, F32)})


def test_vectorize_nested_vectorized_loop_vectorizes_inner_only() -> None:
    a, b, i, j = _buf("A"), _buf("B"), Var("i"), Var("j")
    inner = _loop(j, 4, Store(b, _load(a, i * 4 + j) + 1.0, i * 4 + j), ForKind.VECTORIZED)
    stmt = _loop(i, 4, inner, ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    (loop,) = _nodes(out, For)
    assert loop.loop_var is i and loop.kind is ForKind.SERIAL
    assert isinstance(_nodes(out, Store)[0].index, Ramp)
    _assert_same_results(stmt, out, {a: (16, F32), b: (16, F32)})


@pytest.mark.parametrize("kind", [ForKind.PARALLEL, ForKind.THREAD_BINDING])
def test_vectorize_falls_back_on_parallel_inner_loop(kind: ForKind) -> None:
    a, i, j = _buf("A"), Var("i"), Var("j")
    stmt = _loop(i, 4, _loop(j, 2, Store(a, cast(i + j, F32), i * 2 + j), kind), ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    assert [f.kind for f in _nodes(out, For)] == [kind, ForKind.SERIAL]
    _assert_same_results(stmt, out, {a: (8, F32)})


def test_vectorize_falls_back_on_lane_varying_inner_extent() -> None:
    a, x, k = _buf("A"), Var("x"), Var("k")
    stmt = _loop(x, 4, _loop(k, x + 1, Store(a, _load(a, x) + 1.0, x)), ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    assert all(f.kind is ForKind.SERIAL for f in _nodes(out, For))
    _assert_same_results(stmt, out, {a: (4, F32)})


# --- vectorize_loops: semantics -------------------------------------------------------

@pytest.mark.parametrize("n", [1, 16, 37, 48])
def test_vectorize_guarded_tail_semantics(n: int) -> None:
    nv, a, b, c = Var("n"), _buf("A"), _buf("B"), _buf("C")
    stmt = _tail_add(nv, a, b, c)
    # Buffers are exactly n long: a missing predicate reads or writes out of bounds.
    _assert_same_results(stmt, vectorize_loops(stmt), {a: (n, F32), b: (n, F32), c: (n, F32)}, {nv: n})


def test_vectorize_stencil_semantics() -> None:
    h, a, b = Var("h"), _buf("A"), _buf("B")
    stmt = _stencil(h, 24, a, b)
    _assert_same_results(stmt, vectorize_loops(stmt), {a: (5 * 24, F32), b: (5 * 24, F32)}, {h: 5})


@pytest.mark.parametrize("symbolic_k", [False, True])
def test_vectorize_inner_reduction_loop_semantics(symbolic_k: bool) -> None:
    a, v, c, kv = _buf("A"), _buf("V"), _buf("C"), Var("K")
    k_extent = kv if symbolic_k else 7
    stmt = _matvec(k_extent, a, v, c, 16, k_extent)
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    _assert_same_results(stmt, out, {a: (16 * 7, F32), v: (7, F32), c: (16, F32)}, {kv: 7})


def test_vectorize_if_else_with_condition_reading_written_buffer() -> None:
    a, b, x = _buf("A"), _buf("B"), Var("x")
    # The then-branch overwrites A[x], which the condition reads: the mask must be taken first.
    cond = _load(a, x) > 0.0
    stmt = _loop(x, 8, IfThenElse(cond, seq(Store(a, 0.0 - _load(a, x), x), Store(b, const(1.0), x)),
                                  Store(b, const(2.0), x)), ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    assert isinstance(out, LetStmt) and out.var.dtype.lanes == 8
    assert all(st.predicate is not None for st in _nodes(out, Store))
    _assert_same_results(stmt, out, {a: (8, F32), b: (8, F32)})


def test_vectorize_lane_invariant_access_under_mask() -> None:
    a, b, s, n = _buf("A"), _buf("B"), _buf("S"), Var("n")
    xo, xi = Var("xo"), Var("xi")
    x = xo * 4 + xi
    # A has one element per block that holds a valid x: A[xo] of a fully masked block is out of
    # bounds, so the lane-invariant load must be predicated too; S[0] is stored by any lane.
    body = IfThenElse(x < n, seq(Store(b, _load(a, xo), x), Store(s, cast(xo, F32), const(0))))
    stmt = _loop(xo, 3, _loop(xi, 4, body, ForKind.VECTORIZED))
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    assert all(ld.predicate is not None for ld in _nodes(out, Load))
    _assert_same_results(stmt, out, {a: (2, F32), b: (12, F32), s: (1, F32)}, {n: 5})


def test_vectorize_let_cast_and_call_semantics() -> None:
    a, b, c, x = _buf("A"), _buf("B"), _buf("C"), Var("x")
    t, idx = Var("t", F32), Var("idx")
    value = Let(t, _load(a, x) * 2.0, t + Call(F32, "exp", [cast(x, F32) * 0.1]))
    body = LetStmt(idx, x + 3, seq(Store(b, value, x), Store(c, _load(a, idx - 3) + 1.0, idx - 3)))
    stmt = _loop(x, 8, body, ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    # The let-bound Ramp keeps the store index affine (a contiguous access).
    assert all(isinstance(st.index, Ramp) for st in _nodes(out, Store))
    assert any(c.dtype.lanes == 8 for c in _nodes(out, Call))
    _assert_same_results(stmt, out, {a: (8, F32), b: (8, F32), c: (8, F32)}, exact=False)


def test_vectorize_integer_division_and_nested_selects() -> None:
    a, b, x = _buf("A"), _buf("B"), Var("x")
    q = (x - 5) // 3 + (x - 5) % 3
    value = if_then_else(x < 3, if_then_else(x > 0, Load("int32", a, x - 1), -1), Load("int32", a, q + 2))
    stmt = _loop(x, 8, Store(b, value, x), ForKind.VECTORIZED)
    out = vectorize_loops(stmt)
    _assert_vector_invariants(out)
    _assert_same_results(stmt, out, {a: (8, "int32"), b: (8, "int32")})


# --- unroll_loops ---------------------------------------------------------------------

def _scale_2d(a: Var, b: Var, outer: ForKind, inner: ForKind, annotations: tuple = ()) -> Stmt:
    i, j = Var("i"), Var("j")
    store = Store(b, _load(a, i * 3 + j) * 2.0, i * 3 + j)
    return _loop(i, 4, _loop(j, 3, store, inner), outer, annotations)


def test_unroll_replaces_unrolled_nest_with_folded_copies() -> None:
    a, b = _buf("A"), _buf("B")
    stmt = _scale_2d(a, b, ForKind.UNROLLED, ForKind.UNROLLED)
    out = unroll_loops(stmt)
    assert not _nodes(out, For)
    stores = _nodes(out, Store)
    assert [st.index.value for st in stores] == list(range(12))  # indices fold to constants
    _assert_same_results(stmt, out, {a: (12, F32), b: (12, F32)})


def test_unroll_non_constant_extent_becomes_serial() -> None:
    a, n, i = _buf("A"), Var("n"), Var("i")
    stmt = _loop(i, n, Store(a, const(1.0), i), ForKind.UNROLLED)
    out = unroll_loops(stmt)
    assert isinstance(out, For) and out.kind is ForKind.SERIAL


def test_unroll_pragma_unroll_annotation() -> None:
    a, b = _buf("A"), _buf("B")
    stmt = _scale_2d(a, b, ForKind.SERIAL, ForKind.SERIAL, (("pragma_unroll", 1),))
    out = unroll_loops(stmt)
    loops = _nodes(out, For)
    assert len(loops) == 4 and all(f.loop_var.name == "j" for f in loops)
    _assert_same_results(stmt, out, {a: (12, F32), b: (12, F32)})


@pytest.mark.parametrize("limit, remaining", [(12, []), (11, ["i"]), (2, ["i", "j"])])
def test_unroll_auto_max_step_annotation(limit: int, remaining: list[str]) -> None:
    a, b = _buf("A"), _buf("B")
    stmt = _scale_2d(a, b, ForKind.SERIAL, ForKind.SERIAL, (("pragma_auto_unroll_max_step", limit),))
    out = unroll_loops(stmt)
    loops = _nodes(out, For)
    assert sorted({f.loop_var.name for f in loops}) == remaining
    assert all(not f.annotations for f in loops)  # the limit is consumed by the pass
    _assert_same_results(stmt, out, {a: (12, F32), b: (12, F32)})


def test_unroll_auto_max_step_argument_skips_non_serial_loops() -> None:
    a, b = _buf("A"), _buf("B")
    stmt = _scale_2d(a, b, ForKind.PARALLEL, ForKind.SERIAL)
    out = unroll_loops(stmt, auto_max_step=16)
    (loop,) = _nodes(out, For)
    assert loop.kind is ForKind.PARALLEL and len(_nodes(out, Store)) == 3
    assert unroll_loops(stmt) is stmt  # no limit: nothing to do


def test_unroll_then_vectorize_then_remove_no_op_pipeline() -> None:
    n, a, b, c = Var("n"), _buf("A"), _buf("B"), _buf("C")
    xo, xi = Var("xo"), Var("xi")
    x = xo * 8 + xi
    body = IfThenElse(x < n, Store(c, _load(a, x) * _load(b, x), x))
    stmt = _loop(xo, 3, _loop(xi, 8, body, ForKind.VECTORIZED), ForKind.UNROLLED)
    out = remove_no_op(vectorize_loops(unroll_loops(stmt)))
    assert not _nodes(out, For) and len(_nodes(out, Store)) == 3
    _assert_vector_invariants(out)
    _assert_same_results(stmt, out, {a: (20, F32), b: (20, F32), c: (20, F32)}, {n: 20})


# --- remove_no_op ---------------------------------------------------------------------

def test_remove_no_op_drops_dead_statements_and_flattens() -> None:
    a, t, n, i, j = _buf("A"), _buf("T"), Var("n"), Var("i"), Var("j")
    live = Store(a, const(1.0), const(0))
    stmt = SeqStmt([
        Evaluate(const(3)),
        _loop(i, 0, live),
        _loop(i, n, no_op()),
        IfThenElse(const(False), live, None),
        IfThenElse(n > 2, no_op(), Evaluate(const(0))),
        Allocate(t, F32, const(4), "local", Evaluate(const(1))),
        SeqStmt([live, SeqStmt([no_op(), _loop(j, n, seq(no_op(), no_op()))])]),
    ])
    out = remove_no_op(stmt)
    assert out is live


def test_remove_no_op_constant_condition_and_negated_else() -> None:
    a, n = _buf("A"), Var("n")
    s1, s2 = Store(a, const(1.0), const(0)), Store(a, const(2.0), const(0))
    assert remove_no_op(IfThenElse(const(True), s1, s2)) is s1
    assert remove_no_op(IfThenElse(const(False), s1, s2)) is s2
    out = remove_no_op(IfThenElse(n > 3, Evaluate(const(0)), s2))
    assert isinstance(out, IfThenElse) and out.else_case is None and out.then_case is s2
    for value in (2, 5):
        _assert_same_results(IfThenElse(n > 3, no_op(), s2), out, {a: (1, F32)}, {n: value})


def test_remove_no_op_unit_loop_substitutes_min() -> None:
    a, i, k = _buf("A"), Var("i"), Var("k")
    unit = For(k, const(2), const(1), ForKind.PARALLEL, Store(a, cast(i + k, F32), i + k))
    stmt = _loop(i, 3, unit)
    out = remove_no_op(stmt)
    assert [f.loop_var.name for f in _nodes(out, For)] == ["i"]
    _assert_same_results(stmt, out, {a: (6, F32)})
    bound = For(k, const(0), const(1), ForKind.THREAD_BINDING, Store(a, const(1.0), k),
                thread_tag="threadIdx.x")
    assert remove_no_op(bound) is bound  # the thread binding still shapes the launch


def test_remove_no_op_keeps_live_code_identical() -> None:
    a, b = _buf("A"), _buf("B")
    stmt = _scale_2d(a, b, ForKind.SERIAL, ForKind.SERIAL)
    assert remove_no_op(stmt) is stmt
    assert is_no_op(remove_no_op(Evaluate(FloatImm(F32, 1.0))))


# --- the interpreter itself -----------------------------------------------------------

def _eval(expr: PrimExpr) -> Any:
    out = _buf("OUT")
    buf = {out: np.zeros(max(expr.dtype.lanes, 1), dtype=expr.dtype.numpy())}
    index = Ramp(const(0), const(1), expr.dtype.lanes) if expr.dtype.lanes > 1 else const(0)
    run(Store(out, expr, index), buf, {})
    return buf[out]


def test_interp_integer_division_semantics() -> None:
    seven, two = const(-7), const(2)
    assert _eval(Div(seven, two))[0] == -3 and _eval(Mod(seven, two))[0] == -1
    assert _eval(FloorDiv(seven, two))[0] == -4 and _eval(FloorMod(seven, two))[0] == 1
    assert _eval(Add(const(2**31 - 1), const(1)))[0] == -(2**31)  # wraps like int32
    p, q, o = Var("p"), Var("q"), _buf("O")
    for op in (Div, Mod, FloorDiv, FloorMod):  # numpy: a zero divisor gives 0, never a trap
        out = {o: np.full(1, 9, np.int32)}
        run(Store(o, op(p, q), const(0)), out, {p: 1, q: 0})
        assert out[o][0] == 0
    out = {o: np.zeros(1, np.int32)}
    run(Store(o, FloorDiv(p, q), const(0)), out, {p: -2**31, q: -1})
    assert out[o][0] == -2**31  # INT_MIN // -1 wraps


def test_interp_vector_load_respects_predicate_and_bounds() -> None:
    a, b = _buf("A"), _buf("B")
    ramp = Ramp(const(-2), const(1), 4)
    mask = Ramp(const(-2), const(1), 4) >= Broadcast(const(0), 4)
    data = {a: np.arange(4, dtype=np.float32), b: np.zeros(4, dtype=np.float32)}
    run(Store(b, Load(F32, a, ramp, mask), Ramp(const(0), const(1), 4)), data, {})
    np.testing.assert_array_equal(data[b], [0, 0, 0, 1])
    with pytest.raises(IndexError, match="out of bounds"):
        run(Store(b, Load(F32, a, ramp), Ramp(const(0), const(1), 4)), data, {})
