"""The CUDA C rendered from hand-built lowered GPU IR (blockIdx/threadIdx loops, shared and local
buffers, barriers, vectors), and the contract's errors."""

from __future__ import annotations

import re

import pytest

from tensorlang.errors import BuildError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.codegen import (
    MATH_FUNCTIONS,
    float_literal,
    int_literal,
    render_cuda,
    split_kernels,
)
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype

from .helpers import (
    F16,
    F32,
    F64,
    I8,
    I32,
    SM90,
    barrier,
    bind,
    buf,
    c32,
    elementwise,
    guarded_threads,
    intrinsics,
    ld,
    loop,
    matmul,
    source_of,
    st,
    two_kernels,
    unaligned_vector,
    vadd,
)

# --- the rendered CUDA C -----------------------------------------------------------------------------

def test_vadd_source_and_plan():
    plan = split_kernels(vadd())
    (k,) = plan.kernels
    assert k.name == "vadd_kernel0"
    assert [p.name for p in k.params] == ["In0", "In1", "Out", "n"]
    assert [p.written for p in k.params] == [False, False, True, False]
    assert str(k.grid[0]) == "(n + 63) // 64" and k.block_dims() == (64, 1, 1)
    src = render_cuda(plan)
    assert ('extern "C" __global__ void __launch_bounds__(64) vadd_kernel0(const float* __restrict__ In0, '
            'const float* __restrict__ In1, float* __restrict__ Out, int n) {') in src
    assert "int bx = (int)blockIdx.x;" in src and "int tx = (int)threadIdx.x;" in src
    assert "if (((bx * 64) + tx) < n) {" in src  # the tail guard
    assert "tl_floordiv" not in src and "cuda_fp16" not in src  # helpers only when used


def test_matmul_source():
    plan = split_kernels(matmul())
    (k,) = plan.kernels
    assert k.block_dims() == (4, 16, 1) and [str(g) for g in k.grid] == ["4", "4", "1"]
    assert k.shared_bytes == 2 * 16 * 16 * 4
    src = render_cuda(plan)
    assert "__launch_bounds__(64)" in src
    assert "__shared__ __align__(16) float As[256];" in src and "__shared__ __align__(16) float Bs[256];" in src
    assert "__align__(16) float acc[4];" in src
    assert src.count("__syncthreads();") == 2
    assert "#pragma unroll" in src
    assert "*(const float4*)(A + " in src and "*(const float4*)(Bs + " in src  # global and shared float4 loads
    assert "*(float4*)(As + " in src and "*(float4*)(C + " in src  # float4 stores
    assert "*(float4*)(acc) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);" in src
    assert dict(k.vector_align) == {p.var: 16 for p in k.params if p.name in "ABC"}


def test_two_kernels_plan():
    plan = split_kernels(two_kernels())
    assert [k.name for k in plan.kernels] == ["two_kernel0", "two_kernel1"]
    (buf,) = plan.buffers
    assert buf.name == "T" and buf.dtype == F32 and str(buf.extent) == "n"
    k0, k1 = plan.kernels
    assert [p.name for p in k0.params] == ["A", "T", "n"] and [p.name for p in k1.params] == ["Out", "T", "n"]
    assert k0.block_dims() == (64, 1, 1) and k1.block_dims() == (128, 1, 1)
    src = render_cuda(plan)
    assert "void __launch_bounds__(64) two_kernel0(const float* __restrict__ A, float* __restrict__ T, int n)" in src
    assert "void __launch_bounds__(128) two_kernel1(float* __restrict__ Out, const float* __restrict__ T, int n)" in src


def test_launch_plan_of_two_kernels():
    m = build_cuda(two_kernels(), SM90)
    k0, k1 = m.plan.kernels
    assert k0.args == (("param", 0), ("buffer", 0), ("param", 2))
    assert k1.grid[0] == {"op": "floordiv", "args": [{"op": "add", "args": ["n", 127]}, 128]}
    assert m.plan.buffers[0].extent == "n" and m.plan.buffers[0].dtype == "float32"


def test_half_source():
    src = source_of("half")
    assert "#include <cuda_fp16.h>" in src and "half* __restrict__ Out" in src
    assert "tl_f2h(" in src and "tl_h2f(" in src and "expf(" in src
    assert "+ 1.5f" in src  # float16 constants are exact float32 constants


def test_int8_wraps_and_floors():
    src = source_of("int8")
    assert "signed char* __restrict__ Out" in src
    assert "((signed char)(" in src  # results wrapped back to 8 bits
    assert "tl_floordiv(" in src and "tl_floormod(" in src


def test_bool_memory_is_bytes():
    src = source_of("bool")
    assert "const unsigned char* __restrict__ M" in src and "unsigned char* __restrict__ Out" in src
    assert "(M[" in src and "] != 0)" in src


def test_f64_vector_uses_double2():
    src = source_of("f64_vector")
    assert "*(const double2*)(A + " in src and "*(double2*)(Out + " in src


def test_select_with_a_faulting_branch_branches():
    src = source_of("select_oob")
    assert re.search(r"float sel(_\d+)?;\n\s+if \(", src)  # a real branch, not a ternary
    assert "?" not in src.split("select_oob_kernel0")[1]


def test_select_without_loads_is_a_ternary():
    f = elementwise("tern", [F32], F32, lambda i, a: E.Select(i < c32(10), E.FloatImm(F32, 1.0), E.FloatImm(F32, 2.0)))
    src = render_cuda(split_kernels(f))
    assert "? 1.0f : 2.0f" in src and "sel" not in src


@pytest.mark.parametrize("dt", [F32, F64, F16])
def test_every_intrinsic_is_rendered(dt):
    src = render_cuda(split_kernels(intrinsics(dt)))
    for name, (f32, f64) in MATH_FUNCTIONS.items():
        if name == "nextafter" and dt.bits == 16:  # a step of a half's bits, not of a float's
            assert "tl_nextafter_h(" in src
            continue
        assert f"{f64 if dt.bits == 64 else f32}(" in src, name
    assert ("rint(" if dt.bits == 64 else "rintf(") in src  # round: ties to even


def test_floordiv_only_where_needed():
    src = source_of("floordiv")
    assert "tl_floordiv((int)((unsigned)In0[" in src  # a possibly negative dividend (A - 50, wrapping)
    assert "/ 3)" in src  # i // 3 with i >= 0 is plain division


def test_constants_are_exact():
    assert float_literal(float("nan"), F32) == "__int_as_float((int)0x7fc00000u)"
    assert float_literal(float("-inf"), F32) == "__int_as_float((int)0xff800000u)"
    assert float_literal(float("inf"), F64) == "__longlong_as_double((long long)0x7ff0000000000000ull)"
    assert float_literal(0.1, F32) == "0.1f" and float_literal(-0.0, F32) == "(-0.0f)"
    assert float_literal(0.1, F64) == "0.1" and float_literal(1e30, F32) == "1e+30f"
    assert float_literal(float("inf"), F16) == "tl_bits_half(0x7c00)"
    assert float_literal(0.1, F16) == "tl_f2h(0.099975586f)"
    assert int_literal(-2**31, I32) == "(-2147483647 - 1)" and int_literal(5, as_dtype("int64")) == "5LL"
    assert int_literal(7, as_dtype("uint32")) == "7u" and int_literal(-3, I8) == "((signed char)(-3))"


def test_guard_for_shorter_thread_loops():
    plan = split_kernels(guarded_threads())
    assert plan.kernels[0].block_dims() == (64, 1, 1)
    src = render_cuda(plan)
    assert "if (((int)threadIdx.x) < 32) {" in src
    assert "threadIdx.x) < 64" not in src  # the loop as long as the launch runs unguarded


def test_predicated_vector_goes_lane_by_lane():
    src = source_of("masked_vec")
    assert "float4" not in src and src.count("if (mask") == 4


def test_unaligned_vector_goes_lane_by_lane():
    plan = split_kernels(unaligned_vector())
    assert plan.kernels[0].vector_align == ()
    assert "float4" not in render_cuda(plan)


def test_lets_and_self_reading_vector_store():
    src = source_of("let")
    assert "const int base = tx * 8;" in src
    assert re.search(r"const float v\[4\] = \{", src)
    assert "const float t = " in src
    # A[base+1:base+5] = A[base+2:base+6] (unaligned, so lane by lane): every lane is loaded
    # before any is stored.
    body = src.split("let_fn_kernel0")[1]
    stores = [m.start() for m in re.finditer(r"\n\s+A\[", body)]
    loads = [m.start() for m in re.finditer(r"const float lane", body)]
    assert len(loads) == 4 and len(stores) == 4 and max(loads) < min(stores)


def test_names_are_made_valid_and_unique():
    n = E.Var("n", "int32")
    A = Buffer("A.in", F32, [n])
    Out = Buffer("min", F32, [n])
    v1, v2 = E.Var("i.inner"), E.Var("i.inner")
    body = S.SeqStmt([bind(v1, 32, "threadIdx.x", st(Out, ld(A, v1), v1)),
                      bind(v2, 32, "threadIdx.x", st(Out, ld(A, v2) + ld(Out, v2), v2))])
    src = render_cuda(split_kernels(PrimFunc("my-func", [A, Out, n], bind(E.Var("b"), 1, "blockIdx.x", body))))
    assert "my_func_kernel0(" in src and "A_in" in src and "min_1" in src
    assert "int i_inner = " in src and "int i_inner_1 = " in src


# --- the contract's errors --------------------------------------------------------------------------

def test_host_code_outside_a_kernel_is_refused():
    n = E.Var("n", "int32")
    A = Buffer("A", F32, [n])
    i = E.Var("i")
    f = PrimFunc("f", [A, n], S.SeqStmt([loop(i, 4, st(A, E.FloatImm(F32, 1.0), i)), no_op_kernel(A)]))
    with pytest.raises(BuildError, match="stage code outside any blockIdx/threadIdx loop: did you forget to bind"):
        split_kernels(f)


def no_op_kernel(A: Buffer) -> S.For:
    tx = E.Var("tx")
    return bind(tx, 1, "threadIdx.x", st(A, E.FloatImm(F32, 0.0), tx))


def test_evaluate_no_ops_are_allowed_at_the_top():
    A = buf("A", F32, 4)
    plan = split_kernels(PrimFunc("f", [A], S.SeqStmt([S.no_op(), no_op_kernel(A)])))
    assert len(plan.kernels) == 1


def test_block_extent_must_be_host_computable():
    A = buf("A", F32, 64)
    i, bx = E.Var("i"), E.Var("bx")
    kernel = bind(bx, i + 1, "blockIdx.x", st(A, E.FloatImm(F32, 0.0), bx))
    with pytest.raises(BuildError, match="depends on i"):
        split_kernels(PrimFunc("f", [A], S.SeqStmt([kernel])))


def test_unknown_thread_tag():
    A = buf("A", F32, 64)
    a, b = E.Var("a"), E.Var("b")
    with pytest.raises(BuildError, match="vthread"):
        split_kernels(PrimFunc("f", [A], bind(a, 2, "blockIdx.x", bind(b, 2, "vthread", st(A, E.FloatImm(F32, 0), b)))))


def test_nested_loops_on_one_tag_are_one_index():
    """A fetch attached inside the compute's thread loops binds threadIdx.x again, with a
    smaller extent: the same hardware index, guarded."""
    A = buf("A", F32, 64)
    a, b = E.Var("a"), E.Var("b")
    (k,) = split_kernels(PrimFunc("f", [A], bind(a, 64, "threadIdx.x", bind(b, 16, "threadIdx.x", st(
        A, E.Cast(F32, a * 100 + b), b))))).kernels
    assert k.block_dims() == (64, 1, 1)
    src = render_cuda(split_kernels(PrimFunc("f", [A], k.body)))
    assert "int a = (int)threadIdx.x;" in src and "if (((int)threadIdx.x) < 16) {" in src
    assert "int b = (int)threadIdx.x;" in src


def _barrier_kernel(wrap) -> PrimFunc:
    """A block of 64 threads writing shared memory, then ``wrap(tx, bx, barrier)`` around a barrier."""
    A = buf("A", F32, 64)
    bx, tx, t2 = E.Var("bx"), E.Var("tx"), E.Var("t2")
    sh = E.Var("sh", "handle")
    body = S.Allocate(sh, F32, c32(64), "shared", S.SeqStmt([
        bind(tx, 64, "threadIdx.x", S.SeqStmt([S.Store(sh, E.Cast(F32, tx), tx), wrap(tx, bx, barrier())])),
        bind(t2, 64, "threadIdx.x", st(A, E.Load(F32, sh, 63 - t2), t2)),
    ]))
    return PrimFunc("bar", [A], bind(bx, 4, "blockIdx.x", body))


def test_barriers_under_thread_dependent_control_flow_are_refused():
    with pytest.raises(BuildError, match=r"a barrier \(tl.syncthreads\) sits under the condition 'tx < 10'"):
        split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(tx < c32(10), b)))
    t3 = E.Var("t3")
    with pytest.raises(BuildError, match="sits under the guard threadIdx.x < '32'"):
        split_kernels(_barrier_kernel(lambda tx, bx, b: bind(t3, 32, "threadIdx.x", b)))
    # Uniform across the block: a blockIdx condition, or one every thread index satisfies.
    split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(bx < c32(3), b)))
    split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(tx < c32(64), b)))


def test_unknown_intrinsic_is_a_build_error():
    f = elementwise("bad", [F32], F32, lambda i, a: E.Call(F32, "no_such_fn", [a]))
    with pytest.raises(BuildError, match="unknown intrinsic 'no_such_fn'"):
        render_cuda(split_kernels(f))


def test_auto_unrolled_long_loops_are_unrolled_by_8_by_the_gpu_compiler():
    # unroll_explicit=0 leaves auto-unrolled loops to NVRTC (#pragma unroll); a loop of more
    # than 64 iterations gets "#pragma unroll 8" (NVRTC took 21 s to fully unroll a guarded
    # 504-iteration fetch of the tutorial conv2d) and the loops around it stay rolled.
    import numpy as np

    import tensorlang as tl
    from tensorlang import te

    A = te.placeholder((64, 200), name="A")
    k = te.reduce_axis((0, 200), name="k")
    C = te.compute((64,), lambda i: te.sum(A[i, k] * 2.0, axis=k), name="C")
    s = te.create_schedule(C.op)
    bo, ti = s[C].split(C.op.axis[0], factor=32)
    s[C].bind(bo, te.thread_axis("blockIdx.x"))
    s[C].bind(ti, te.thread_axis("threadIdx.x"))
    s[C].pragma(bo, "auto_unroll_max_step", 1500)  # the k loop: 200 statements, within the limit
    s[C].pragma(bo, "unroll_explicit", 0)
    f = tl.build(s, [A, C], target="cuda -emulate -arch=sm_90")
    src = f.get_source("cuda")
    assert "< 200;" in src.split("#pragma unroll 8\n")[1].split("\n")[0]  # on the k loop
    a = np.random.default_rng().uniform(-1, 1, (64, 200)).astype("float32")
    c = np.empty(64, "float32")
    f(a, c)
    np.testing.assert_allclose(c, 2 * a.sum(axis=1), rtol=1e-5, atol=1e-5)


def test_a_store_of_another_dtype_is_refused_in_cuda_c():
    # CUDA C reinterprets a pointer for an access of another type; for a store that would write
    # float32 bits into a float64 buffer, so the generator refuses it, as the LLVM one does.
    import tensorlang as tvm
    from tensorlang import te

    A = te.placeholder((64,), "float64", name="A")
    B = te.compute((64,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))

    from tests.target.narrowing_pass import narrow_stores

    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(3, narrow_stores)]}):
        with pytest.raises(tvm.TVMError, match="store to B: a float32 value into a float64 buffer"):
            tvm.build(s, [A, B], "cuda -emulate")


def test_a_host_function_call_on_a_cuda_target_names_the_function():
    # topi.sort is numpy behind call_packed: the error said "did you forget to bind?"
    import tensorlang as tl
    from tensorlang import te, topi
    A = te.placeholder((4, 8), name="A")
    B = topi.sort(A, axis=1)
    with pytest.raises(BuildError, match=r"calls the host function 'tensorlang.topi.sort' .* runs on the CPU only"):
        tl.build(te.create_schedule(B.op), [A, B], "cuda -emulate")


@pytest.mark.parametrize("reduce", [False, True])
def test_a_stage_computed_at_blockidx_y_with_blockidx_x_bound_inside(reduce):
    # The code between the two block loops runs in every block along x, as a GPU launches it;
    # cuda -emulate refused it ("loop 'j' is bound to GPU thread 'blockIdx.x', which needs a GPU
    # target") while the CUDA build compiled it.
    import numpy as np

    import tensorlang as tl
    from tensorlang import te
    A = te.placeholder((4, 8, 64), name="A")
    k = te.reduce_axis((0, 64), name="k")
    B = te.compute((4, 8), (lambda i, j: te.sum(A[i, j, k], axis=k)) if reduce else
                   (lambda i, j: A[i, j, 3] * 2.0), name="B")
    C = te.compute((4, 8), lambda i, j: B[i, j] + 1.0, name="C")
    s = te.create_schedule(C.op)
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.y"))
    s[C].bind(C.op.axis[1], te.thread_axis("blockIdx.x"))
    s[B].compute_at(s[C], C.op.axis[0])
    if reduce:
        s[B].bind(s[B].split(k, factor=32)[1], te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, C], target="cuda -emulate -arch=sm_90")
    a = np.random.default_rng().standard_normal((4, 8, 64)).astype("float32")
    c = np.full((4, 8), np.nan, "float32")
    f(a, c)
    want = (a.sum(axis=2) if reduce else a[:, :, 3] * 2) + 1
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
