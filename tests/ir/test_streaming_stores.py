"""Streaming (non-temporal) stores: chosen for large written-once outputs or by the ``nontemporal``
pragma; results equal numpy on aligned, deliberately misaligned and odd-length arrays."""

from __future__ import annotations

import platform

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.passes import streaming_stores as ss

X86 = platform.machine() in ("x86_64", "AMD64")


def _chain(n, dtype="float32", lanes=16, pragma=None, parallel=False, block=None):
    """C = A * 3 - B (elementwise), split by ``lanes``, vectorized inside."""
    A = te.placeholder((n,), name="A", dtype=dtype)
    B = te.placeholder((n,), name="B", dtype=dtype)
    C = te.compute((n,), lambda i: A[i] * te.const(3, dtype) - B[i], name="C")
    s = te.create_schedule(C.op)
    axis = C.op.axis[0]
    if block is not None:
        bo, axis = s[C].split(axis, factor=block)
        if parallel:
            s[C].parallel(bo)
    xo, xi = s[C].split(axis, factor=lanes)
    if parallel and block is None:
        s[C].parallel(xo)
    s[C].vectorize(xi)
    if pragma is not None:
        s[C].pragma(xo, "nontemporal", pragma)
    return s, [A, B, C]


def _views(n, dtype, rng, offset):
    """Fresh random views of length ``n`` starting ``offset`` elements into a larger array."""
    def one():
        base = rng.integers(-1000, 1000, n + 32).astype(dtype)
        return base[offset:offset + n]
    out_base = np.full(n + 32, 7, dtype)
    return one(), one(), out_base, out_base[offset:offset + n]


@pytest.mark.parametrize("dtype,lanes", [("float32", 16), ("float64", 8), ("int16", 32), ("float32", 8),
                                         ("float32", 128), ("int16", 128)])  # several lines a store
@pytest.mark.parametrize("parallel", [False, True])
def test_pragma_matches_numpy_on_aligned_misaligned_and_odd_lengths(dtype, lanes, parallel):
    rng = np.random.default_rng()
    n = 4099  # odd: a tail after the last whole vector
    s, args = _chain(n, dtype, lanes, pragma=True, parallel=parallel, block=1024 if parallel else None)
    f = tl.build(s, args, target="llvm")
    if X86:
        assert "vmovnt" in f.get_source("asm") or "movnt" in f.get_source("asm")
    assert "!nontemporal" in f.get_source("ll")
    for offset in (0, 1, 3, 4, 7, 15, 16):
        a, b, base, c = _views(n, dtype, rng, offset)
        f(a, b, c)
        np.testing.assert_array_equal(c, a * np.asarray(3, dtype) - b)
        # nothing outside the view was written
        assert (base[:offset] == 7).all() and (base[offset + n:] == 7).all()


def test_not_element_aligned_output_falls_back_to_ordinary_stores():
    rng = np.random.default_rng()
    n = 1000
    s, args = _chain(n, pragma=True)
    f = tl.build(s, args, target="llvm")
    raw = np.zeros(4 * n + 8, np.uint8)
    c = raw[1:1 + 4 * n].view(np.float32)  # 1 byte past a boundary: no float is 4-byte aligned
    assert c.ctypes.data % 4
    a, b = (rng.integers(-1000, 1000, n).astype(np.float32) for _ in range(2))  # exact with or without FMA
    f(a, b, c)
    np.testing.assert_array_equal(c, a * np.float32(3) - b)


def test_false_pragma_and_small_outputs_keep_ordinary_stores(monkeypatch):
    s, args = _chain(4096, pragma=False)
    monkeypatch.setattr(ss, "default_min_bytes", lambda: 1)
    assert ss.GAP_INTRINSIC not in str(tl.lower(s, args))
    monkeypatch.setattr(ss, "default_min_bytes", lambda: 1 << 40)
    s, args = _chain(4096)
    assert ss.GAP_INTRINSIC not in str(tl.lower(s, args))


def test_chosen_automatically_for_a_large_written_once_output(monkeypatch):
    monkeypatch.setattr(ss, "default_min_bytes", lambda: 64 * 1024)
    rng = np.random.default_rng()
    n = 1 << 15  # 128 KiB of output, above the (patched) threshold
    s, args = _chain(n, parallel=True, block=4096)
    text = str(tl.lower(s, args))
    assert ss.GAP_INTRINSIC in text and ss.ANNOTATION_KEY in text
    f = tl.build(s, args, target="llvm")
    a = rng.integers(-1000, 1000, n + 5).astype(np.float32)[5:]  # misaligned; integers: exact with FMA
    b = rng.integers(-1000, 1000, n).astype(np.float32)
    out = np.empty(n + 3, np.float32)[3:]
    f(a, b, out)
    np.testing.assert_array_equal(out, a * np.float32(3) - b)


def test_not_chosen_when_the_output_is_read_back(monkeypatch):
    """A reduction reads its output while accumulating: ordinary stores."""
    monkeypatch.setattr(ss, "default_min_bytes", lambda: 1)
    A = te.placeholder((64, 256), name="A")
    k = te.reduce_axis((0, 64), name="k")
    C = te.compute((256,), lambda j: te.sum(A[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    jo, ji = s[C].split(C.op.axis[0], factor=16)
    ko = s[C].op.reduce_axis[0]
    s[C].reorder(jo, ko, ji)
    s[C].vectorize(ji)
    assert ss.GAP_INTRINSIC not in str(tl.lower(s, [A, C]))


def test_two_dimensional_rows_stream_each_row():
    rng = np.random.default_rng()
    rows, cols = 7, 1000
    A = te.placeholder((rows, cols), name="A")
    C = te.compute((rows, cols), lambda i, j: te.exp(A[i, j]) * 0.5, name="C")
    s = te.create_schedule(C.op)
    i, j = C.op.axis
    jo, ji = s[C].split(j, factor=16)
    s[C].parallel(i)
    s[C].vectorize(ji)
    s[C].pragma(i, "nontemporal")  # on an enclosing axis: the whole nest
    f = tl.build(s, [A, C], target="llvm")
    assert "!nontemporal" in f.get_source("ll")
    for offset in (0, 2, 5):
        a = rng.standard_normal(rows * cols + 8).astype(np.float32)[offset:offset + rows * cols].reshape(rows, cols)
        out = np.empty(rows * cols + 8, np.float32)[offset:offset + rows * cols].reshape(rows, cols)
        f(a, out)
        np.testing.assert_allclose(out, np.exp(a) * 0.5, rtol=2e-6)
