"""Tensorize with te.decl_tensor_intrin, written as TVM 0.12 users write it (TVM's tensorize
tutorial: a gemv C function called through call_extern, with the reduction-update form), and
an int8 dense on AVX-512 VNNI ``vpdpbusd`` through an LLVM intrinsic; all against numpy."""

import ctypes

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.contrib import cc, utils
from tensorlang.errors import LoweringError, ScheduleError
from tensorlang.target.llvm.host import host_cpu_features

GEMV_C = r"""
int gemv_update(float *cc, float *aa, float *bb, int m, int l, int stride) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < l; ++j)
      cc[i] += aa[j] * bb[i * stride + j];
  return 0;
}
int gemv_reset(float *cc, int m) {
  for (int i = 0; i < m; ++i) cc[i] = 0.0f;
  return 0;
}
"""


@pytest.fixture(scope="module")
def gemv_library():
    """The tutorial's C functions, in a shared library loaded into the process."""
    if cc.get_cc() is None:
        pytest.skip("no C compiler to build the tutorial's gemv functions")
    temp = utils.tempdir()
    src = temp.relpath("gemv.c")
    with open(src, "w") as f:
        f.write(GEMV_C)
    lib = temp.relpath("libgemv.so")
    cc.create_shared(lib, [src], options=["-O2", "-fPIC"])
    yield ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)


def intrin_gemv(m, l, reset=True, body_resets=True):
    a = te.placeholder((l,), name="a")
    b = te.placeholder((m, l), name="b")
    k = te.reduce_axis((0, l), name="k")
    c = te.compute((m,), lambda i: te.sum(a[k] * b[i, k], axis=k), name="c")
    Ab = tvm.tir.decl_buffer(a.shape, a.dtype, name="A", offset_factor=1, strides=[1])
    Bb = tvm.tir.decl_buffer(b.shape, b.dtype, name="B", offset_factor=1, strides=[te.var("s1"), 1])
    Cb = tvm.tir.decl_buffer(c.shape, c.dtype, name="C", offset_factor=1, strides=[1])

    def intrin_func(ins, outs):
        aa, bb = ins
        cc_ = outs[0]

        def _reduce_reset():
            ib = tvm.tir.ir_builder.create()
            ib.emit(tvm.tir.call_extern("int32", "gemv_reset", cc_.access_ptr("w"), m))
            return ib.get()

        def _reduce_update():
            ib = tvm.tir.ir_builder.create()
            ib.emit(tvm.tir.call_extern("int32", "gemv_update", cc_.access_ptr("w"), aa.access_ptr("r"),
                                        bb.access_ptr("r"), m, l, bb.strides[0]))
            return ib.get()

        def _body():
            ib = tvm.tir.ir_builder.create()
            if body_resets:
                ib.emit(_reduce_reset())
            ib.emit(_reduce_update())
            return ib.get()

        return _body(), _reduce_reset() if reset else None, _reduce_update()

    return te.decl_tensor_intrin(c.op, intrin_func, binds={a: Ab, b: Bb, c: Cb})


def _gemm(N, M, L):
    A = te.placeholder((N, L), name="A")
    B = te.placeholder((M, L), name="B")
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[j, k], axis=k), name="C")
    return A, B, C


def _run_gemm(s, A, B, C):
    N, L = (int(d) for d in A.shape)
    M = int(B.shape[0])
    func = tvm.build(s, [A, B, C], target="llvm", name="gemv")
    a = np.random.uniform(size=(N, L)).astype(A.dtype)
    b = np.random.uniform(size=(M, L)).astype(B.dtype)
    c = tvm.nd.array(np.random.uniform(size=(N, M)).astype(C.dtype))  # garbage the code must overwrite
    func(tvm.nd.array(a), tvm.nd.array(b), c)
    tvm.testing.assert_allclose(c.numpy(), np.dot(a, b.T), rtol=1e-4)
    return func


def test_tutorial_gemv_whole_reduction(gemv_library):
    N, M, L = 64, 48, 32
    A, B, C = _gemm(N, M, L)
    s = te.create_schedule(C.op)
    factor = 16
    x, y = C.op.axis
    (z,) = C.op.reduce_axis
    yo, yi = s[C].split(y, factor=factor)
    s[C].reorder(x, yo, yi, z)
    gemv = intrin_gemv(factor, L)
    s[C].tensorize(yi, gemv)
    text = str(tvm.lower(s, [A, B, C], simple_mode=True))
    assert "gemv_update" in text and "for (j.inner" not in text
    _run_gemm(s, A, B, C)


@pytest.mark.parametrize("reset", [True, False])
def test_tutorial_gemv_reduce_update(gemv_library, reset):
    N, M, L = 32, 32, 64
    A, B, C = _gemm(N, M, L)
    s = te.create_schedule(C.op)
    factor, rfactor = 16, 16
    x, y = C.op.axis
    (z,) = C.op.reduce_axis
    yo, yi = s[C].split(y, factor=factor)
    zo, zi = s[C].split(z, factor=rfactor)
    s[C].reorder(x, yo, zo, yi, zi)
    # Without reset code the first iteration of zo runs the body, which resets first.
    s[C].tensorize(yi, intrin_gemv(factor, rfactor, reset=reset))
    text = str(tvm.lower(s, [A, B, C], simple_mode=True))
    assert ("gemv_reset" in text) and "gemv_update" in text
    _run_gemm(s, A, B, C)


def test_tensorize_with_parallel_outer_loop_and_fused_tile(gemv_library):
    N, M, L = 16, 32, 24
    A, B, C = _gemm(N, M, L)
    s = te.create_schedule(C.op)
    x, y = C.op.axis
    (z,) = C.op.reduce_axis
    yo, yi = s[C].split(y, factor=16)
    s[C].reorder(x, yo, yi, z)
    s[C].parallel(s[C].fuse(x, yo))
    s[C].tensorize(yi, intrin_gemv(16, L))
    _run_gemm(s, A, B, C)


def intrin_add(rows, cols, strided=True):
    """A tile add written with the IR builder, reading through the buffers' strides."""
    a = te.placeholder((rows, cols), name="a")
    b = te.placeholder((rows, cols), name="b")
    c = te.compute((rows, cols), lambda i, j: a[i, j] + b[i, j], name="c")
    params = {"offset_factor": 1}
    if strided:
        params["strides"] = [te.var("stride"), 1]

    def fcompute(ins, outs):
        ib = tvm.tir.ir_builder.create()
        with ib.for_range(0, rows, name="r") as r:
            with ib.for_range(0, cols, name="q") as q:
                ib.emit(outs[0].vstore([r, q], ins[0].vload([r, q]) + ins[1].vload([r, q])))
        return ib.get()

    return te.decl_tensor_intrin(c.op, fcompute, name="tile_add", default_buffer_params=params)


def test_ir_builder_intrinsic_bound_to_strided_tiles():
    n, m = 12, 40
    A = te.placeholder((n, m), name="A")
    B = te.placeholder((n, m), name="B")
    C = te.compute((n, m), lambda i, j: A[i, j] + B[i, j], name="C")
    s = te.create_schedule(C.op)
    xo, yo, xi, yi = s[C].tile(C.op.axis[0], C.op.axis[1], 4, 8)
    s[C].tensorize(xi, intrin_add(4, 8))
    f = tvm.build(s, [A, B, C], "llvm")
    a, b = (np.random.uniform(size=(n, m)).astype("float32") for _ in range(2))
    c = tvm.nd.array(np.zeros((n, m), "float32"))
    f(tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a + b, rtol=1e-6)


def test_compact_buffer_on_a_strided_tile_is_refused():
    A = te.placeholder((8, 16), name="A")
    B = te.placeholder((8, 16), name="B")
    C = te.compute((8, 16), lambda i, j: A[i, j] + B[i, j], name="C")
    s = te.create_schedule(C.op)
    xo, yo, xi, yi = s[C].tile(C.op.axis[0], C.op.axis[1], 4, 8)
    s[C].tensorize(xi, intrin_add(4, 8, strided=False))
    with pytest.raises(LoweringError, match="declared compact.*strides="):
        tvm.lower(s, [A, B, C])


def _gemv_schedule(N=32, M=32, L=16, factor=16):
    A, B, C = _gemm(N, M, L)
    s = te.create_schedule(C.op)
    x, y = C.op.axis
    yo, yi = s[C].split(y, factor=factor)
    s[C].reorder(x, yo, yi, C.op.reduce_axis[0])
    return s, (A, B, C), yi


def test_mismatched_computation_names_stage_and_axis():
    s, args, yi = _gemv_schedule()
    a = te.placeholder((16,), name="a")
    b = te.placeholder((16, 16), name="b")
    k = te.reduce_axis((0, 16), name="k")
    c = te.compute((16,), lambda i: te.sum(a[k] + b[i, k], axis=k), name="c")
    wrong = te.decl_tensor_intrin(c.op, lambda ins, outs: tvm.tir.call_extern("int32", "nothing"), name="add_gemv")
    s[args[2]].tensorize(yi, wrong)
    with pytest.raises(ScheduleError, match=r"stage C: tensorize at axis j.inner with intrinsic 'add_gemv'.*compute"):
        tvm.lower(s, list(args))


def test_mismatched_extent_and_reducer():
    s, args, yi = _gemv_schedule(factor=8)
    with pytest.raises(ScheduleError, match="axis j covers 8 points.*has 16"):
        s[args[2]].tensorize(yi, intrin_gemv(16, 16))
        tvm.lower(s, list(args))
    s, args, yi = _gemv_schedule()
    a = te.placeholder((16,), name="a")
    b = te.placeholder((16, 16), name="b")
    k = te.reduce_axis((0, 16), name="k")
    c = te.compute((16,), lambda i: te.max(a[k] * b[i, k], axis=k), name="c")
    s[args[2]].tensorize(yi, te.decl_tensor_intrin(c.op, lambda ins, outs: tvm.tir.call_extern("int32", "x")))
    with pytest.raises(ScheduleError, match="reduces with sum, the intrinsic with max"):
        tvm.lower(s, list(args))


def test_partial_tile_and_missing_update_are_refused():
    s, args, yi = _gemv_schedule(M=40)
    s[args[2]].tensorize(yi, intrin_gemv(16, 16))
    with pytest.raises(ScheduleError, match="whole tiles"):
        tvm.lower(s, list(args))
    A, B, C = _gemm(16, 16, 32)
    s = te.create_schedule(C.op)
    zo, zi = s[C].split(C.op.reduce_axis[0], factor=16)
    s[C].reorder(C.op.axis[0], zo, C.op.axis[1], zi)
    a = te.placeholder((16,), name="a")
    b = te.placeholder((16, 16), name="b")
    k = te.reduce_axis((0, 16), name="k")
    c = te.compute((16,), lambda i: te.sum(a[k] * b[i, k], axis=k), name="c")
    s[C].tensorize(C.op.axis[1], te.decl_tensor_intrin(c.op, lambda ins, outs: tvm.tir.call_extern("int32", "x")))
    with pytest.raises(ScheduleError, match="k.outer stay outside.*reduce_update"):
        tvm.lower(s, [A, B, C])
    with pytest.raises(ScheduleError, match="tensor intrinsic"):
        s[C].tensorize(C.op.axis[1], "gemv")


def test_scalar_param_is_matched_from_the_stage():
    n = 32
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 3.5, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=8)
    alpha = te.var("alpha", dtype="float32")
    a = te.placeholder((8,), name="a")
    b = te.compute((8,), lambda i: a[i] * alpha, name="b")

    def fcompute(ins, outs, params):
        ib = tvm.tir.ir_builder.create()
        with ib.for_range(0, 8, name="q") as q:
            ib.emit(outs[0].vstore([q], ins[0].vload([q]) * params[0]))
        return ib.get()

    s[B].tensorize(xi, te.decl_tensor_intrin(b.op, fcompute, scalar_params=[alpha],
                                             default_buffer_params={"offset_factor": 1}))
    f = tvm.build(s, [A, B], "llvm")
    x = np.random.uniform(size=n).astype("float32")
    y = tvm.nd.array(np.zeros(n, "float32"))
    f(tvm.nd.array(x), y)
    np.testing.assert_allclose(y.numpy(), x * 3.5, rtol=1e-6)


def dot_16x1x16_uint8_int8_int32():
    """16 int32 lanes, each the dot product of 4 uint8 (data) and 4 int8 (a kernel row):
    one ``vpdpbusd`` (AVX-512 VNNI)."""
    int32_lanes, num_int8 = 16, 4
    data = te.placeholder((num_int8,), dtype="uint8", name="data")
    kernel = te.placeholder((int32_lanes, num_int8), dtype="int8", name="kernel")
    k = te.reduce_axis((0, num_int8), name="k")
    C = te.compute((int32_lanes,),
                   lambda i: te.sum(data[k].astype("int32") * kernel[i, k].astype("int32"), axis=k), name="C")
    a_buffer = tvm.tir.decl_buffer(data.shape, dtype="uint8", name="a_buffer", offset_factor=1, strides=[1])
    b_buffer = tvm.tir.decl_buffer(kernel.shape, dtype="int8", name="b_buffer", offset_factor=1,
                                   strides=[te.var("ldw"), 1])

    def _intrin_func(ins, outs):
        def _instr(index):
            ib = tvm.tir.ir_builder.create()
            if index == 1:
                ib.emit(outs[0].vstore(0, tvm.tir.const(0, "int32x16")))
                return ib.get()
            a_int8 = ins[0].vload([0], "uint8x4")
            re_int32 = tvm.tir.call_intrin("int32", "tir.reinterpret", a_int8)
            vec_ai32 = re_int32.astype("int32x16")
            vec_b = ins[1].vload([0, 0], "int8x64")
            vec_bi32 = tvm.tir.call_intrin("int32x16", "tir.reinterpret", vec_b)
            vec_c = outs[0].vload([0], "int32x16") if index == 2 else tvm.tir.const(0, "int32x16")
            quantized = tvm.tir.call_llvm_pure_intrin("int32x16", "llvm.x86.avx512.vpdpbusd.512",
                                                      tvm.tir.const(0, "uint32"), vec_c, vec_ai32, vec_bi32)
            ib.emit(outs[0].vstore(0, quantized))
            return ib.get()

        return _instr(0), _instr(1), _instr(2)

    return te.decl_tensor_intrin(C.op, _intrin_func, binds={data: a_buffer, kernel: b_buffer},
                                 default_buffer_params={"offset_factor": 1})


@pytest.mark.skipif("+avx512vnni" not in host_cpu_features(), reason="this CPU has no AVX-512 VNNI (avx512vnni)")
@pytest.mark.parametrize("whole_k", [False, True])
def test_int8_dense_vnni(whole_k):
    M, N, K = 24, 48, 64 if not whole_k else 4
    data = te.placeholder((M, K), "uint8", name="data")
    weight = te.placeholder((N, K), "int8", name="weight")
    packed = te.compute((N // 16, K // 4, 16, 4), lambda a, b, c, d: weight[a * 16 + c, b * 4 + d],
                        name="packed_weight")
    k = te.reduce_axis((0, K), name="k")
    C = te.compute((M, N), lambda i, j: te.sum(
        data[i, k].astype("int32") * packed[j // 16, k // 4, j % 16, k % 4].astype("int32"), axis=k), name="C")
    s = te.create_schedule(C.op)
    i, j = C.op.axis
    jo, ji = s[C].split(j, 16)
    ko, ki = s[C].split(C.op.reduce_axis[0], 4)
    s[C].reorder(i, jo, ko, ji, ki)
    s[C].parallel(i)
    s[C].tensorize(ji, dot_16x1x16_uint8_int8_int32())
    f = tvm.build(s, [data, weight, C], "llvm")
    assert "vpdpbusd" in f.get_source("asm")
    a = np.random.randint(0, 256, size=(M, K)).astype("uint8")
    w = np.random.randint(-128, 128, size=(N, K)).astype("int8")
    c = tvm.nd.array(np.random.randint(-1000, 1000, size=(M, N)).astype("int32"))
    f(tvm.nd.array(a), tvm.nd.array(w), c)
    np.testing.assert_array_equal(c.numpy(), a.astype("int32") @ w.astype("int32").T)


def test_ir_builder_intrinsic_in_a_cuda_kernel_on_emulation():
    n, m = 16, 32
    A = te.placeholder((n, m), name="A")
    B = te.placeholder((n, m), name="B")
    C = te.compute((n, m), lambda i, j: A[i, j] + B[i, j], name="C")
    s = te.create_schedule(C.op)
    xo, yo, xi, yi = s[C].tile(C.op.axis[0], C.op.axis[1], 4, 8)
    s[C].bind(xo, te.thread_axis("blockIdx.x"))
    s[C].bind(yo, te.thread_axis("threadIdx.x"))
    s[C].tensorize(xi, intrin_add(4, 8))
    f = tvm.build(s, [A, B, C], "cuda -emulate")
    assert "for (int r = 0; r < 4; ++r)" in f.imported_modules[0].get_source()
    a, b = (np.random.uniform(size=(n, m)).astype("float32") for _ in range(2))
    dev = tvm.cuda(0)
    c = tvm.nd.array(np.zeros((n, m), "float32"), dev)
    f(tvm.nd.array(a, dev), tvm.nd.array(b, dev), c)
    np.testing.assert_allclose(c.numpy(), a + b, rtol=1e-6)


def _double_intrin(shape, strided):
    """An intrinsic c = 2 * a over a tile of ``shape``, its body written with ib.buffer_ptr."""
    a = te.placeholder(shape, name="a")
    c = te.compute(shape, lambda *i: a(*i) * 2.0, name="c")
    strides = [te.var("s0"), 1] if strided else None
    Ab = tvm.tir.decl_buffer(a.shape, a.dtype, name="Ab", offset_factor=1, strides=strides)
    Cb = tvm.tir.decl_buffer(c.shape, c.dtype, name="Cb", offset_factor=1, strides=strides)

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        ap, cp = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        if len(shape) == 1:
            with ib.for_range(0, shape[0], name="i") as i:
                cp[i] = ap[i] * 2.0
        else:
            with ib.for_range(0, shape[0], name="i") as i:
                with ib.for_range(0, shape[1], name="j") as j:
                    cp[i, j] = ap[i, j] * 2.0
        return ib.get()
    return te.decl_tensor_intrin(c.op, body, binds={a: Ab, c: Cb})


def test_buffer_ptr_in_an_intrinsic_body_honours_the_tiles_offset_and_strides():
    # ib.buffer_ptr dropped the bound buffer's element offset and strides: every tile of C = 2A
    # wrote C[0:4] (and a 2-D tile read rows at the tile's width, not the array's)
    gen = np.random.default_rng()
    A = te.placeholder((12,), name="A")
    C = te.compute((12,), lambda i: A[i] * 2.0, name="C")
    s = te.create_schedule(C.op)
    s[C].tensorize(s[C].split(C.op.axis[0], factor=4)[1], _double_intrin((4,), False))
    a, c = gen.standard_normal(12).astype("float32"), np.zeros(12, "float32")
    tvm.build(s, [A, C])(a, c)
    np.testing.assert_allclose(c, 2 * a)
    A2 = te.placeholder((6, 8), name="A2")
    C2 = te.compute((6, 8), lambda i, j: A2[i, j] * 2.0, name="C2")
    s = te.create_schedule(C2.op)
    yo, xo, yi, xi = s[C2].tile(C2.op.axis[0], C2.op.axis[1], 3, 4)
    s[C2].tensorize(yi, _double_intrin((3, 4), True))
    a, c = gen.standard_normal((6, 8)).astype("float32"), np.zeros((6, 8), "float32")
    tvm.build(s, [A2, C2])(a, c)
    np.testing.assert_allclose(c, 2 * a)
