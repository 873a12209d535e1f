"""The argument checks made per signature (ArgBinder.values / caller, the hot path of a call):
for every argument the slow path (``bind``) accepts they give the same values, and for every one
it refuses they raise the same error; results match numpy on views, read-only and empty arrays."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError
from tensorlang.target import binder as binder_module

rng = np.random.default_rng(11)


def _vadd(n):
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i] * 2, name="C")
    return tl.build(te.create_schedule(C.op), [A, B, C], target="llvm", name="vadd")


@pytest.fixture(scope="module", params=["static", "symbolic"])
def vadd(request):
    return _vadd(50 if request.param == "static" else te.var("n"))


def _generated(f) -> bool:
    return f._binder.values.__code__.co_filename.startswith("<tensorlang argument checks")


def _error(fn, *args) -> str | None:
    try:
        fn(*args)
    except ArgumentError as exc:
        return str(exc)
    return None


def test_the_fast_path_is_made_for_array_only_signatures(vadd):
    assert _generated(vadd)
    assert binder_module._DATA_OFFSET == object.__basicsize__  # numpy's PyArrayObject on CPython


def test_good_arguments_of_every_layout_give_numpy_results(vadd):
    big = rng.standard_normal(200).astype("float32")
    b = rng.standard_normal(50).astype("float32")
    ro = b.copy()
    ro.flags.writeable = False

    class Sub(np.ndarray):
        pass

    out_store = np.zeros(60, "float32")
    for a, bb, out in ((big[:50], b, np.zeros(50, "float32")),
                       (big[37:87], ro, out_store[7:57]),  # views at odd offsets, a read-only input
                       (big[::4][:50].copy(), b.view(Sub), np.zeros(50, "float32")),  # a subclass: slow path
                       (big[:50], big[:50], np.zeros(50, "float32"))):  # inputs may alias each other
        expect = a + np.asarray(bb) * 2
        vadd(a, bb, out)
        np.testing.assert_allclose(out, expect, rtol=1e-6)
    assert (out_store[:7] == 0).all() and (out_store[57:] == 0).all()
    assert vadd._binder.values((big[:50], b, out_store[:50])) == vadd._binder.bind((big[:50], b, out_store[:50])).values


def test_empty_arrays_run_nothing():
    f = _vadd(te.var("n"))
    f(np.zeros(0, "float32"), np.zeros(0, "float32"), np.zeros(0, "float32"))


@pytest.mark.parametrize("pointers", ["PyArray_DATA", "buffer protocol"])
def test_bad_arguments_raise_what_bind_raises(vadd, pointers, monkeypatch):
    if pointers == "buffer protocol":  # another Python or numpy build: pointers through the buffer protocol
        monkeypatch.setattr(binder_module, "_DATA_OFFSET", None)
    checks = binder_module.ArgBinder(vadd.signature)
    assert checks.values.__code__.co_filename.startswith("<tensorlang argument checks")
    a = rng.standard_normal(50).astype("float32")
    b = rng.standard_normal(50).astype("float32")
    out = np.zeros(50, "float32")
    ro = out.copy()
    ro.flags.writeable = False
    strided = np.zeros((50, 2), "float32")[:, 0]
    cases = {
        "count": (a, b),
        "too many": (a, b, out, out),
        "dtype": (a.astype("float64"), b, out),
        "big-endian": (a.astype(">f4"), b, out),
        "list": (a.tolist(), b, out),
        "dimensions": (a, b, out.reshape(5, 10)),
        "shape": (a[:49], b, out),
        "mismatch": (a, b[:49], out),
        "not contiguous": (a, b, strided),
        "strided input": (np.zeros(100, "float32")[::2], b, out),
        "read-only output": (a, b, ro),
        "output aliases input": (a, b, a),
    }
    overlap = np.zeros(60, "float32")
    cases["output overlaps input"] = (overlap[:50], b, overlap[5:55])
    for name, args in cases.items():
        before = [np.array(x, copy=True) if isinstance(x, np.ndarray) else None for x in args]
        slow = _error(vadd._binder.bind, args)
        assert slow is not None, name
        assert _error(vadd, *args) == slow, name
        assert _error(checks.values, args) == slow, name
        for x, was in zip(args, before):  # nothing ran
            if was is not None:
                np.testing.assert_array_equal(x, was)
    # Good arguments, read-only inputs and views included: the same values as bind's.
    ro = b.copy()
    ro.flags.writeable = False
    big = np.zeros(80, "float32")
    for good in ((a, b, out), (a, ro, out), (big[3:53], ro, out)):
        assert checks.values(good) == checks.bind(good).values


def test_call_time_checks_still_run_on_the_fast_path():
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n,), name="A")
    B = te.compute((m,), lambda i: A[i + 1] * 2, name="B")  # needs m + 1 <= n
    fn = tl.build(te.create_schedule(B.op), [A, B])
    assert _generated(fn)
    a = rng.standard_normal(9).astype("float32")
    b = np.zeros(8, "float32")
    fn(a, b)
    np.testing.assert_allclose(b, a[1:] * 2, rtol=1e-6)
    with pytest.raises(ArgumentError, match=r"stage B reads A\[i \+ 1\] out of bounds"):
        fn(a, np.zeros(9, "float32"))
