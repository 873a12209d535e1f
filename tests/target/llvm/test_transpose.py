"""Layout transposes (strided loads unrolled over a block) become register shuffles, not gathers."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te


def _unpack(N, K, H, W, bn, v, unroll=True, dtype="float32", target="llvm"):
    """NCHW[bn]c -> NCHW, the x axis vectorized by ``v`` and ``v`` channels unrolled."""
    A = te.placeholder((N, K // bn, H, W, bn), name="A", dtype=dtype)
    Y = te.compute((N, K, H, W), lambda n, k, y, x: A[n, k // bn, y, x, k % bn], name="Y")
    s = te.create_schedule(Y.op)
    n, k, y, x = s[Y].op.axis
    ko, ki = s[Y].split(k, factor=bn)
    kio, kii = s[Y].split(ki, factor=v)
    xo, xi = s[Y].split(x, factor=v)
    s[Y].reorder(n, ko, y, xo, kio, kii, xi)
    s[Y].parallel(s[Y].fuse(n, ko, y))
    if unroll:
        s[Y].unroll(kii)
    s[Y].vectorize(xi)
    return tl.build(s, [A, Y], target=target)


@pytest.mark.parametrize("shape", [(1, 64, 5, 56, 32, 16), (2, 16, 3, 13, 16, 16), (1, 24, 4, 9, 8, 8),
                                   (1, 8, 2, 21, 4, 4)])
def test_unpack_matches_numpy_without_gathers(shape, rng):
    """Widths that the vector divides and widths that leave a masked tail; 16, 8 and 4 lanes."""
    N, K, H, W, bn, v = shape
    f = _unpack(N, K, H, W, bn, v)
    a = rng.standard_normal((N, K // bn, H, W, bn)).astype(np.float32)
    y = np.full((N, K, H, W), np.nan, np.float32)
    f(a, y)
    np.testing.assert_array_equal(y, a.transpose(0, 1, 4, 2, 3).reshape(N, K, H, W))
    asm = f.get_source("asm")
    assert "gather" not in asm


def test_float64_and_int32_blocks(rng):
    for dtype in ("float64", "int32"):
        f = _unpack(1, 16, 3, 19, 8, 8, dtype=dtype)
        a = (rng.standard_normal((1, 2, 3, 19, 8)) * 1000).astype(dtype)
        y = np.zeros((1, 16, 3, 19), dtype)
        f(a, y)
        np.testing.assert_array_equal(y, a.transpose(0, 1, 4, 2, 3).reshape(1, 16, 3, 19))
        assert "gather" not in f.get_source("asm")


def test_bounds_checked_code_keeps_its_checks(rng):
    """With -bounds-check every access is checked one by one; the block is left as gathers."""
    f = _unpack(1, 32, 3, 20, 16, 16, target="llvm -bounds-check")
    a = rng.standard_normal((1, 2, 3, 20, 16)).astype(np.float32)
    y = np.zeros((1, 32, 3, 20), np.float32)
    f(a, y)
    np.testing.assert_array_equal(y, a.transpose(0, 1, 4, 2, 3).reshape(1, 32, 3, 20))


def test_partial_blocks_still_gather_correctly(rng):
    """Not unrolled, the strided loads are single gathers; the result is the same."""
    f = _unpack(1, 32, 3, 20, 16, 16, unroll=False)
    a = rng.standard_normal((1, 2, 3, 20, 16)).astype(np.float32)
    y = np.zeros((1, 32, 3, 20), np.float32)
    f(a, y)
    np.testing.assert_array_equal(y, a.transpose(0, 1, 4, 2, 3).reshape(1, 32, 3, 20))


def test_square_matrix_transpose(rng):
    """A plain 16 x 16 transpose, rows unrolled, columns vectorized."""
    A = te.placeholder((16, 16), name="A")
    B = te.compute((16, 16), lambda i, j: A[j, i], name="B")
    s = te.create_schedule(B.op)
    i, j = s[B].op.axis
    s[B].unroll(i)
    s[B].vectorize(j)
    f = tl.build(s, [A, B], target="llvm")
    a = rng.standard_normal((16, 16)).astype(np.float32)
    b = np.zeros((16, 16), np.float32)
    f(a, b)
    np.testing.assert_array_equal(b, a.T)
    assert "gather" not in f.get_source("asm")


def test_transpose_network():
    """The shuffle network alone, on constant rows: out[i][j] == rows[j][i]."""
    import llvmlite.ir as ir

    from tensorlang.target.llvm.transpose import transpose
    for n in (4, 8, 16):
        m = ir.Module()
        fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [ir.PointerType()] * 2), "t")
        b = ir.IRBuilder(fn.append_basic_block())
        vty = ir.VectorType(ir.IntType(32), n)
        src, dst = fn.args
        rows = [b.load(b.gep(src, [ir.Constant(ir.IntType(64), j * n)], source_etype=ir.IntType(32)), typ=vty)
                for j in range(n)]
        for i, col in enumerate(transpose(b, rows)):
            b.store(col, b.gep(dst, [ir.Constant(ir.IntType(64), i * n)], source_etype=ir.IntType(32)))
        b.ret_void()
        import ctypes

        import llvmlite.binding as llvm
        mod = llvm.parse_assembly(str(m))
        tm = llvm.Target.from_default_triple().create_target_machine()
        ee = llvm.create_mcjit_compiler(mod, tm)
        ee.finalize_object()
        func = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(ee.get_function_address("t"))
        a = np.arange(n * n, dtype=np.int32).reshape(n, n)
        out = np.zeros_like(a)
        func(a.ctypes.data, out.ctypes.data)
        np.testing.assert_array_equal(out, a.T)
