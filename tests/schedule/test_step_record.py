"""Schedule.steps and python_code: the printed primitives replay to the same schedule."""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.schedule.step_record import python_code


def _matmul_relu(n: int):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    D = te.compute((n, n), lambda i, j: te.max(C[i, j], 0.0), name="D")
    return A, B, D


def _schedule(A, B, D):
    s = te.create_schedule(D.op)
    C = D.op.input_tensors[0]
    CL = s.cache_write(C, "local")
    i, j = s[C].op.axis
    io, jo, ii, ji = s[C].tile(i, j, 8, 16)
    s[CL].compute_at(s[C], jo)
    a, b = s[CL].op.axis
    (kk,) = s[CL].op.reduce_axis
    ko, ki = s[CL].split(kk, factor=4)
    s[CL].reorder(ko, ki, a, b)
    s[CL].unroll(a)
    s[CL].vectorize(b)
    s[C].parallel(s[C].fuse(io, jo))
    do, di = s[D].split(s[D].op.axis[1], factor=16)
    s[D].vectorize(di)
    return s


def test_steps_are_the_outermost_primitives_only():
    A, B, D = _matmul_relu(32)
    s = _schedule(A, B, D)
    prims = [st.primitive for st in s.steps]
    # tile is one step (not the two splits and the reorder it makes)
    assert prims == ["cache_write", "tile", "compute_at", "split", "reorder", "unroll", "vectorize", "fuse",
                     "parallel", "split", "vectorize"]


def test_printed_steps_replay_to_the_same_lowered_ir_and_results():
    A, B, D = _matmul_relu(48)
    s = _schedule(A, B, D)
    code = python_code(s, [A, B, D], tensors_from="make()")
    assert code.splitlines()[0] == "A, B, D = make()"
    ns: dict = {}
    exec(code, {"te": te, "make": lambda: _matmul_relu(48)}, ns)   # noqa: S102 - our own printed code
    replayed = ns["s"]
    args2 = [ns["A"], ns["B"], ns["D"]]
    assert str(tl.lower(replayed, args2, simple_mode=True)) == str(tl.lower(s, [A, B, D], simple_mode=True))
    f = tl.build(replayed, args2, target="llvm")
    rng = np.random.default_rng()
    a = rng.standard_normal((48, 48)).astype(np.float32)
    b = rng.standard_normal((48, 48)).astype(np.float32)
    out = np.empty((48, 48), np.float32)
    f(a, b, out)
    np.testing.assert_allclose(out, np.maximum(a @ b, 0), rtol=1e-4, atol=1e-4)


def test_thread_bindings_and_cache_read_print_as_calls():
    n = 64
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    AS = s.cache_read(A, "shared", [B])
    bo, bi = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bo, te.thread_axis("blockIdx.x"))
    s[B].bind(bi, te.thread_axis("threadIdx.x"))
    s[AS].compute_at(s[B], bo)
    code = python_code(s, [A, B])
    assert "A_shared = s.cache_read(A, 'shared', [B])" in code
    assert 's[B].bind(B_i_outer, te.thread_axis("blockIdx.x"))' in code
    assert "s[A_shared].compute_at(s[B], B_i_outer)" in code
