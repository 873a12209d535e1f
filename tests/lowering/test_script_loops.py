"""A hybrid script stage's loops scheduled as TVM schedules a HybridOp (lowering/script_loops.py):
splits (perfect and not), fuse, reorder, annotations and thread binding, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import LoweringError, ScheduleError

rng = np.random.default_rng()


@te.hybrid.script
def scaled_rows(a, b):
    c = output_tensor((12, 10), "float32")  # noqa: F821
    for i in range(12):
        for j in range(10):
            c[i, j] = a[i, j] * b[j] + 1.0
    return c


def _case():
    a = te.placeholder((12, 10), name="a")
    b = te.placeholder((10,), name="b")
    return a, b, scaled_rows(a, b)


def _check(sch, a, b, c, target="llvm"):
    f = tvm.build(sch, [a, b, c], target)
    av, bv = rng.standard_normal((12, 10)).astype("float32"), rng.standard_normal(10).astype("float32")
    out = np.full((12, 10), np.nan, "float32")
    f(av, bv, out)
    np.testing.assert_allclose(out, av * bv + 1, rtol=1e-5, atol=1e-6)  # a * b + 1 may be one FMA


def test_the_loops_are_the_stage_axes():
    a, b, c = _case()
    assert isinstance(c.op, te.HybridOp)
    assert [iv.name for iv in c.op.axis] == ["i", "j"]
    assert [int(iv.dom.extent) for iv in c.op.axis] == [12, 10]


def test_imperfect_split_reorder_and_annotations():
    a, b, c = _case()
    s = te.create_schedule(c.op)
    i, j = c.op.axis
    io, ii = s[c].split(i, factor=5)      # 12 = 3 x 5 with a guarded tail
    jo, ji = s[c].split(j, nparts=2)
    s[c].reorder(jo, io, ii, ji)
    s[c].parallel(jo)
    s[c].vectorize(ji)
    text = str(tvm.lower(s, [a, b, c], simple_mode=True))
    assert text.index("parallel (j.outer") < text.index("for (i.outer") and "likely" in text
    _check(s, a, b, c)


def test_fuse_then_split_and_bind_on_the_gpu():
    a, b, c = _case()
    s = te.create_schedule(c.op)
    fused = s[c].fuse(*c.op.axis)
    bx, tx = s[c].split(fused, factor=32)  # 120 = 4 x 32, guarded
    s[c].bind(bx, te.thread_axis("blockIdx.x"))
    s[c].bind(tx, te.thread_axis("threadIdx.x"))
    _check(s, a, b, c, "cuda -emulate")


def test_what_the_loops_cannot_take_is_an_error():
    a, b, c = _case()
    s = te.create_schedule(c.op)
    jo, ji = s[c].split(c.op.axis[1], factor=3)
    s[c].vectorize(jo)  # extent ceil(10 / 3) = 4: constant, fine
    _check(s, a, b, c)

    @te.hybrid.script
    def triangle(a):
        c = output_tensor((8, 8), "float32")  # noqa: F821
        for i in range(8):
            for j in range(i + 1):
                c[i, j] = a[i, j]
        return c

    x = te.placeholder((8, 8), name="x")
    t = triangle(x)
    s = te.create_schedule(t.op)
    s[t].reorder(t.op.axis[1], t.op.axis[0])
    with pytest.raises(LoweringError, match="depends on the loops"):
        tvm.lower(s, [x, t])
    s = te.create_schedule(t.op)
    s[t].fuse(*t.op.axis)
    with pytest.raises(LoweringError, match=r"range of j depends on i"):
        tvm.lower(s, [x, t])
    # A plain extern stage still has no loops to schedule.
    e = te.extern((4,), [x], lambda ins, outs: tvm.tir.call_packed("noop", ins[0], outs[0]), name="e")
    with pytest.raises(ScheduleError, match="does not apply to an extern stage"):
        te.create_schedule(e.op)[e].split(e.op.axis[0], 2)


def test_another_stage_cannot_be_computed_inside_a_script_loop():
    a, b0 = te.placeholder((12, 10), name="a"), te.placeholder((10,), name="b0")
    b = te.compute((10,), lambda j: b0[j] * 2, name="b")
    c = scaled_rows(a, b)
    s = te.create_schedule(c.op)
    with pytest.raises(ScheduleError, match="cannot compute it inside loop i of scaled_rows, a hybrid script stage"):
        s[b].compute_at(s[c], c.op.axis[0])
