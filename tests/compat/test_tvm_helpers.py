"""Smaller TVM names ported code uses: te.tag_scope, NDArray DLPack, tvm.testing's decorators."""

from __future__ import annotations

import numpy as np

import tensorlang as tvm
from tensorlang import te


def test_tag_scope_as_block_and_decorator():
    A = te.placeholder((4,), name="A")
    with te.tag_scope(tag="conv2d"):
        B = te.compute((4,), lambda i: A[i] + 1, name="B")
        C = te.compute((4,), lambda i: A[i] * 2, name="C", tag="own")

    @te.tag_scope(tag="elemwise")
    def double(t):
        return te.compute(t.shape, lambda i: t[i] * 2, name="D")
    assert (B.op.tag, C.op.tag, double(A).op.tag) == ("conv2d", "own", "elemwise")
    assert te.compute((4,), lambda i: A[i], name="E").op.tag == ""


def test_dlpack_shares_memory_both_ways():
    rng = np.random.default_rng()
    host = rng.standard_normal(6).astype("float32")
    a = tvm.nd.array(host)
    b = tvm.nd.from_dlpack(a.to_dlpack())
    a.copyfrom(host * 3)
    np.testing.assert_array_equal(b.numpy(), host * 3)          # a view, not a copy
    np.testing.assert_array_equal(np.from_dlpack(a), host * 3)  # numpy reads the protocol
    c = tvm.nd.from_dlpack(host)
    host[0] = 42.0
    assert c.numpy()[0] == 42.0


def test_enabled_targets_and_devices():
    targets = [t for t, _ in tvm.testing.enabled_targets()]
    assert targets[0] == "llvm"
    assert tvm.testing.device_enabled("cuda -emulate") and tvm.testing.device_enabled("llvm")
    assert tvm.testing.device_enabled("cuda") == tvm.cuda(0).exist


@tvm.testing.uses_gpu
@tvm.testing.parametrize_targets("llvm", "cuda -emulate", "cuda")
def test_parametrize_targets_runs_each_usable_target(target, dev):
    n = 64
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    if target.startswith("cuda"):
        bx, tx = s[B].split(B.op.axis[0], factor=32)
        s[B].bind(bx, te.thread_axis("blockIdx.x"))
        s[B].bind(tx, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [A, B], target)
    a = np.random.default_rng().standard_normal(n).astype("float32")
    out = tvm.nd.empty((n,), device=dev)
    f(tvm.nd.array(a, dev), out)
    tvm.testing.assert_allclose(out.numpy(), a * 2.0 + 1.0, rtol=1e-6)
