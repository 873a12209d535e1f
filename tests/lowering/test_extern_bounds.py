"""extern_bounds: an extern stage (hybrid script, te.extern with ir_builder) whose code surely
runs past one of its tensors is refused at lowering; code that stays inside, or that cannot be
decided statically, builds and computes what numpy does."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, tir
from tensorlang.errors import LoweringError
from tensorlang.te import hybrid

rng = np.random.default_rng()


def test_a_hybrid_store_past_its_output_is_refused():
    @hybrid.script
    def f(a):
        c = output_tensor((4,), "float32")  # noqa: F821 - hybrid script's own names
        for i in range(8):
            c[i] = a[i]
        return c

    A = te.placeholder((8,), name="A")
    C = f(A)
    with pytest.raises(LoweringError, match=r"stage f: its code writes f\[i\], element 7 of a tensor of 4 elements "
                                            r"\(for i in \[0, 8\)\)"):
        tl.build(te.create_schedule(C.op), [A, C])


def _extern(n_out: int, body):
    A = te.placeholder((8,), name="A")

    def gen(ins, outs):
        ib = tir.ir_builder.create()
        body(ib, ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0]))
        return ib.get()
    return A, te.extern((n_out,), [A], gen, name="E", dtype="float32")


def test_an_ir_builder_read_past_its_input_is_refused():
    def body(ib, a, o):
        with ib.for_range(0, 4, name="i") as i:
            o[i] = a[2 * i + 1] + a[i + 5]  # a[i + 5] reaches a[8]

    A, E = _extern(4, body)
    with pytest.raises(LoweringError, match=r"stage E: its code reads A\[i \+ 5\], element 8 of a tensor of 8"):
        tl.build(te.create_schedule(E.op), [A, E])


def test_guarded_and_data_dependent_accesses_build_and_match_numpy():
    def body(ib, a, o):
        with ib.for_range(0, 8, name="i") as i:
            with ib.if_scope(i < 4):  # the guard keeps o[i] inside: not refused
                o[i] = a[i] * 2.0
        with ib.for_range(0, 4, name="j") as j:
            k = a[j].astype("int32") % 4  # data-dependent: left to -bounds-check
            o[k] = o[k] + 1.0

    A, E = _extern(4, body)
    f = tl.build(te.create_schedule(E.op), [A, E])
    a = rng.integers(0, 8, 8).astype("float32")
    out = np.zeros(4, "float32")
    f(a, out)
    want = a[:4] * 2
    for j in range(4):
        want[int(a[j]) % 4] += 1
    np.testing.assert_allclose(out, want)


def _vector_pipeline(guard):
    """TVM's test_add_pipeline GPU kernel: float32x2 loads and stores at ``2 * idx``, ``idx`` over
    16 blocks of 4 threads, under ``guard(idx)``."""
    n = 64
    A = te.placeholder((n,), name="A")

    def gen(ins, outs):
        ib = tir.ir_builder.create()
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", 16)
        ib.scope_attr(tx, "thread_extent", 4)
        idx = bx.var * 4 + tx.var
        with ib.if_scope(ib.likely(guard(idx))):
            ib.emit(outs[0].vstore(idx * 2, ins[0].vload(idx * 2, "float32x2") + tir.const(1, "float32x2")))
        return ib.get()
    return A, te.extern(A.shape, [A], gen, name="C")


@pytest.mark.parametrize("target", ["cuda -emulate", "cuda -arch=sm_90"])
def test_a_vector_access_under_a_guard_every_thread_meets_is_checked(target):
    # idx < 64 holds for every thread of the launch, so the float32x2 access at 2 * idx surely
    # reaches element 127 of 64: it corrupted the heap (a crash later, in cuda -emulate).
    A, C = _vector_pipeline(lambda idx: idx < 64)
    with pytest.raises(LoweringError, match=r"stage C: its code reads A\[ramp.*element 127 of a tensor of 64"):
        tl.build(te.create_schedule(C.op), [A, C], target)
    A, C = _vector_pipeline(lambda idx: idx < 32)  # the half the vectors cover: builds and runs
    f = tl.build(te.create_schedule(C.op), [A, C], "cuda -emulate")
    a = rng.standard_normal(64).astype("float32")
    c = np.zeros(64, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a + 1)
