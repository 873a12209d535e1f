"""A narrowing cast of a range with a symbolic side (int8(i) for i in [0, n)) may wrap to any
value of the narrow type: its bounds are that type's, not int8(0)..int8(n - 1).  Claiming
int8(i) >= 0 let a cache_read region start past its tensor (fuzz seed 726: a heap overrun that
appeared in about half of the builds, as the simplifier's choices follow object identities)."""

import numpy as np

import tensorlang as tvm
from tensorlang import te, tir


def test_narrowing_cast_of_a_symbolic_range_is_the_whole_type():
    i, n = te.var("i"), te.var("n")
    ana = tvm.arith.Analyzer()
    ana.bind(i, tvm.ir.Range(0, n))
    wrapped = (i.astype("int8") * tir.const(120, "int8")).astype("int32")
    assert (ana.const_int_bound(i.astype("int8")).min_value, ana.const_int_bound(wrapped).min_value) == (-128, -128)
    assert ana.const_int_bound(tir.min(wrapped, 0)).min_value == -128
    assert ana.const_int_bound((i * 3).astype("uint16")).max_value == 65535
    # a wide cast keeps its symbolic range; a constant range that fits keeps its bounds
    assert ana.const_int_bound(i.astype("int64")).min_value == 0
    fixed = tvm.arith.Analyzer()
    fixed.bind(i, tvm.ir.Range(0, 100))
    assert (fixed.const_int_bound(i.astype("int8")).min_value, fixed.const_int_bound(i.astype("int8")).max_value) \
        == (0, 99)


def test_cache_read_of_a_wrapping_index_stays_inside_its_buffers():
    n = te.var("n")
    A = te.placeholder((11, 9), name="A", dtype="int32")

    def body(i, j):
        col = (i.astype("int8") * tir.const(120, "int8")).astype("int32")  # wraps: 0, 120, -16, 104, ...
        row = (j & 7) >> 2
        inside = tir.all(col >= 0, col < 9, j < 5)
        return te.if_then_else(inside, A[row, col], A[j % 11, i % 9] + A[te.min(i, 5) + 1, j])

    O = te.compute((n, 7), body, name="O")
    s = te.create_schedule(O.op)
    AL = s.cache_read(A, "local", [O])
    s[AL].compute_at(s[O], O.op.axis[0])
    with tvm.transform.PassContext(config={"tir.instrument_bound_checkers": True}):
        f = tvm.build(s, [A, O], target="llvm")
    a = np.random.default_rng().integers(-50, 50, (11, 9)).astype("int32")
    o = np.empty((13, 7), "int32")
    f(a, o)
    want = np.empty((13, 7), "int32")
    for i in range(13):
        col = int(np.array(i * 120).astype(np.int8))
        for j in range(7):
            want[i, j] = a[j >> 2, col] if 0 <= col < 9 and j < 5 else a[j % 11, i % 9] + a[min(i, 5) + 1, j]
    np.testing.assert_array_equal(o, want)
