"""Bound inference through the int64 -> int32 casts of a fused symbolic axis: a stage computed
at the outer loop of fuse + split covers only the rows that iteration reads (as TVM's does),
and the result still matches numpy."""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.arith import simplify
from tensorlang.schedule.bound import infer_bound
from tensorlang.schedule.inline import effective_bodies
from tensorlang.te.functor import substitute


def _fused_split():
    m, n, f = te.var("m"), te.var("n"), te.var("f")
    A = te.placeholder((m, n), name="A")
    B = te.compute((m, n), lambda i, j: A[i, j] + 1, name="B")
    C = te.compute((m, n), lambda i, j: B[i, j] * 2, name="C")
    s = te.create_schedule(C.op)
    xo, _ = s[C].split(s[C].fuse(*C.op.axis), f)
    s[B].compute_at(s[C], xo)
    return s, (A, B, C), (m, n, f, xo)


def test_the_attached_region_is_narrowed_through_the_casts() -> None:
    s, (A, B, C), (m, n, f, xo) = _fused_split()
    bounds = infer_bound(s, effective_bodies(s))
    rows = bounds.ranges[B.op.axis[0]]
    for mv, nv, fv, x in [(7, 5, 3, 4), (9, 4, 8, 1), (3, 3, 9, 0)]:
        env = {m: te.const(mv), n: te.const(nv), f: te.const(fv), xo.var: te.const(x, "int64")}
        lo = simplify(substitute(rows.min, env)).value
        ext = simplify(substitute(rows.extent, env)).value
        assert (lo, ext) == (x * fv // nv, ((x + 1) * fv - 1) // nv - x * fv // nv + 1)  # TVM's region


def test_the_narrowed_schedule_matches_numpy() -> None:
    s, (A, B, C), (m, n, f, _) = _fused_split()
    func = tl.build(s, [A, C, f])
    a = np.random.default_rng(5).standard_normal((7, 5)).astype("float32")
    for fv in (1, 3, 35, 40):
        c = np.zeros((7, 5), "float32")
        func(a, c, fv)
        np.testing.assert_array_equal(c, (a + 1) * 2)
