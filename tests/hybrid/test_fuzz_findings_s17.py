"""Hybrid script schedules found wrong or refused by a fuzzing campaign (session 17): each builds and
matches the script run on numpy arrays, or is refused with a LoweringError naming the loops."""

# ruff: noqa: F821 - hybrid script keywords (output_tensor, allocate, bind)

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import ExprError, LoweringError

rng = np.random.default_rng()


@te.hybrid.script
def flip_positive_rows(a):
    o = output_tensor((4, 5), "float32")
    for i in range(4):
        for j in range(5):
            o[i, j] = a[i, j]
    for p in range(4):
        if o[p, 0] > 0.0:  # reads what the loop below writes: it must stay outside q
            for q in range(5):
                o[p, q] = o[p, q] - 10.0
    return o


@te.hybrid.script
def grid(a):
    o = output_tensor((7, 5), "float32")
    for i in range(7):
        for j in range(5):
            o[i, j] = a[i, j] * 2.0 + float32(i - j)
    return o


@te.hybrid.script
def reduce_rows(a):
    o = output_tensor((4, 4), "float32")
    for i in range(4):
        for j in range(4):
            s = 0.0
            for k in range(3):
                s = s + a[i, k]
            o[j, i] = s
    return o


@te.hybrid.script
def lower_rows(a):
    o = output_tensor((6, 5), "float32")
    for i in range(6):
        if i < 4:  # reads no memory: the loops around it may change places
            for j in range(5):
                o[i, j] = a[i, j] + 1.0
    return o


@te.hybrid.script
def launched(a):
    o = output_tensor((8, 4), "float32")
    for bx in bind("blockIdx.x", 8):
        for j in range(4):
            o[bx, j] = a[bx] + float32(j)
    return o


@te.hybrid.script
def launched_twice(a):
    o = output_tensor((8, 4), "float32")
    for bx in bind("blockIdx.x", 8):
        for j in bind("blockIdx.x", 4):
            o[bx, j] = a[bx] + float32(j)
    return o


@te.hybrid.script
def float_extent(a):
    o = output_tensor((4,), "float32")
    for i in range(4):
        t = allocate((2.5,), "float32")
        t[0] = a[i]
        o[i] = t[0]
    return o


@te.hybrid.script
def negative_extent(a):
    o = output_tensor((4,), "float32")
    for i in range(4):
        t = allocate((-2,), "float32")
        t[0] = a[i]
        o[i] = a[i]
    return o


@te.hybrid.script
def unknown_scope(a):
    o = output_tensor((4,), "float32")
    for i in range(4):
        t = allocate((2,), "float32", "nowhere")
        t[0] = a[i]
        o[i] = t[0]
    return o


@te.hybrid.script
def big_power(a):
    o = output_tensor((4,), "int32")
    for i in range(4):
        o[i] = 2 ** 40
    return o


@te.hybrid.script
def big_abs(a):
    o = output_tensor((4,), "int32")
    for i in range(4):
        o[i] = abs(-2147483648)
    return o


@te.hybrid.script
def negative_shift(a):
    o = output_tensor((4,), "int32")
    for i in range(4):
        o[i] = a[i] + (1 << -1)
    return o


@te.hybrid.script
def exact_numbers(a):
    o = output_tensor((4,), "int32")
    for i in range(4):
        o[i] = a[i] + (-7) // 2 + 3 ** 3 + (1 << 4) - 2 ** 31 // 2 ** 20 + abs(-5) + max(2, 9)
    return o


def _check(script, shape, sched):
    A = te.placeholder(shape, name="a")
    out = script(A)
    s = te.create_schedule(out.op)
    sched(s[out], out.op.axis)
    f = tvm.build(s, [A, out], "llvm")
    a = rng.standard_normal(shape).astype("float32")
    got = np.zeros(tuple(int(d) for d in out.shape), "float32")
    f(a, got)
    np.testing.assert_allclose(got, script(a), rtol=1e-5, atol=1e-5)


def test_an_if_that_reads_memory_stays_outside_the_loop_it_guards():
    # Any primitive used to move the script's if inside q: o[p, 0] was then re-read after q = 0
    # had changed it, so the rest of the row was never updated.
    a = np.abs(rng.standard_normal((4, 5))).astype("float32") + 1  # every row positive: all taken
    A = te.placeholder((4, 5), name="a")
    out = flip_positive_rows(A)
    s = te.create_schedule(out.op)
    s[out].unroll(out.op.axis[0])
    f = tvm.build(s, [A, out], "llvm")
    got = np.zeros((4, 5), "float32")
    f(a, got)
    np.testing.assert_allclose(got, a - 10.0, rtol=1e-6)


def test_reorder_across_an_if_that_reads_memory_is_refused():
    A = te.placeholder((4, 5), name="a")
    out = flip_positive_rows(A)
    s = te.create_schedule(out.op)
    p, q = out.op.axis[:2]
    s[out].reorder(q, p)
    with pytest.raises(LoweringError, match="cannot put loop q outside loop p: .*an if whose condition reads memory"):
        tvm.lower(s, [A, out])


def test_reorder_across_an_if_that_reads_no_memory():
    def sched(st, axis):
        i, j = axis
        st.reorder(j, i)
    _check(lower_rows, (6, 5), sched)


def test_fuse_after_reorder():
    def sched(st, axis):
        i, j = axis
        st.reorder(j, i)
        st.split(st.fuse(j, i), 4)
    _check(grid, (7, 5), sched)


def test_fuse_under_an_imperfect_split():
    # split(i, 3) of 7 leaves a guard between i.inner and j.
    def sched(st, axis):
        i, j = axis
        io, ii = st.split(i, 3)
        st.fuse(ii, j)
    _check(grid, (7, 5), sched)


def test_reorder_under_two_guards():
    # Two imperfect splits stack two guards between the fused loop and j.
    def sched(st, axis):
        i, j = axis[0], axis[1]
        io, ii = st.split(i, 3)
        f = st.fuse(io, ii)
        fo, fi = st.split(f, 4)
        st.reorder(j, fo, fi)
        st.parallel(j)
    _check(reduce_rows, (4, 3), sched)


def test_fuse_across_statements_is_refused():
    A = te.placeholder((4, 3), name="a")
    out = reduce_rows(A)
    s = te.create_schedule(out.op)
    i, j, k = out.op.axis
    s[out].fuse(j, k)
    with pytest.raises(LoweringError, match="cannot fuse loops j and k: k must be the whole body of j"):
        tvm.lower(s, [A, out])


@pytest.mark.parametrize("primitive", ["split", "fuse", "reorder", "unroll"])
def test_loops_the_script_binds_are_not_rescheduled(primitive):
    # A split or fuse made serial loops of the script's launch (the kernel lost blockIdx.x).
    A = te.placeholder((8,), name="a")
    out = launched(A)
    s = te.create_schedule(out.op)
    bx, j = out.op.axis
    {"split": lambda: s[out].split(bx, 3), "fuse": lambda: s[out].fuse(bx, j),
     "reorder": lambda: s[out].reorder(j, bx), "unroll": lambda: s[out].unroll(bx)}[primitive]()
    with pytest.raises(LoweringError, match="the script binds loop bx to blockIdx.x itself"):
        tvm.lower(s, [A, out])


def test_one_gpu_index_for_two_nested_loops_is_refused():
    # The CUDA kernel read blockIdx.x for both loops while the emulation ran 8 x 4 blocks.
    A = te.placeholder((8,), name="a")
    out = launched(A)
    s = te.create_schedule(out.op)
    s[out].bind(out.op.axis[1], te.thread_axis("blockIdx.x"))
    with pytest.raises(LoweringError, match="loop j is bound to blockIdx.x inside loop bx, which runs on blockIdx.x"):
        tvm.lower(s, [A, out])
    with pytest.raises(ExprError, match=r"'bind\('blockIdx.x', 4\)' is inside the loop at line \d+, which runs on "
                                        "blockIdx.x already"):
        launched_twice(A)


@pytest.mark.parametrize("script,match", [
    (float_extent, "the shape of 't' has the extent 2.5, not an integer"),   # was an AttributeError in codegen
    (negative_extent, "the shape of 't' has the negative extent -2"),         # compiled; numpy raises
    (unknown_scope, "unknown storage scope 'nowhere'"),                      # compiled as global memory
    (big_power, "'o\\[i\\] = 2 \\*\\* 40': the number 1099511627776 does not fit int32"),  # was 0
    (big_abs, "the number 2147483648 does not fit int32"),                   # was -2147483648
    (negative_shift, "negative shift count in '1 << -1'"),
])
def test_scripts_python_would_reject_are_refused(script, match):
    dtype = "int32" if script in (big_power, big_abs, negative_shift) else "float32"
    with pytest.raises(ExprError, match=match):
        script(te.placeholder((4,), name="a", dtype=dtype))


def test_python_numbers_fold_exactly():
    A = te.placeholder((4,), name="a", dtype="int32")
    out = exact_numbers(A)
    f = tvm.build(te.create_schedule(out.op), [A, out], "llvm")
    a = rng.integers(-100, 100, 4).astype("int32")
    got = np.zeros(4, "int32")
    f(a, got)
    np.testing.assert_array_equal(got, exact_numbers(a))
