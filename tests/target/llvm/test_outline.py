"""A big function body is emitted as one LLVM function per run of root loop nests
(target/llvm/outline): the results stay numpy's, errors raised inside a piece reach the caller
with the message they had, and parallel loops inside a piece still run on the thread pool."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import BoundsError
from tensorlang.target.llvm import outline

rng = np.random.default_rng()
ROWS, COLS = 2, 4


def _functions(f) -> list[str]:
    return re.findall(r"^define .*?@\"?([\w.]+)\"?\(", f.get_source("ll-unopt"), re.MULTILINE)


def _pieces(f) -> list[str]:
    return [name for name in _functions(f) if ".piece" in name]


def _chain(stages: int, shape=(ROWS, COLS), dtype: str = "float64"):
    """X -> ``stages`` root stages, alternating an elementwise map and a row reduction broadcast
    back, each reading the one before and X; returns (X, out, the stages, the numpy reference)."""
    X = te.placeholder(shape, name="X", dtype=dtype)
    cur, tensors = X, []
    for k in range(stages):
        p = cur
        if k % 2 == 0:
            c = 0.5 + 0.01 * k
            cur = te.compute(shape, lambda i, j, p=p, c=c: te.tanh(p[i, j] * c + X[i, j]), name=f"E{k}")
        else:
            r = te.reduce_axis((0, shape[1]), name=f"r{k}")
            s = te.compute((shape[0],), lambda i, p=p, r=r: te.sum(p[i, r], axis=r), name=f"S{k}")
            tensors.append(s)
            cur = te.compute(shape, lambda i, j, p=p, s=s: p[i, j] - s[i] * 0.125, name=f"D{k}")
        tensors.append(cur)

    def reference(x: np.ndarray) -> np.ndarray:
        y = x
        for k in range(stages):
            y = np.tanh(y * (0.5 + 0.01 * k) + x) if k % 2 == 0 else y - y.sum(1, keepdims=True) * 0.125
        return y

    return X, cur, tensors, reference


def test_a_long_chain_of_root_stages_is_outlined_and_matches_numpy() -> None:
    X, out, _, reference = _chain(40)  # 60 root loop nests, 1440 nodes
    f = tl.build(te.create_schedule(out.op), [X, out], target="llvm")
    assert len(_pieces(f)) >= 3, _functions(f)
    for _ in range(2):
        x = rng.standard_normal((ROWS, COLS))
        y = np.zeros_like(x)
        f(x, y)
        np.testing.assert_allclose(y, reference(x), rtol=1e-10, atol=1e-12)


def test_a_small_kernel_stays_one_function() -> None:
    X, out, _, reference = _chain(4)
    f = tl.build(te.create_schedule(out.op), [X, out], target="llvm")
    assert not _pieces(f), _functions(f)
    x = rng.standard_normal((ROWS, COLS))
    y = np.zeros_like(x)
    f(x, y)
    np.testing.assert_allclose(y, reference(x), rtol=1e-10, atol=1e-12)


def _gather_chain(parallel: bool):
    """Stages before and after a gather by an index tensor, with symbolic rows (heap buffers
    that live across pieces); ``parallel``: the gather and a stage before it are parallel loops."""
    n = te.var("n")
    X, mid, tensors, _ = _chain(4, shape=(n, COLS), dtype="float32")
    Idx = te.placeholder((n,), name="Idx", dtype="int32")
    G = te.compute((n, COLS), lambda i, j: mid[Idx[i], j] * 2.0, name="G")
    X2, out = G, None
    for k in range(3):
        p = X2
        X2 = te.compute((n, COLS), lambda i, j, p=p: p[i, j] + 1.0, name=f"A{k}")
    out = X2
    s = te.create_schedule(out.op)
    if parallel:
        s[G].parallel(G.op.axis[0])
        s[tensors[2]].parallel(tensors[2].op.axis[0])
    return s, [X, Idx, out]


def _reference(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    *_, reference = _chain(4, dtype="float32")
    return reference(x)[idx] * 2 + 3


@pytest.mark.parametrize("parallel", [False, True])
def test_a_bounds_error_in_a_piece_reaches_the_caller_unchanged(parallel: bool, monkeypatch) -> None:
    s, args = _gather_chain(parallel)
    whole = tl.build(s, args, target="llvm -bounds-check")
    monkeypatch.setattr(outline, "THRESHOLD", 0)
    monkeypatch.setattr(outline, "BUDGET", 1)  # a piece per stage
    f = tl.build(s, args, target="llvm -bounds-check")
    assert not _pieces(whole) and len(_pieces(f)) >= 6, _functions(f)
    if parallel:
        assert any(".parallel" in name for name in _functions(f))
    rows = 5
    x = rng.standard_normal((rows, COLS)).astype("float32")
    idx = rng.integers(0, rows, rows).astype("int32")
    y = np.zeros_like(x)
    f(x, idx, y)
    np.testing.assert_allclose(y, _reference(x, idx), rtol=1e-5, atol=1e-5)
    idx[3] = rows + 2
    messages = []
    for g in (whole, f):
        with pytest.raises(BoundsError) as err:
            g(x, idx, y)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert f"out-of-bounds read of D3: index 0 is {rows + 2}, but dimension 0 of D3 has size {rows}" in messages[1]
    idx[3] = 0
    f(x, idx, y)  # the next good call runs normally
    np.testing.assert_allclose(y, _reference(x, idx), rtol=1e-5, atol=1e-5)


def test_a_parallel_loop_inside_a_piece_runs_on_the_pool(monkeypatch) -> None:
    monkeypatch.setattr(outline, "THRESHOLD", 0)
    monkeypatch.setattr(outline, "BUDGET", 1)
    X, out, tensors, reference = _chain(8, shape=(64, COLS))
    s = te.create_schedule(out.op)
    for t in tensors[::3]:
        s[t].parallel(t.op.axis[0])
    f = tl.build(s, [X, out], target="llvm")
    names = _functions(f)
    assert len(_pieces(f)) >= 4 and sum(".parallel" in n and n.endswith(tuple("0123456789")) for n in names) >= 3, names
    f.set_num_threads(2)
    f.set_parallel_min_work(0)  # hand even these small loops to the pool's threads
    for _ in range(3):
        x = rng.standard_normal((64, COLS))
        y = np.zeros_like(x)
        f(x, y)
        np.testing.assert_allclose(y, reference(x), rtol=1e-10, atol=1e-12)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_a_failing_piece_leaks_no_heap_buffer_of_the_entry_function(monkeypatch) -> None:
    monkeypatch.setattr(outline, "THRESHOLD", 0)
    monkeypatch.setattr(outline, "BUDGET", 1)
    rows, n = 4, 1 << 18  # B: 4 MiB, on the heap, allocated by the entry function and passed to both pieces
    A = te.placeholder((rows, n), name="A")
    Idx = te.placeholder((rows, 8), name="Idx", dtype="int32")
    B = te.compute((rows, n), lambda r, i: A[r, i] * 2, name="B")
    C = te.compute((rows, 8), lambda r, j: B[r, Idx[r, j]] + 1, name="C")
    f = tl.build(te.create_schedule(C.op), [A, Idx, C], "llvm -bounds-check")
    assert len(_pieces(f)) == 2 and "posix_memalign" in f.get_source("ll-unopt").split(".piece0")[0]
    a = rng.standard_normal((rows, n)).astype("float32")
    idx = rng.integers(0, n, (rows, 8)).astype("int32")
    c = np.zeros((rows, 8), "float32")
    f(a, idx, c)
    np.testing.assert_allclose(c, np.take_along_axis(a, idx, axis=1) * 2 + 1, rtol=1e-6)
    idx[rows - 1, 7] = n + 5
    for _ in range(3):  # warm up the allocator
        with pytest.raises(BoundsError, match=rf"out-of-bounds read of B: index 1 is {n + 5}"):
            f(a, idx, c)
    start = _rss_mib()
    for _ in range(40):
        with pytest.raises(BoundsError):
            f(a, idx, c)
    grown = _rss_mib() - start
    assert grown < 24, f"the process grew by {grown:.0f} MiB over 40 failing calls (a leak is 4 MiB each)"
