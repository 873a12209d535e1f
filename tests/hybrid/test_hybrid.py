"""te.hybrid.script: the same script run as Python on numpy arrays and compiled as a stage."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import ExprError


@te.hybrid.script
def outer_product(a, b):
    c = output_tensor((a.shape[0], b.shape[0]), "float32")  # noqa: F821 - a hybrid builtin
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            c[i, j] = a[i] * b[j]
    return c


@te.hybrid.script
def scan_clip(x, k):
    """A running value with branches, a scratch buffer and two outputs."""
    y = output_tensor(x.shape, x.dtype)  # noqa: F821
    z = output_tensor(x.shape, "float32")  # noqa: F821
    tmp = allocate((4,), "float32")  # noqa: F821
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.5 and i % k != 0:
            acc += x[i] * 2.0
        else:
            acc = acc - 1.0
        tmp[i % 4] = acc
        y[i] = max(acc, -3.0)
        z[i] = tmp[i % 4] if i > 2 else sqrt(x[i])  # noqa: F821
    for j in parallel(x.shape[0]):  # noqa: F821
        z[j] = z[j] + float32(j)  # noqa: F821
    return y, z


def _run(stage_outputs, inputs, arrays):
    outs = stage_outputs if isinstance(stage_outputs, list) else [stage_outputs]
    s = te.create_schedule([o.op for o in outs])
    f = tvm.build(s, [*inputs, *outs], "llvm")
    res = [np.empty([int(d) for d in o.shape], str(o.dtype)) for o in outs]
    f(*arrays, *res)
    return res


def test_compiled_matches_python_and_numpy():
    rng = np.random.default_rng()
    a, b = rng.random(10, dtype=np.float32), rng.random(7, dtype=np.float32)
    np.testing.assert_allclose(outer_product(a, b), np.outer(a, b))           # run as Python
    A, B = te.placeholder((10,), name="a"), te.placeholder((7,), name="b")
    (c,) = _run(outer_product(A, B), [A, B], [a, b])                        # compiled
    np.testing.assert_allclose(c, np.outer(a, b), rtol=1e-6)


def test_locals_branches_scratch_and_two_outputs():
    rng = np.random.default_rng()
    x = rng.random(23, dtype=np.float32)
    want_y, want_z = scan_clip(x, 3)
    X = te.placeholder((23,), name="x")
    y, z = _run(scan_clip(X, 3), [X], [x])
    # The running sum can pass near 0; run as Python under numpy < 2 it is summed in float64.
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z, want_z, rtol=1e-5, atol=1e-5)


def test_a_hybrid_stage_inside_a_scheduled_computation():
    rng = np.random.default_rng()
    A, B = te.placeholder((16,), name="a"), te.placeholder((12,), name="b")
    C = outer_product(A, B)
    D = te.compute((16, 12), lambda i, j: C[i, j] + 1.0, name="D")
    s = te.create_schedule(D.op)
    xo, xi = s[D].split(D.op.axis[1], factor=4)
    s[D].vectorize(xi)
    f = tvm.build(s, [A, B, D], "llvm")
    a, b = rng.random(16, dtype=np.float32), rng.random(12, dtype=np.float32)
    out = np.empty((16, 12), np.float32)
    f(a, b, out)
    np.testing.assert_allclose(out, np.outer(a, b) + 1.0, rtol=1e-6)


def test_unsupported_constructs_name_the_line():
    @te.hybrid.script
    def looping(a):
        b = output_tensor(a.shape, "float32")  # noqa: F821
        i = 0
        while i < 4:
            b[i] = a[i]
        return b

    @te.hybrid.script
    def unknown(a):
        b = output_tensor(a.shape, "float32")  # noqa: F821
        for i in range(4):
            b[i] = a[i] * scale  # noqa: F821
        return b
    A = te.placeholder((4,), name="a")
    with pytest.raises(ExprError, match=r"'looping', line \d+: 'While' statements are not supported"):
        looping(A)
    with pytest.raises(ExprError, match=r"'unknown', line \d+: unknown name 'scale'"):
        unknown(A)


def test_outputs_come_back_in_the_order_returned():
    @te.hybrid.script
    def two(a):
        first = output_tensor(a.shape, "float32")  # noqa: F821
        second = output_tensor(a.shape, "float32")  # noqa: F821
        for i in range(a.shape[0]):
            first[i] = a[i] + 1.0
            second[i] = a[i] * 3.0
        return second, first
    a = np.random.default_rng().random(9, dtype=np.float32)
    A = te.placeholder((9,), name="a")
    got_second, got_first = _run(two(A), [A], [a])
    want_second, want_first = two(a)
    np.testing.assert_allclose(got_second, want_second, rtol=1e-6)
    np.testing.assert_allclose(got_first, want_first, rtol=1e-6)
    np.testing.assert_allclose(got_second, a * 3.0, rtol=1e-6)


def test_bind_loops_run_on_gpu_indices_in_cuda_emulate():
    # TVM's hybrid test_bind: bind("threadIdx.x", n) loops were refused.
    @te.hybrid.script
    def vec_add(a, b):
        c = output_tensor((1000,), "float32")  # noqa: F821 - hybrid script's own names
        for bx in bind("blockIdx.x", 8):  # noqa: F821
            for tx in bind("threadIdx.x", 128):  # noqa: F821
                i = bx * 128 + tx
                if i < 1000:
                    c[i] = a[i] + b[i] * 2.0
        return c

    A = te.placeholder((1000,), name="A")
    B = te.placeholder((1000,), name="B")
    C = vec_add(A, B)
    f = tvm.build(te.create_schedule(C.op), [A, B, C], "cuda -emulate")
    assert "threadIdx.x" in f.imported_modules[0].get_source()
    rng = np.random.default_rng()
    a, b = rng.random(1000, dtype="float32"), rng.random(1000, dtype="float32")
    c = np.zeros(1000, "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a + b * 2, rtol=1e-6)
    np.testing.assert_allclose(vec_add(a, b), a + b * 2, rtol=1e-6)  # the script as Python
    with pytest.raises(ExprError, match="bind takes a GPU index name"):
        @te.hybrid.script
        def bad(a):
            c = output_tensor((4,), "float32")  # noqa: F821
            for t in bind("warp", 4):  # noqa: F821
                c[t] = a[t]
            return c
        bad(te.placeholder((4,), name="A"))
