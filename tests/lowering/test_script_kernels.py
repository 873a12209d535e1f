"""Hybrid script and extern stages on GPU targets: each loop nest of a script is a kernel of its
own for the launch limits (lowering/launch_extents.py), compute_inline into a script reads the
inlined expression (lowering/script_inline.py), and an extern that reads an inlined stage or
launches one GPU index inside a loop on it is refused by name (lowering/extern_launches.py).
Built for "cuda -emulate -arch=sm_90" (which also compiles the CUDA C with NVRTC when present)
and compared with numpy."""

# ruff: noqa: F821 - hybrid script keywords (output_tensor)

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import LaunchLimitError, LoweringError
from tensorlang.target.cuda import nvrtc

rng = np.random.default_rng()
TARGET = "cuda -emulate -arch=sm_90"


def _compiled_for_sm90(f) -> None:
    if nvrtc.nvrtc_available():  # the emulated build compiled its CUDA C for sm_90 too
        assert ".target sm_90" in f.get_source("ptx")


@te.hybrid.script
def two_nests(a):
    c = output_tensor((40,), "float32")
    d = output_tensor((40,), "float32")
    for i in range(40):
        c[i] = a[i] * 2.0
    for j in range(40):
        d[j] = a[j] + 1.0
    return c, d


@te.hybrid.script
def one_nest(a):
    c = output_tensor((40, 40), "float32")
    for i in range(40):
        for j in range(40):
            c[i, j] = a[i] * 2.0 + a[j]
    return c


def _two_nests_on(tag_i: str, tag_j: str):
    """two_nests with its two loops bound to the two thread tags, built and checked against numpy."""
    A = te.placeholder((40,), name="a")
    c, d = two_nests(A)
    s = te.create_schedule(c.op)
    j, i = c.op.axis
    s[c].bind(i, te.thread_axis(tag_i))
    s[c].bind(j, te.thread_axis(tag_j))
    f = tvm.build(s, [A, c, d], TARGET)
    a = rng.standard_normal(40).astype("float32")
    co, do = np.full(40, np.nan, "float32"), np.full(40, np.nan, "float32")
    f(a, co, do)
    np.testing.assert_allclose(co, a * 2, rtol=1e-6)
    np.testing.assert_allclose(do, a + 1, rtol=1e-6)
    _compiled_for_sm90(f)
    return f


def test_each_nest_of_a_script_is_checked_as_its_own_kernel():
    # 40 threads on x in one kernel and 40 on y in the other: not one block of 1600.
    f = _two_nests_on("threadIdx.x", "threadIdx.y")
    assert f.get_source("cuda").count("__global__") == 2


def test_a_nest_over_the_block_limit_is_refused_naming_it():
    A = te.placeholder((40,), name="a")
    c = one_nest(A)
    s = te.create_schedule(c.op)
    j, i = c.op.axis
    s[c].bind(i, te.thread_axis("threadIdx.y"))
    s[c].bind(j, te.thread_axis("threadIdx.x"))
    with pytest.raises(LaunchLimitError, match=r"stage one_nest \(the script's loop nest from loop i\) uses 1600"):
        tvm.build(s, [A, c], TARGET)


@te.hybrid.script
def mirror_sum(a):
    o = output_tensor((8, 6), "float32")
    for i in range(8):
        for j in range(6):
            o[i, j] = a[i, j] * 2.0 + a[7 - i, 5 - j]
    return o


def test_inline_into_a_script_reads_the_expression_on_the_gpu():
    # TVM's InjectInline substitutes into a HybridOp's body; two inlined stages, one reading the other.
    X = te.placeholder((8, 6), name="x")
    P = te.compute((8, 6), lambda i, j: X[i, j] + 1.0, name="P")
    Q = te.compute((8, 6), lambda i, j: P[i, j] * 3.0, name="Q")
    o = mirror_sum(Q)
    s = te.create_schedule(o.op)
    s[P].compute_inline()
    s[Q].compute_inline()
    i, j = o.op.axis
    io, ii = s[o].split(i, 4)
    s[o].bind(io, te.thread_axis("blockIdx.x"))
    s[o].bind(ii, te.thread_axis("threadIdx.y"))
    s[o].bind(j, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [X, o], TARGET)
    x = rng.standard_normal((8, 6)).astype("float32")
    out = np.full((8, 6), np.nan, "float32")
    f(x, out)
    q = (x + 1) * 3
    np.testing.assert_allclose(out, q * 2 + q[::-1, ::-1], rtol=1e-5, atol=1e-5)
    src = f.get_source("cuda")
    assert "__restrict__ P" not in src and "__restrict__ Q" not in src  # inlined: no storage
    _compiled_for_sm90(f)


def _extern_doubling(inp):
    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, 4) as i:
            o[i] = a[i] * 2.0
        return ib.get()
    return te.extern((4,), [inp], body, name="ext", dtype="float32")


def test_inline_into_an_extern_is_refused_naming_both():
    X = te.placeholder((4,), name="x")
    P = te.compute((4,), lambda i: X[i] + 1.0, name="P")
    O = _extern_doubling(P)
    s = te.create_schedule(O.op)
    s[P].compute_inline()
    with pytest.raises(LoweringError, match="stage P is computed inline .* extern stage ext reads P as a buffer"):
        tvm.build(s, [X, O], "llvm")


def _nested_launches(inner_tag):
    A = te.placeholder((8,), name="a")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        bx, by = te.thread_axis("blockIdx.x"), te.thread_axis(inner_tag)
        ib.scope_attr(bx, "thread_extent", 8)
        ib.scope_attr(by, "thread_extent", 4)
        o[bx.var * 4 + by.var] = a[bx.var] + by.var.astype("float32")
        return ib.get()
    return A, te.extern((8, 4), [A], body, name="ext", dtype="float32")


def test_an_extern_launching_one_index_twice_nested_is_refused():
    # The emulator would run 8 x 4 blocks; the GPU has one blockIdx.x, which the CUDA C read for both.
    A, O = _nested_launches("blockIdx.x")
    with pytest.raises(LoweringError, match=r"extern stage ext: a loop launching blockIdx.x .*extent 4.* inside "
                                            r"another launch of blockIdx.x .*extent 8"):
        tvm.build(te.create_schedule(O.op), [A, O], TARGET)
    A, O = _nested_launches("blockIdx.y")  # two indices: fine
    f = tvm.build(te.create_schedule(O.op), [A, O], TARGET)
    a = rng.standard_normal(8).astype("float32")
    out = np.full((8, 4), np.nan, "float32")
    f(a, out)
    np.testing.assert_allclose(out, a[:, None] + np.arange(4), rtol=1e-6)
    _compiled_for_sm90(f)


def test_sibling_nests_of_a_script_may_bind_one_index():
    # Two kernels, each on threadIdx.x (TVM allows it); nested loops on one index stay refused.
    _two_nests_on("threadIdx.x", "threadIdx.x")
    A = te.placeholder((40,), name="a")
    c2 = one_nest(A)
    s2 = te.create_schedule(c2.op)
    i2, j2 = c2.op.axis
    s2[c2].bind(i2, te.thread_axis("threadIdx.x"))
    s2[c2].bind(j2, te.thread_axis("threadIdx.x"))
    with pytest.raises(tvm.TensorLangError, match="threadIdx.x"):
        tvm.build(s2, [A, c2], TARGET)
