"""tl.lower / tl.build arguments that TVM code passes: simple_mode, binds, target_host."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import LoweringError, TargetError


def scale():
    A = te.placeholder((37,), name="A")
    B = te.compute((37,), lambda i: A[i] * 3.0 + 1.0, name="B")
    return te.create_schedule(B.op), [A, B]


def test_simple_mode_gives_the_same_readable_ir():
    s, args = scale()
    assert str(tl.lower(s, args, simple_mode=True)) == str(tl.lower(s, args))
    with pytest.raises(TypeError, match="simple_mode"):
        tl.lower(s, args, simple_mode="yes")


def test_dense_binds_are_accepted_and_other_layouts_refused_by_name():
    """TVM code binds arguments to decl_buffers; the dense row-major ones (any offset_factor) are
    what every argument is here, so they build and compute; strides, an offset, another shape or
    dtype are refused naming the tensor."""
    s, args = scale()
    A, B = args
    binds = {A: tl.tir.decl_buffer(A.shape, A.dtype, name="Ab", offset_factor=16),
             B: tl.tir.decl_buffer((37,), "float32", name="Bb")}
    f = tl.build(s, args, binds=binds)
    a = np.random.default_rng().standard_normal(37).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 3.0 + 1.0, rtol=1e-5, atol=1e-5)
    text = tl.lower(s, args, binds=binds).script()
    assert "B[" in text and text == tl.lower(s, args).astext()
    for bad, what in ((tl.tir.decl_buffer((37,), "float32", name="S", strides=[2]), "strides"),
                      (tl.tir.decl_buffer((37,), "float32", name="O", elem_offset=4), "offset 4"),
                      (tl.tir.decl_buffer((36,), "float32", name="N"), r"shape \(36,\)"),
                      (tl.tir.decl_buffer((37,), "float16", name="H"), "float16")):
        with pytest.raises(LoweringError, match=f"binds\\['A'\\]: buffer .*{what}"):
            tl.build(s, args, binds={A: bad})
    with pytest.raises(LoweringError, match="binds\\['A'\\]: expected a tensor bound to a tir.decl_buffer"):
        tl.lower(s, args, binds={A: object()})
    assert tl.lower(s, args, binds={}) is not None  # empty binds: nothing to honour


@pytest.mark.parametrize("host", ["llvm", tl.target.Target("llvm"), "llvm -opt-level=2"])
def test_target_host_accepts_llvm(host):
    s, args = scale()
    f = tl.build(s, args, target="llvm", target_host=host)
    a = np.random.default_rng().standard_normal(37).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 3.0 + 1.0, rtol=1e-5, atol=1e-5)  # FMA may round once


@pytest.mark.parametrize("host,match", [("cuda", "target_host must be an LLVM CPU target"),
                                        ("llvm -bogus", "unknown option '-bogus'"),
                                        ("vulkan", "unknown target 'vulkan'")])
def test_target_host_rejects_what_it_cannot_honour(host, match):
    s, args = scale()
    with pytest.raises(TargetError, match=match):
        tl.build(s, args, target="llvm", target_host=host)
