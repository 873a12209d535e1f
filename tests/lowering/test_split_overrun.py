"""An axis split, then its inner (or outer) part split again by a factor that does not divide
it: the overrunning iterations must be skipped, not run on the next outer iteration's points
(they summed some elements twice).  Random nested splits of spatial and reduction axes, with
constant and symbolic extents, against numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te


def _nest(stage, axis, factors, which):
    """Split ``axis`` by factors[0], then the part ``which`` picks by factors[1], and so on."""
    leaves = [axis]
    for f, w in zip(factors, which):
        target = leaves.pop(w % len(leaves))
        outer, inner = stage.split(target, factor=f)
        leaves += [outer, inner]
    return leaves


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 13), m=st.integers(1, 11), fi=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       fk=st.lists(st.integers(1, 5), min_size=1, max_size=3), wi=st.lists(st.integers(0, 3), min_size=3, max_size=3),
       wk=st.lists(st.integers(0, 3), min_size=3, max_size=3), symbolic=st.booleans(), seed=st.integers(0, 2**16))
def test_nested_splits_of_a_row_sum_match_numpy(n, m, fi, fk, wi, wk, symbolic, seed):
    rows = te.var("rows") if symbolic else n
    A = te.placeholder((rows, m), "int32", name="A")
    k = te.reduce_axis((0, m), name="k")
    S = te.compute((rows,), lambda i: te.sum(A[i, k] * (k + 1), axis=k), name="S")
    s = te.create_schedule(S.op)
    ileaves = _nest(s[S], S.op.axis[0], fi, wi)
    kleaves = _nest(s[S], k, fk, wk)
    order = ileaves + kleaves
    np.random.default_rng(seed).shuffle(order)  # reductions outside spatial loops too
    s[S].reorder(*order)
    f = tl.build(s, [A, S])
    a = np.random.default_rng(seed).integers(-50, 50, (n, m)).astype("int32")
    out = np.full(n, 12345, "int32")
    f(a, out)
    np.testing.assert_array_equal(out, (a * np.arange(1, m + 1)).sum(axis=1))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), f=st.lists(st.integers(1, 7), min_size=2, max_size=4),
       w=st.lists(st.integers(0, 3), min_size=4, max_size=4), seed=st.integers(0, 2**16))
def test_nested_splits_of_an_elementwise_stage_write_each_point_once(n, f, w, seed):
    A = te.placeholder((n,), "float32", name="A")
    B = te.compute((n,), lambda i: A[i] * 2 + 1, name="B")
    s = te.create_schedule(B.op)
    _nest(s[B], B.op.axis[0], f, w)
    fn = tl.build(s, [A, B])
    a = np.random.default_rng(seed).standard_normal(n).astype("float32")
    out = np.full(n, np.nan, "float32")
    fn(a, out)
    np.testing.assert_array_equal(out, a * 2 + 1)
