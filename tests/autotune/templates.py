"""Tunable templates for the auto-tuner's tests (importing this module registers them).

- ``test/matmul`` (N, L, M): C = A @ B with split knobs ``tile_y``, ``tile_x``, ``tile_k``.
- ``test/faulty`` (n,): B = A with a knob ``mode`` whose candidates fail in every way a candidate
  can: ``ok`` (correct, and the fallback), ``raise`` (the template rejects the config),
  ``nocompile`` (a GPU thread binding on an llvm target), ``segfault`` (SIGSEGV raised by the kernel),
  ``hang`` (a 10**12-step reduction), ``wrong`` (B = A + 1).

Names are stable: other tests import them.
"""

from __future__ import annotations

from tensorlang import autotune, te

MATMUL = "test/matmul"
FAULTY = "test/faulty"
FAULTY_MODES = ("ok", "raise", "nocompile", "segfault", "hang", "wrong")


@autotune.template(MATMUL)
def matmul(N: int, L: int, M: int):
    """C[i, j] = sum_k A[i, k] * B[k, j] in float32: tiles of (i, j, k), inner j vectorized,
    outer i parallel."""
    A = te.placeholder((N, L), name="A")
    B = te.placeholder((L, M), name="B")
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    (kk,) = s[C].op.reduce_axis
    cfg = autotune.get_config()
    cfg.define_split("tile_y", y, num_outputs=2)
    cfg.define_split("tile_x", x, num_outputs=2)
    cfg.define_split("tile_k", kk, num_outputs=2)
    yo, yi = cfg["tile_y"].apply(s, C, y)
    xo, xi = cfg["tile_x"].apply(s, C, x)
    ko, ki = cfg["tile_k"].apply(s, C, kk)
    s[C].reorder(yo, xo, ko, yi, ki, xi)
    s[C].vectorize(xi)
    s[C].parallel(yo)
    return s, [A, B, C]


@autotune.template(FAULTY)
def faulty(n: int):
    """B = A, or a candidate that fails as its ``mode`` knob says."""
    cfg = autotune.get_config()
    cfg.define_knob("mode", list(FAULTY_MODES))
    mode = cfg["mode"].val
    A = te.placeholder((n,), name="A")
    if mode == "raise":
        cfg.raise_error("mode 'raise' rejects this config")
    if mode == "segfault":
        # The candidate kills itself with SIGSEGV through libc's raise(): an out-of-bounds read
        # no longer can (lowering rejects it, or checks it at run time: a BoundsError).
        sig = te.call_extern("int32", "raise", te.const(11, "int32"))
        B = te.compute((n,), lambda i: te.if_then_else(A[i] < 1e30, sig.astype("float32"), A[i]), name="B")
    elif mode == "hang":
        # 10**12 dependent float additions (no fast-math, so LLVM can neither vectorize nor fold
        # them): minutes of work, far past any test timeout.
        r1 = te.reduce_axis((0, 10**6), name="r1")
        r2 = te.reduce_axis((0, 10**6), name="r2")
        B = te.compute((n,), lambda i: te.sum(A[i] * 1e-30, axis=[r1, r2]), name="B")
    elif mode == "wrong":
        B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    else:
        B = te.compute((n,), lambda i: A[i], name="B")
    s = te.create_schedule(B.op)
    if mode == "nocompile":
        s[B].bind(s[B].op.axis[0], te.thread_axis("threadIdx.x"))
    return s, [A, B]
