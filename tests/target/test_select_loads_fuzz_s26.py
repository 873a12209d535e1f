"""Guarded loads on the CPU backend against out-of-bounds reads that would fault.

A select (``te.if_then_else``) whose sides both load memory is emitted as two unconditional
loads when the loop ranges prove every lane inside its buffer; anywhere that proof is wrong, a
load its condition guards runs anyway.  Inputs here sit right against an inaccessible
(PROT_NONE) page, so such a read faults instead of reading garbage that the select then drops;
the kernels run in a forked child, so a fault fails the test instead of killing the run.
Results compare with numpy on fresh random data.  (From a differential fuzzer: random guarded
gathers, shifts, wrapped narrow-integer indices, splits, vectorized, parallel and symbolic loops.)"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import signal

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te

rng = np.random.default_rng()
PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_maps: list[mmap.mmap] = []

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork to survive a fault")


def _guarded(src: np.ndarray, at: str) -> np.ndarray:
    """A copy of ``src`` ending exactly at (at="end") or starting right after (at="start") a
    PROT_NONE page: one element past either end faults."""
    data_pages = max(1, -(-src.nbytes // PAGE))
    m = mmap.mmap(-1, (data_pages + 2) * PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(m))
    for off in (0, (data_pages + 1) * PAGE):
        assert _libc.mprotect(ctypes.c_void_p(base + off), PAGE, 0) == 0, "mprotect failed"
    offset = (data_pages + 1) * PAGE - src.nbytes if at == "end" else PAGE
    arr = np.frombuffer(m, dtype=src.dtype, count=src.size, offset=offset).reshape(src.shape)
    arr[...] = src
    _maps.append(m)
    return arr


def _run_in_child(f, args: list[np.ndarray], out: np.ndarray, want: np.ndarray, what: str) -> None:
    """Runs ``f(*args, out)`` in a forked child (a fault must not kill pytest) and checks ``out``
    against ``want`` there; the parent reports how the child ended."""
    pid = os.fork()
    if pid == 0:  # child: no Python-level cleanup, only the exit status
        code = 1
        try:
            f(*args, out)
            code = 0 if np.array_equal(out, want, equal_nan=out.dtype.kind == "f") else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        pytest.fail(f"{what}: the kernel died of {signal.Signals(os.WTERMSIG(status)).name} "
                    "(a guarded load outside its buffer was executed)")
    assert os.WEXITSTATUS(status) == 0, f"{what}: {'wrong result' if os.WEXITSTATUS(status) == 3 else 'error'}"


def test_wider_typed_view_of_a_buffer_is_not_proven_in_bounds():
    """A float64 view (decl_buffer(data=...)) of a 16-float32 argument holds 8 elements: its
    index i < 16 does not keep it inside, and the load its never-true condition guards must not
    run (speculating it read up to 64 bytes past the array)."""
    n = 16
    A = te.placeholder((n,), name="A")

    def gen(ins, outs):
        ib = tvm.tir.ir_builder.create()
        wide = ib.buffer_ptr(tvm.tir.decl_buffer((n,), "float64", name="A64", data=ins[0].data))
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, n, name="i") as i:
            o[i] = tvm.tir.if_then_else(a[i] > 2.0, wide[i], a[i].astype("float64"))
        return ib.get()

    O = te.extern((n,), [A], gen, dtype="float64", name="O")
    f = tvm.build(te.create_schedule(O.op), [A, O], target="llvm")
    x = rng.uniform(-1, 1, n).astype("float32")  # never > 2: the wide load never runs
    _run_in_child(f, [_guarded(x, "end")], np.zeros(n, "float64"), x.astype("float64"), "float64 view")


def _shifted_rows(parallel: bool):
    """O[i, j] = A[i + 1, j] where i < h - 1, over the fused (i, j) loop: no loop split makes the
    condition constant, so the select stays, and A's last row plus one is past its end."""
    h, w = 7, 33
    A, X = te.placeholder((h, w), name="A"), te.placeholder((h, w), name="X")
    O = te.compute((h, w), lambda i, j: te.if_then_else(i < h - 1, A[i + 1, j], X[i, j]), name="O")
    s = te.create_schedule(O.op)
    fused = s[O].fuse(*O.op.axis)
    if parallel:
        s[O].parallel(fused)  # the outlined worker gets the loop's range as its own
    a, x = rng.standard_normal((h, w)).astype("float32"), rng.standard_normal((h, w)).astype("float32")
    want = np.concatenate([a[1:], x[-1:]])
    return tvm.build(s, [A, X, O], target="llvm"), [a, x], want, "end"


def _padded_window():
    """O[i, j] = A[i - 1, j - 1] where i >= 1 and j >= 1 (a padded shift), fused: A[-1, -1] is one
    row and one element before A's start."""
    h, w = 9, 20
    A, X = te.placeholder((h, w), name="A"), te.placeholder((h, w), name="X")
    O = te.compute((h, w), lambda i, j: te.if_then_else(tvm.tir.all(i >= 1, j >= 1), A[i - 1, j - 1], X[i, j]),
                   name="O")
    s = te.create_schedule(O.op)
    s[O].fuse(*O.op.axis)
    a, x = rng.standard_normal((h, w)).astype("float32"), rng.standard_normal((h, w)).astype("float32")
    want = x.copy()
    want[1:, 1:] = a[:-1, :-1]
    return tvm.build(s, [A, X, O], target="llvm"), [a, x], want, "start"


def test_selects_the_loop_ranges_cannot_prove_keep_their_loads_conditional():
    """Selects that survive lowering with a load reaching one element past an end of its input:
    a wrong in-bounds proof would read it (each faults when the proof is forced to say yes)."""
    for name, make in (("shifted rows", lambda: _shifted_rows(False)),
                       ("shifted rows, parallel", lambda: _shifted_rows(True)),
                       ("padded window", _padded_window)):
        f, inputs, want, at = make()
        _run_in_child(f, [_guarded(x, at) for x in inputs], np.zeros(want.shape, want.dtype), want, name)


def test_guarded_gather_and_wrapped_int8_index_stay_inside():
    """Indices from data (a gather whose index tensor holds -1 and m) and from int8 arithmetic
    that wraps negative, each guarded by te.if_then_else, with the input against a guard page
    on either side."""
    n, m = 160, 40
    A, G = te.placeholder((m,), name="A"), te.placeholder((n,), name="G", dtype="int32")
    X = te.placeholder((n,), name="X")

    def body(i):
        k = (i.astype("int8") + tvm.tir.const(100, "int8")).astype("int32")  # wraps twice over i < 160
        gathered = te.if_then_else(tvm.tir.all(G[i] >= 0, G[i] < m), A[G[i]], X[i])
        return gathered + te.if_then_else(tvm.tir.all(k >= -m, k < 0), A[k + m], X[i])
    O = te.compute((n,), body, name="O")
    s = te.create_schedule(O.op)
    _, xi = s[O].split(O.op.axis[0], factor=4)
    s[O].vectorize(xi)
    f = tvm.build(s, [A, G, X, O], target="llvm")
    g = rng.integers(-3, m + 3, n).astype("int32")
    g[:2] = (-1, m)  # one past each end
    a, x = rng.standard_normal(m).astype("float32"), rng.standard_normal(n).astype("float32")
    k = (np.arange(n).astype(np.int8) + np.int8(100)).astype(np.int64)
    want = (np.where((g >= 0) & (g < m), a[np.clip(g, 0, m - 1)], x)
            + np.where((k >= -m) & (k < 0), a[np.clip(k + m, 0, m - 1)], x)).astype("float32")
    for at in ("end", "start"):
        _run_in_child(f, [_guarded(a, at), _guarded(g, at), _guarded(x, at)], np.zeros(n, "float32"), want,
                      f"gather and int8 index (inputs at the {at} of a page)")


def test_both_sides_in_bounds_still_blend_correctly_in_parallel():
    """The proven case (both loads inside, a plain vector select) in a parallel loop's worker,
    with the arrays against guard pages: right values, no fault."""
    h, w = 9, 70
    X, Y = te.placeholder((h, w), name="X"), te.placeholder((h, w), name="Y")
    O = te.compute((h, w), lambda i, j: te.if_then_else(X[i, j] > Y[i, w - 1 - j], X[i, j], Y[i, w - 1 - j]), name="O")
    s = te.create_schedule(O.op)
    s[O].parallel(O.op.axis[0])
    f = tvm.build(s, [X, Y, O], target="llvm")
    x, y = rng.standard_normal((h, w)).astype("float32"), rng.standard_normal((h, w)).astype("float32")
    x[0, :3] = np.nan
    for at in ("end", "start"):
        out = _guarded(np.zeros((h, w), "float32"), at)
        f(_guarded(x, at), _guarded(y, at), out)  # in-process: a parallel kernel needs the thread pool
        np.testing.assert_array_equal(out, np.where(x > y[:, ::-1], x, y[:, ::-1]))


def test_narrow_integer_arithmetic_inside_an_index_wraps_like_numpy():
    """int8 arithmetic inside an index wraps around (numpy, TVM): LLVM must not be told it cannot
    overflow ('nsw'), or it folds the clamps away: max(int8(j) + 100, 0) is 0 from j = 28 on,
    min(max(int8(j) + 127, 0), 4) is 0 from j = 1 on."""
    n = 60
    A = te.placeholder((128,), name="A")
    i8 = lambda v: tvm.tir.const(v, "int8")  # noqa: E731
    O = te.compute((n,), lambda j: A[te.max(j.astype("int8") + i8(100), i8(0)).astype("int32")]
                   + A[te.min(te.max((j.astype("int8") + i8(127)).astype("int32"), 0), 4)], name="O")
    s = te.create_schedule(O.op)
    _, ji = s[O].split(O.op.axis[0], factor=4)
    s[O].vectorize(ji)
    for sch in (te.create_schedule(O.op), s):
        f = tvm.build(sch, [A, O], target="llvm")
        a = rng.standard_normal(128).astype("float32")
        out = np.zeros(n, "float32")
        f(a, out)
        j = np.arange(n).astype(np.int8)
        k1 = np.maximum(j + np.int8(100), np.int8(0)).astype(np.int32)
        k2 = np.clip((j + np.int8(127)).astype(np.int32), 0, 4)
        np.testing.assert_array_equal(out, a[k1] + a[k2])


def test_bounds_of_wrapping_narrow_arithmetic_are_not_one_sided_guesses():
    """The interval analysis behind the in-bounds proof: int8(i) * -21 for i in [0, 12] wraps
    (i = 7 gives 109), so no upper bound 0 may come out of the lower one overflowing; likewise
    uint16(j) - 39 for j in [-3, 4]."""
    from tensorlang.arith.interval import Interval
    from tensorlang.arith.simplify import const_bound

    i, j = te.var("i", "int64"), te.var("j")
    cases = [((i.astype("int8") * tvm.tir.const(-21, "int8")).astype("int32"), {i: (0, 12)}),
             ((j.astype("uint16") - tvm.tir.const(39, "uint16")).astype("int32"), {j: (-3, 4)})]
    for e, ranges in cases:
        (v, (lo_v, hi_v)), = ranges.items()
        lo, hi = const_bound(e, {v: Interval(tvm.tir.const(lo_v, v.dtype), tvm.tir.const(hi_v, v.dtype))})
        dt = np.int8 if "int8" in str(e) else np.uint16
        k = np.arange(lo_v, hi_v + 1)
        vals = (k.astype(dt) * dt(-21)).astype(np.int64) if dt is np.int8 else (k.astype(dt) - dt(39)).astype(np.int64)
        assert lo is None or lo <= vals.min(), (e, lo, vals.min())
        assert hi is None or hi >= vals.max(), (e, hi, vals.max())


def test_interchanged_reductions_keep_numpy_wraparound_and_nan():
    """Reductions whose spatial loop interchange_reductions moves inside the reduction loop: an
    int8 column sum (wraps around like numpy's int8 sum) and a max
    over 40 rows with NaNs (NaN propagates, as np.max's), with init= read from another tensor."""
    rows, m = 37, 11
    A = te.placeholder((rows, m), name="A", dtype="int8")
    k = te.reduce_axis((0, rows), "k")
    S = te.compute((m,), lambda n: te.sum(A[k, n], axis=k), name="S")
    s = te.create_schedule(S.op)
    assert re.search(r"for \(k[^\n]*\n\s*for \(n", str(tvm.lower(s, [A, S], simple_mode=True)))
    a = rng.integers(-128, 128, (rows, m)).astype("int8")
    out = np.zeros(m, "int8")
    tvm.build(s, [A, S], target="llvm")(a, out)
    np.testing.assert_array_equal(out, a.sum(axis=0, dtype=np.int8))

    X, D = te.placeholder((40, m), name="X"), te.placeholder((m,), name="D")
    r = te.reduce_axis((0, 40), "r")
    M = te.compute((m,), lambda n: te.max(X[r, n], axis=r, init=D[n]), name="M")
    s = te.create_schedule(M.op)
    assert re.search(r"for \(r[^\n]*\n\s*for \(n", str(tvm.lower(s, [X, D, M], simple_mode=True)))
    x, d = rng.standard_normal((40, m)).astype("float32"), rng.standard_normal(m).astype("float32")
    x[rng.integers(0, 40, 3), rng.integers(0, m, 3)] = np.nan
    out = np.zeros(m, "float32")
    tvm.build(s, [X, D, M], target="llvm")(x, d, out)
    np.testing.assert_array_equal(out, np.maximum(np.max(x, axis=0), d))


def test_cache_read_at_a_gathered_index_attached_inside_the_loop():
    """cache_read of A read as A[G[i]], attached at i: the cached region starts at G[i], a read
    of another tensor inside the region's bounds (it reached code generation unflattened)."""
    A, G = te.placeholder((16,), name="A"), te.placeholder((8,), name="G", dtype="int32")
    O = te.compute((8,), lambda i: A[G[i]] * 2.0, name="O")
    s = te.create_schedule(O.op)
    AL = s.cache_read(A, "local", [O])
    s[AL].compute_at(s[O], O.op.axis[0])
    f = tvm.build(s, [A, G, O], target="llvm")
    a, g = rng.standard_normal(16).astype("float32"), rng.integers(0, 16, 8).astype("int32")
    out = np.zeros(8, "float32")
    f(a, g, out)
    np.testing.assert_array_equal(out, a[g] * 2)


def test_compute_at_a_stage_its_consumer_reads_at_an_int64_index():
    """T read as T[int64(i)] and T[i], attached at i: T's region starts at an int64 bound while
    T's axis (and its body's i * 2) are int32 (lowering died of a DTypeError in substitute)."""
    n = 25
    A = te.placeholder((n,), name="A")
    T = te.compute((n,), lambda i: A[i * 2 % n] * 3.0, name="T")
    O = te.compute((n,), lambda i: T[i.astype("int64")] - T[n - 1 - i], name="O")
    s = te.create_schedule(O.op)
    s[T].compute_at(s[O], O.op.axis[0])
    f = tvm.build(s, [A, O], target="llvm")
    a = rng.standard_normal(n).astype("float32")
    out = np.zeros(n, "float32")
    f(a, out)
    t = a[np.arange(n) * 2 % n] * np.float32(3)
    np.testing.assert_allclose(out, t - t[::-1], rtol=1e-6, atol=1e-6)


def test_cache_read_region_through_an_int64_cast_of_a_split_axis():
    """A consumer read at A[int64(max(j, 4)) + 3, 0] with j split by 16 (j.outer runs once):
    the cache stage's region must relax j.outer through the cast (it was left in the bounds:
    'variable(s) j.outer are used but never bound')."""
    A = te.placeholder((5, 2), name="A")

    def body(i, j):
        r = te.max(j, 4).astype("int64") + tvm.tir.const(3, "int64")
        return te.if_then_else(tvm.tir.all(r >= 0, r < 5), A[r, 0], A[j % 5, i % 2])

    O = te.compute((5, 2), body, name="O")
    s = te.create_schedule(O.op)
    s[O].split(O.op.axis[1], factor=16)
    AL = s.cache_read(A, "local", [O])
    s[AL].compute_at(s[O], O.op.axis[0])
    f = tvm.build(s, [A, O], target="llvm")
    a = rng.standard_normal((5, 2)).astype("float32")
    out = np.zeros((5, 2), "float32")
    f(a, out)
    i, j = np.arange(5)[:, None], np.arange(2)[None, :]
    r = np.maximum(j, 4) + 3
    np.testing.assert_array_equal(out, np.where(r < 5, a[np.clip(r, 0, 4), 0], a[j % 5, i % 2]))
