"""TVM 0.12's low_level_custom_pass.py and opt_conv_cuda.py tutorials, imports changed (the
convolution smaller, on ``cuda -emulate``), each checked against numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def test_low_level_custom_pass():
    n = tvm.tir.const(128, "int32")
    a = te.placeholder((n,), name="a")
    b = te.placeholder((n,), name="b")
    c = te.compute((n,), lambda i: a[i] + b[i], name="c")
    sch = te.create_schedule(c.op)
    assert "ramp" not in str(tvm.lower(sch, [a, b, c]))
    loops = []

    def find_width8(op):
        if isinstance(op, tvm.tir.For):
            if isinstance(op.extent, tvm.tir.IntImm):
                if op.extent.value % 8 == 0:
                    loops.append(op)

    def vectorize8(op):
        if op in loops:
            extent = op.extent.value
            name = op.loop_var.name
            lo, li = te.var(name + ".outer"), te.var(name + ".inner")
            body = tvm.tir.stmt_functor.substitute(op.body, {op.loop_var: lo * 8 + li})
            body = tvm.tir.For(li, 0, 8, tvm.tir.ForKind.VECTORIZED, body)
            body = tvm.tir.For(lo, 0, extent // 8, tvm.tir.ForKind.SERIAL, body)
            return body
        return None

    @tvm.tir.transform.prim_func_pass(opt_level=0)
    def vectorize(f, mod, ctx):
        tvm.tir.stmt_functor.post_order_visit(f.body, find_width8)
        if not loops:
            return f
        return f.with_body(tvm.tir.stmt_functor.ir_transform(f.body, None, vectorize8, ["tir.For"]))

    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(1, vectorize)]}):
        text = str(tvm.lower(sch, [a, b, c]))
        f = tvm.build(sch, [a, b, c], "llvm")
    assert "ramp(i.outer * 8, 1, 8)" in text and len(loops) >= 1
    rng = np.random.default_rng()
    x, y = rng.random(128, dtype=np.float32), rng.random(128, dtype=np.float32)
    z = np.empty(128, np.float32)
    f(x, y, z)
    np.testing.assert_allclose(z, x + y)


def test_user_passes_run_at_their_phase_and_bad_entries_are_named():
    seen = []

    @tvm.tir.transform.prim_func_pass(opt_level=0)
    def record(f, mod, ctx):
        kinds = []
        tvm.tir.stmt_functor.post_order_visit(f.body, lambda n: kinds.append(type(n).__name__))
        seen.append("Ramp" in kinds)
        return f

    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] + 1, name="B")
    s = te.create_schedule(B.op)
    s[B].vectorize(s[B].split(B.op.axis[0], factor=8)[1])
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(0, record), (2, record), (3, record)]}):
        tvm.lower(s, [A, B])
    assert seen == [False, True, True]    # before vectorizing, then after
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(7, record)]}):
        with pytest.raises(tvm.TVMError, match="phase 7"):
            tvm.lower(s, [A, B])


def test_opt_conv_cuda_emulated():
    batch, in_channel, out_channel, in_size, kernel, pad, stride = 64, 16, 64, 6, 3, 1, 1
    A = te.placeholder((in_size, in_size, in_channel, batch), name="A")
    W = te.placeholder((kernel, kernel, in_channel, out_channel), name="W")
    out_size = (in_size - kernel + 2 * pad) // stride + 1
    Apad = te.compute(
        (in_size + 2 * pad, in_size + 2 * pad, in_channel, batch),
        lambda yy, xx, cc, nn: tvm.tir.if_then_else(
            tvm.tir.all(yy >= pad, yy - pad < in_size, xx >= pad, xx - pad < in_size),
            A[yy - pad, xx - pad, cc, nn], tvm.tir.const(0.0, "float32")), name="Apad")
    rc = te.reduce_axis((0, in_channel), name="rc")
    ry = te.reduce_axis((0, kernel), name="ry")
    rx = te.reduce_axis((0, kernel), name="rx")
    B = te.compute((out_size, out_size, out_channel, batch),
                   lambda yy, xx, ff, nn: te.sum(Apad[yy * stride + ry, xx * stride + rx, rc, nn] * W[ry, rx, rc, ff],
                                                 axis=[ry, rx, rc]), name="B")
    s = te.create_schedule(B.op)
    s[Apad].compute_inline()
    AA = s.cache_read(Apad, "shared", [B])
    WW = s.cache_read(W, "shared", [B])
    AL = s.cache_read(AA, "local", [B])
    WL = s.cache_read(WW, "local", [B])
    BL = s.cache_write(B, "local")
    tile, num_thread, step, vthread = 8, 8, 8, 2
    block_factor = tile * num_thread
    block_x, block_y, block_z = (te.thread_axis(f"blockIdx.{d}") for d in "xyz")
    thread_x = te.thread_axis((0, num_thread), "threadIdx.x")
    thread_y = te.thread_axis((0, num_thread), "threadIdx.y")
    thread_xz = te.thread_axis((0, vthread), "vthread", name="vx")
    thread_yz = te.thread_axis((0, vthread), "vthread", name="vy")
    hi, wi, fi, ni = s[B].op.axis
    bz = s[B].fuse(hi, wi)
    by, fi = s[B].split(fi, factor=block_factor)
    bx, ni = s[B].split(ni, factor=block_factor)
    s[B].bind(bz, block_z)
    s[B].bind(by, block_y)
    s[B].bind(bx, block_x)
    tyz, fi = s[B].split(fi, nparts=vthread)
    txz, ni = s[B].split(ni, nparts=vthread)
    ty, fi = s[B].split(fi, nparts=num_thread)
    tx, ni = s[B].split(ni, nparts=num_thread)
    s[B].reorder(bz, by, bx, tyz, txz, ty, tx, fi, ni)
    s[B].bind(tyz, thread_yz)
    s[B].bind(txz, thread_xz)
    s[B].bind(ty, thread_y)
    s[B].bind(tx, thread_x)
    s[BL].compute_at(s[B], tx)
    yi, xi, fi, ni = s[BL].op.axis
    ry, rx, rc = s[BL].op.reduce_axis
    rco, rci = s[BL].split(rc, factor=step)
    s[BL].reorder(rco, ry, rx, rci, fi, ni)
    s[AA].compute_at(s[BL], rx)
    s[WW].compute_at(s[BL], rx)
    s[AL].compute_at(s[BL], rci)
    s[WL].compute_at(s[BL], rci)
    for stage in (AA, WW):
        yi, xi, ci, last = s[stage].op.axis
        ty, ci = s[stage].split(ci, nparts=num_thread)
        tx, last = s[stage].split(last, nparts=num_thread)
        _, last = s[stage].split(last, factor=4)
        s[stage].reorder(ty, tx, yi, xi, ci, last)
        s[stage].bind(ty, thread_y)
        s[stage].bind(tx, thread_x)
        s[stage].vectorize(last)
    with warnings.catch_warnings():
        # The padded fetch's guard is the same for all four lanes: whole float4 loads under one
        # if, no lane-by-lane fallback (it warned "falls back to 4 scalar accesses").
        warnings.simplefilter("error")
        func = tvm.build(s, [A, W, B], "cuda -emulate")
    assert "(const float4*)(A" in func.imported_modules[0].get_source()
    dev = tvm.cuda(0)
    rng = np.random.default_rng()
    a_np = rng.uniform(size=(in_size, in_size, in_channel, batch)).astype(A.dtype)
    w_np = rng.uniform(size=(kernel, kernel, in_channel, out_channel)).astype(W.dtype)
    b = tvm.nd.array(np.zeros((out_size, out_size, out_channel, batch), dtype=B.dtype), dev)
    func(tvm.nd.array(a_np, dev), tvm.nd.array(w_np, dev), b)
    ap = np.pad(a_np, ((pad, pad), (pad, pad), (0, 0), (0, 0)))
    ref = np.zeros((out_size, out_size, out_channel, batch), np.float32)
    for y in range(kernel):
        for x in range(kernel):
            ref += np.einsum("hwcn,cf->hwfn", ap[y:y + out_size, x:x + out_size], w_np[y, x])
    np.testing.assert_allclose(b.numpy(), ref, rtol=1e-4)
