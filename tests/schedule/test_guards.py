"""Guards of two or more loop variables (schedule/guards.py): a read under ``i + j < n``,
``2*i + 1 < n``, conjunctions, disjunctions and ``!=`` is checked over exactly the points where
its guard holds: right guards build and match numpy, wrong ones are a LoweringError naming the
read. A randomized comparison with brute force over small domains checks both directions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.arith import simplify
from tensorlang.errors import LoweringError
from tensorlang.schedule.guards import Path, index_bounds, linear, narrow
from tensorlang.te import expr as E
from tensorlang.te.functor import substitute

N = 12
rng = np.random.default_rng(0)

RIGHT = {
    "i + j < n": (lambda i, j: i + j < N, lambda i, j: i + j),
    "n > i + j": (lambda i, j: N > i + j, lambda i, j: i + j),
    "2i + 1 < n": (lambda i, j: 2 * i + 1 < N, lambda i, j: 2 * i + 1),
    "i - j >= 0": (lambda i, j: i - j >= 0, lambda i, j: i - j),
    "and, shifted": (lambda i, j: te.all(i >= 1, i + j <= N), lambda i, j: i + j - 1),
    "padding": (lambda i, j: te.all(i + j >= 3, i + j < N + 3), lambda i, j: i + j - 3),
    "strided window": (lambda i, j: te.all(2 * i + j >= 1, 2 * i + j <= N), lambda i, j: 2 * i + j - 1),
    "flattened": (lambda i, j: i * 3 + j < N, lambda i, j: i * 3 + j),
    "or": (lambda i, j: te.any(i + j < N, te.all(i >= N, j < 0)), lambda i, j: i + j),
    "not equal trims": (lambda i, j: te.all(i >= j, i - j != N - 1), lambda i, j: i - j + 1),
}
WRONG = {
    "i + j <= n": (lambda i, j: i + j <= N, lambda i, j: i + j, r"0\.\.12"),
    "2i + 1 < n + 2": (lambda i, j: 2 * i + 1 < N + 2, lambda i, j: 2 * i + 1, r"1\.\.13"),
    "i - j >= -1": (lambda i, j: i - j >= -1, lambda i, j: i - j, r"-1\.\.11"),
    "and, unshifted": (lambda i, j: te.all(i >= 1, i + j <= N), lambda i, j: i + j, r"1\.\.12"),
    "or, one side wrong": (lambda i, j: te.any(i + j < N, i == j), lambda i, j: i + j, r"\.\.22"),
}


def _guarded(cond, index, else_side: bool = False):
    A = te.placeholder((N,), name="A")
    if else_side:
        body = lambda i, j: te.if_then_else(~cond(i, j), 0.0, A[index(i, j)])  # noqa: E731
    else:
        body = lambda i, j: te.if_then_else(cond(i, j), A[index(i, j)], 0.0)  # noqa: E731
    B = te.compute((N, N), body, name="B")
    return A, B


def _expected(a, cond_np, index_np):
    want = np.zeros((N, N), "float32")
    for i, j in itertools.product(range(N), range(N)):
        if cond_np(i, j):
            want[i, j] = a[index_np(i, j)]
    return want


@pytest.mark.parametrize("name", sorted(RIGHT))
@pytest.mark.parametrize("else_side", [False, True])
def test_right_multi_variable_guards_build_and_match_numpy(name: str, else_side: bool) -> None:
    cond, index = RIGHT[name]
    A, B = _guarded(cond, index, else_side)
    f = tl.build(te.create_schedule(B.op), [A, B])
    a = rng.standard_normal(N).astype("float32")
    b = np.zeros((N, N), "float32")
    f(a, b)
    np.testing.assert_array_equal(b, _expected(a, lambda x, y: _value(cond, x, y), lambda x, y: _value(index, x, y)))


def _value(fn, x: int, y: int) -> int:
    """A guard or index lambda evaluated at one point (through constant folding)."""
    return simplify(E.convert(fn(te.const(x), te.const(y)))).value


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_multi_variable_guards_are_lowering_errors(name: str) -> None:
    cond, index, reach = WRONG[name]
    A, B = _guarded(cond, index)
    with pytest.raises(LoweringError, match=rf"stage B reads A\[.*out of bounds: index 0 .*reaches .*{reach}"):
        tl.lower(te.create_schedule(B.op), [A, B])


def test_conv_style_padding_guard_over_a_reduction_builds() -> None:
    """A 1-D convolution reading X[y + r - 1] under 1 <= y + r < H + 1: no padded copy needed."""
    H, K = 9, 3
    X = te.placeholder((H,), name="X")
    W = te.placeholder((K,), name="W")
    r = te.reduce_axis((0, K), "r")
    Y = te.compute((H,), lambda y: te.sum(te.if_then_else(te.all(y + r >= 1, y + r < H + 1), X[y + r - 1], 0.0)
                                         * W[r], axis=r), name="Y")
    f = tl.build(te.create_schedule(Y.op), [X, W, Y])
    x, w = rng.standard_normal(H).astype("float32"), rng.standard_normal(K).astype("float32")
    y = np.zeros(H, "float32")
    f(x, w, y)
    np.testing.assert_allclose(y, np.convolve(np.pad(x, 1), w[::-1], "valid"), rtol=1e-5, atol=1e-6)
    Z = te.compute((H,), lambda y: te.sum(X[y + r - 1] * W[r], axis=r, where=y + r < H + 1), name="Z")
    with pytest.raises(LoweringError, match=r"stage Z reads X\[y \+ r - 1\].*reaches -1\.\.8"):
        tl.lower(te.create_schedule(Z.op), [X, W, Z])


def _random_guard(rs: np.random.Generator, i: E.Var, j: E.Var, depth: int = 0) -> E.PrimExpr:
    if depth < 2 and rs.random() < 0.4:
        a, b = _random_guard(rs, i, j, depth + 1), _random_guard(rs, i, j, depth + 1)
        return [E.And, E.Or][rs.integers(2)](a, b) if rs.random() < 0.8 else E.Not(a)
    form = int(rs.integers(-3, 4)) * i + int(rs.integers(-3, 4)) * j
    cmp = [E.LT, E.LE, E.GT, E.GE, E.EQ, E.NE][rs.integers(6)]
    return cmp(form, E.const(int(rs.integers(-6, 14))))


def test_random_guards_agree_with_brute_force() -> None:
    """narrow() never drops a point where the guard holds, and index_bounds() never misses a value;
    the reads it calls wrong are exactly those brute force finds outside."""
    rs = np.random.default_rng(1234)
    i, j = E.Var("i", "int32"), E.Var("j", "int32")
    box = {i: (0, 5), j: (0, 4)}
    points = list(itertools.product(range(6), range(5)))
    checked = 0
    for _ in range(400):
        cond = _random_guard(rs, i, j)
        holds = [p for p in points if simplify(substitute(cond, {i: E.const(p[0]), j: E.const(p[1])})).value]
        paths = narrow(cond, True, Path(dict(box)))
        if paths is None:
            continue
        checked += 1
        idx = linear(int(rs.integers(-2, 3)) * i + int(rs.integers(-2, 3)) * j + int(rs.integers(-3, 4)))
        for p in holds:
            on = [path for path in paths if all(path.ranges[v][0] <= x <= path.ranges[v][1] for v, x in zip((i, j), p))
                  and all(c.holds({i: p[0], j: p[1]}) for c in path.constraints)]
            assert on, (cond, p, paths)
            value = idx.value({i: p[0], j: p[1]})
            assert any(index_bounds(idx, path)[0] <= value <= index_bounds(idx, path)[1] for path in on)
    assert checked > 300


def test_random_guarded_reads_are_rejected_exactly_when_brute_force_finds_one_outside() -> None:
    rs = np.random.default_rng(99)
    H, W = 6, 5
    A = te.placeholder((8,), name="A")
    verdicts = set()
    for _ in range(60):
        ci, cj, c0 = (int(x) for x in (rs.integers(-2, 3), rs.integers(-2, 3), rs.integers(-3, 6)))
        guard_of = {}

        def body(i, j):
            guard_of["g"] = _random_guard(rs, i, j)
            return te.if_then_else(guard_of["g"], A[ci * i + cj * j + c0], 0.0)
        B = te.compute((H, W), body, name="B")
        iv, jv = B.op.axis[0].var, B.op.axis[1].var
        outside = any(
            simplify(substitute(guard_of["g"], {iv: E.const(x), jv: E.const(y)})).value
            and not 0 <= ci * x + cj * y + c0 < 8 for x in range(H) for y in range(W))
        if narrow(guard_of["g"], True, Path({iv: (0, H - 1), jv: (0, W - 1)})) is None:
            continue  # not understood: left to the guard
        try:
            tl.lower(te.create_schedule(B.op), [A, B])
            rejected = False
        except LoweringError:
            rejected = True
        assert rejected == outside, (guard_of["g"], ci, cj, c0)
        verdicts.add(rejected)
    assert verdicts == {True, False}
