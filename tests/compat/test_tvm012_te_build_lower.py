"""TVM 0.12's lowering and building unit tests (test_te_build_lower.py) as a TVM user's code
reads after ``import tensorlang as tvm; from tensorlang import te``, test names kept; where TVM
only checked that lowering succeeds, the port also runs the CPU results against numpy (the
GPU rfactor schedule is only lowered: building it for ``cuda -emulate`` costs seconds, and
other tests run such schedules).  One check differs by design: tensorlang partitions a loop
whose split leaves a tail (a guard-free main range, a guarded tail), so the lowered body of
test_split_uneven_unique_likely is not TVM's single ``if likely(...)`` nest."""

# ruff: noqa: F841 - TVM's test code as is (results it only builds)

import numpy as np

import tensorlang as tvm
from tensorlang import te


def test_lower_rfactor():
    n = te.size_var("n")
    m = te.size_var("m")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), "k")
    B = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=16)
    BF = s.rfactor(B, ki)
    xo, xi = s[B].split(s[B].op.axis[0], factor=32)
    s[B.op].bind(xo, te.thread_axis("blockIdx.x"))
    s[B.op].bind(xi, te.thread_axis("threadIdx.y"))
    s[B].bind(s[B].op.reduce_axis[0], te.thread_axis("threadIdx.x"))
    s[BF].compute_at(s[B], s[B].op.reduce_axis[0])
    fapi = tvm.lower(s, [A, B])


def test_dependent_output_shape():
    n, m, x = te.size_var("n"), te.size_var("m"), te.size_var("x")
    A = te.placeholder((n, m))
    B = te.compute((m, n // x), lambda i, j: A[i, j], name="B")
    s = te.create_schedule(B.op)
    mod = tvm.build(s, [A, B, x])

    a = np.random.default_rng().standard_normal((9, 7)).astype("float32")
    out = tvm.nd.array(np.zeros((7, 9 // 2), "float32"))
    mod(tvm.nd.array(a), out, 2)
    np.testing.assert_array_equal(out.numpy(), a[:7, :4])


def test_split_uneven_unique_likely():
    a = te.placeholder(
        (16, 16),
    )
    b = te.placeholder(
        (16, 16),
    )
    c = te.compute((16, 16), lambda x, y: a[x, y] + b[x, y])

    x, y = c.op.axis
    sch = te.create_schedule(c.op)
    xo, xi = sch[c].split(x, 5)
    stmt = tvm.lower(sch, [a, b, c])["main"].body
    # TVM: isinstance(stmt.body.body, tvm.tir.stmt.IfThenElse), one ``likely``; here the split
    # loop is partitioned (three full tiles, then the one-row tail) and no guard is left
    assert str(stmt).count("likely") <= 1
    f = tvm.build(sch, [a, b, c], "llvm")
    rng = np.random.default_rng()
    av, bv = rng.standard_normal((16, 16)).astype("float32"), rng.standard_normal((16, 16)).astype("float32")
    out = tvm.nd.array(np.zeros((16, 16), "float32"))
    f(tvm.nd.array(av), tvm.nd.array(bv), out)
    np.testing.assert_allclose(out.numpy(), av + bv, rtol=1e-6)
