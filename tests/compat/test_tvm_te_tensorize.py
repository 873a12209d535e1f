"""TVM 0.12's tensorize unit tests (test_te_schedule_tensorize.py) as a TVM user's code reads
after ``import tensorlang as tvm; from tensorlang import te``, test names kept.  TVM checks
the matched region and body through internal test hooks (``test.op.InferTensorizeRegion``,
``test.op.MatchTensorizeBody``); the port checks the same things by running the tensorized
code, whose packed calls are Python functions here, against numpy."""

import ctypes

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _view(ptr, rows, cols, stride):
    """The float32 matrix at address ``ptr`` with row stride ``stride``."""
    flat = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=((rows - 1) * stride + cols,))
    return np.lib.stride_tricks.as_strided(flat, (rows, cols), (stride * 4, 4))


@tvm.register_func("vadd", override=True)
def _vadd(x, y, z):
    z.copyfrom(x.numpy() + y.numpy())


@tvm.register_func("gemv", override=True)
def _gemv(w, x, z, n, ldw):
    m = 16
    _view(z, 1, m, m)[0] = _view(w, m, n, ldw) @ _view(x, 1, n, n)[0]


@tvm.register_func("fill_zero", override=True)
def _fill_zero(z, n):
    _view(z, 1, 16, 16)[0] = 0


@tvm.register_func("gemv_add", override=True)
def _gemv_add(w, x, z, n, ldw):
    m = 16
    _view(z, 1, m, m)[0] += _view(w, m, n, ldw) @ _view(x, 1, n, n)[0]


def intrin_vadd(n):
    x = te.placeholder((n,), name="vx")
    y = te.placeholder((n,), name="vy")
    z = te.compute(x.shape, lambda i: x[i] + y[i], name="z")

    def intrin_func(ins, outs):
        xx, yy = ins
        zz = outs[0]
        return tvm.tir.call_packed("vadd", xx, yy, zz)

    return te.decl_tensor_intrin(z.op, intrin_func, default_buffer_params={"offset_factor": 16})


def intrin_gemv(m, n, reset=True):
    w = te.placeholder((m, n), name="w")
    x = te.placeholder((n,), name="x")
    k = te.reduce_axis((0, n), name="k")
    z = te.compute((m,), lambda i: te.sum(w[i, k] * x[k], axis=k), name="z")
    Wb = tvm.tir.decl_buffer(w.shape, w.dtype, name="W", offset_factor=16, strides=[te.var("ldw"), 1])

    def intrin_func(ins, outs):
        ww, xx = ins
        zz = outs[0]
        ww_ptr, xx_ptr, zz_ptr = ww.access_ptr("r"), xx.access_ptr("r"), zz.access_ptr("w")
        body = tvm.tir.call_packed("gemv", ww_ptr, xx_ptr, zz_ptr, n, ww.strides[0])
        init = tvm.tir.call_packed("fill_zero", zz_ptr, n) if reset else None
        update = tvm.tir.call_packed("gemv_add", ww_ptr, xx_ptr, zz_ptr, n, ww.strides[0])
        return body, init, update

    return te.decl_tensor_intrin(z.op, intrin_func, binds={w: Wb},
                                 default_buffer_params={"data_alignment": 16, "offset_factor": 16})


def test_tensorize_vadd():
    m = 128
    x = te.placeholder((m,), name="x")
    y = te.placeholder((m,), name="y")
    z = te.compute(x.shape, lambda i: x[i] + y[i], name="z")
    s = te.create_schedule(z.op)
    xo, xi = s[z].split(z.op.axis[0], factor=16)
    s[z].tensorize(xi, intrin_vadd(16))
    s = s.normalize()
    dom_map = tvm.te.schedule.InferBound(s)
    tvm.te.schedule.ScheduleOps(s, dom_map)
    tvm.lower(s, [x, y, z])
    f = tvm.build(s, [x, y, z], "llvm")
    a, b = np.random.uniform(size=m).astype("float32"), np.random.uniform(size=m).astype("float32")
    c = tvm.nd.array(np.zeros(m, "float32"))
    f(tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a + b, rtol=1e-6)


def test_tensorize_matmul():
    n = m = l = 64
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((m, l), name="B")
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(B[j, k] * A[i, k], axis=k), name="C")
    a = np.random.uniform(size=(n, l)).astype("float32")
    b = np.random.uniform(size=(m, l)).astype("float32")

    def run(s):
        s = s.normalize()
        dom_map = tvm.te.schedule.InferBound(s)
        tvm.te.schedule.ScheduleOps(s, dom_map)
        tvm.lower(s, [A, B, C])
        f = tvm.build(s, [A, B, C], "llvm")
        c = tvm.nd.array(np.random.uniform(size=(n, m)).astype("float32"))
        f(tvm.nd.array(a), tvm.nd.array(b), c)
        np.testing.assert_allclose(c.numpy(), a @ b.T, rtol=1e-4)

    def check(factor):
        s = te.create_schedule(C.op)
        x, y = C.op.axis
        yo, yi = s[C].split(y, factor=factor)
        s[C].tensorize(yi, intrin_gemv(factor, l))
        run(s)

    def check_rfactor(factor, rfactor, reset=True, multi=False):
        s = te.create_schedule(C.op)
        x, y = C.op.axis
        rk = C.op.reduce_axis[0]
        yo, yi = s[C].split(y, factor=factor)
        ro, ri = s[C].split(rk, factor=rfactor)
        if multi:
            roo, roi = s[C].split(ro, factor=2)
            s[C].reorder(yo, roo, roi, yi, ri)
        else:
            s[C].reorder(yo, ro, yi, ri)
        s[C].tensorize(yi, intrin_gemv(factor, rfactor, reset))
        run(s)

    check(16)
    check_rfactor(16, 16)
    check_rfactor(16, 16, reset=False)
    check_rfactor(16, 16, reset=False, multi=True)


def test_tensorize_op():
    idxd, idxm = tvm.tir.indexdiv, tvm.tir.indexmod

    def op_intrin():
        x = te.placeholder((5, 5), name="A")
        y = te.compute((9, 9), lambda i, j: x[idxd(j, 3) + idxm(i, 3), idxm(j, 3) + idxd(i, 3)])

        def intrin_func(ins, outs):
            (xx,) = ins
            return tvm.tir.call_packed("op", xx, outs[0])

        return te.decl_tensor_intrin(y.op, intrin_func, default_buffer_params={"offset_factor": 2})

    A = te.placeholder((5, 5), name="A")
    B = te.compute((9, 9), lambda i, j: A[idxd(j, 3) + idxm(i, 3), idxm(j, 3) + idxd(i, 3)])
    s = te.create_schedule(B.op)
    x, y = B.op.axis
    s[B].tensorize(x, op_intrin())
    s = s.normalize()
    assert "tvm_call_packed" in str(tvm.lower(s, [A, B]))


def test_tensorize_tensor_compute_op():
    def intrin_multivadd(n):
        n_a, n_b, n_c = te.var("n_a"), te.var("n_b"), te.var("n_c")
        Ab = tvm.tir.decl_buffer((n,), "float32", strides=[n_a])
        Bb = tvm.tir.decl_buffer((n,), "float32", strides=[n_b])
        Cb = tvm.tir.decl_buffer((n,), "float32", strides=[n_c])
        z = te.compute((n,), lambda i: tvm.tir.call_extern("float32", "vadd", Ab.access_ptr("w", offset=n_a * i),
                                                           Bb.access_ptr("r", offset=n_b * i),
                                                           Cb.access_ptr("r", offset=n_c * i)))

        def intrin_func(ins, outs):
            return tvm.tir.call_packed("multivadd")

        return te.decl_tensor_intrin(z.op, intrin_func, name="multivadd")

    def intrin_vadd(n):
        x = te.placeholder((n,), dtype="float32", name="vx")
        y = te.placeholder((n,), dtype="float32", name="vy")
        z = te.compute(x.shape, lambda i: x[i] + y[i], name="z")

        def create_buffer(t):
            return tvm.tir.decl_buffer(t.shape, t.dtype, name="W" + t.name, offset_factor=16)

        def intrin_func(ins, outs):
            ib = tvm.tir.ir_builder.create()
            ib.emit(tvm.tir.call_extern("float32", "vadd", ins[0].access_ptr("r"), ins[1].access_ptr("r"),
                                        outs[0].access_ptr("wr")))
            return ib.get()

        return te.decl_tensor_intrin(z.op, intrin_func, binds={x: create_buffer(x), y: create_buffer(y),
                                                               z: create_buffer(z)})

    M, factor = 1024, 16
    A = te.placeholder((M // factor, factor), name="A", dtype="float32")
    B = te.placeholder((M // factor, factor), name="B", dtype="float32")
    vadd = intrin_vadd(factor)
    C = te.compute((M // factor, factor), lambda i: vadd(A[i, 0:factor], B[i, 0:factor]), name="C")
    s = te.create_schedule(C.op)
    multivadd = intrin_multivadd(64)
    with pytest.warns(UserWarning, match="no effect"):
        s[C].tensorize(C.op.axis[0], multivadd)
    s = s.normalize()
    dom_map = tvm.te.schedule.InferBound(s)
    stmt = tvm.te.schedule.ScheduleOps(s, dom_map)
    # The loop that tensorize was asked to replace is still there (TVM asserts it at
    # stmt.body.body, one level deeper than tensorlang's loop nest puts it: a realize scope).
    loops = []
    tvm.tir.stmt_functor.post_order_visit(stmt, lambda x: loops.append(x) if isinstance(x, tvm.tir.For) else None)
    assert [x.loop_var.name for x in loops] == [C.op.axis[0].var.name]
