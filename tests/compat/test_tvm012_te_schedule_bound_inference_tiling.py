"""TVM 0.12's test_te_schedule_bound_inference_tiling.py (test_bound_tile_mod), in our own words.

A copy is tiled, split and fused, cached twice (local, then shared with a storage alignment), and
the shared cache is attached inside a split of the re-tiled output.  TVM asserts that bound
inference gives the shared cache's third axis the constant extent 16.  That extent comes out as
``(x*32 % 128 + 31) // 2 - (x*32 % 128) // 2 + 1``, which is 16 only because ``x*32 % 128`` is
always even: the simplifier has to know which terms are multiples of the divisor.

Difference from TVM: TVM's test declares A as (M, 64) but reads A[n, m] for m up to M - 1; it only
runs InferBound, so the out-of-bounds read never matters there.  Lowering that schedule here is
refused with a LoweringError naming the read; the numpy check uses an A of the output's shape.
"""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import LoweringError


def _compute(m_tiles, n_tiles, cols, factor, dtype):
    rows_m = m_tiles * factor
    rows_n = n_tiles * factor
    A = te.placeholder((rows_m, cols), name="A", dtype=dtype)
    C = te.compute((rows_n, rows_m), lambda n, m: A[n, m], name="C")
    return te.create_schedule(C.op), A, C


def _schedule(s, factor, padding, C):
    s.cache_write(C, "local")
    n, m = C.op.axis
    _, _, ni, mi = s[C].tile(n, m, factor, factor)
    _, nii = s[C].split(ni, 2)
    s[C].fuse(nii, mi)
    C_shared = s.cache_write(C, "shared")
    _, _, ni, _ = C_shared.op.axis
    s[C_shared].storage_align(ni, factor * 2, padding)
    n, m = s[C].op.axis
    _, _, ni, _ = s[C].tile(n, m, factor, factor)
    s[C].set_scope("global")
    niio, _ = s[C].split(ni, 32)
    s[C_shared].compute_at(s[C], niio)
    return s


def test_bound_tile_mod():
    s, A, C = _compute(2, 2, 64, 128, "float16")
    s = _schedule(s, 128, 8, C)
    bounds = tvm.te.schedule.InferBound(s)
    extent = bounds[s.stages[2].op.axis[2]].extent
    assert isinstance(extent, tvm.tir.IntImm) and extent.value == 16, extent
    assert extent == 16
    # TVM's A is narrower than the columns the copy reads: refused, naming the read.
    with pytest.raises(LoweringError, match=r"reads A\[.*out of bounds"):
        tvm.lower(s, [A, C], simple_mode=True)


def test_bound_tile_mod_runs_like_numpy():
    s, A, C = _compute(2, 2, 256, 128, "float16")
    s = _schedule(s, 128, 8, C)
    f = tvm.build(s, [A, C], "llvm")
    a = np.random.default_rng().uniform(-4, 4, (256, 256)).astype("float16")
    c = tvm.nd.array(np.zeros((256, 256), "float16"))
    f(tvm.nd.array(a), c)
    np.testing.assert_array_equal(c.numpy(), a)


@pytest.mark.parametrize("seed", range(3))
def test_floordiv_of_a_known_multiple_splits_exactly(seed):
    """(x*a % m * b + k) // c and % c with x*a % m a known multiple: the simplified form keeps
    numpy's floor division and modulo values for every x (fresh random constants)."""
    rng = np.random.default_rng()
    x = te.var("x")
    ana = tvm.arith.Analyzer()
    for _ in range(40):
        a = int(rng.choice([2, 4, 6, 8, 32]))
        m = int(rng.choice([4, 8, 12, 64, 128]))
        b = int(rng.choice([1, 3, -2]))
        c = int(rng.choice([2, 3, 4, 8]))
        k = int(rng.integers(-40, 41))
        t = (x * a) % m
        xs = rng.integers(-1000, 1000, 25)
        tv = (xs * a) % m
        for expr, ref in (((t * b + k) // c, (tv * b + k) // c),
                          ((t * b + k) % c, (tv * b + k) % c),
                          ((t * b + k) // c - (t * b) // c, (tv * b + k) // c - (tv * b) // c)):
            simple = ana.simplify(expr)
            got = [ana.simplify(tvm.tir.stmt_functor.substitute(simple, {x: int(v)})).value for v in xs]
            np.testing.assert_array_equal(got, ref, err_msg=f"{expr} -> {simple}")
    y = te.var("y")
    assert ana.simplify((y * 32 % 128 + 31) // 2 - y * 32 % 128 // 2 + 1).value == 16
    assert ana.simplify((y * 6 % 12 + 7) % 3).value == 1
