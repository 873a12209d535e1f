"""What ``tvm.lower`` returns answers TVM 0.12's IRModule / PrimFunc questions: functions,
items, global vars, attrs, buffer_map, ret_type, with_attr (a renamed function builds and
runs), and stays immutable, picklable and JSON-serializable."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _matmul(n: int = 16):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    return tvm.lower(s, [A, B, C], name="main"), n


def test_module_view_of_a_lowered_function() -> None:
    mod, _ = _matmul()
    f = mod["main"]
    (gv, func), = mod.functions.items()
    assert gv.name_hint == "main" and func is f
    assert list(mod.items()) == [(gv, f)]
    assert mod.get_global_vars() == [gv] and mod.get_global_var("main") == gv
    assert mod[gv] is f and mod.functions[mod.get_global_var("main")] is f
    assert "main" in mod and gv in mod and "other" not in mod
    with pytest.raises(KeyError, match="other"):
        mod.get_global_var("other")
    with pytest.raises(KeyError):
        mod["other"]
    assert f.attrs["global_symbol"] == "main" and f.attrs["tir.noalias"] is True
    assert dict(f.attrs) == {"global_symbol": "main", "tir.noalias": True}
    assert f.get_attr("global_symbol") == "main" and f.get_attr("missing") is None
    assert str(f.ret_type) == "void"
    with pytest.raises(TypeError):
        f.attrs["x"] = 1  # read-only


def test_buffer_map_maps_each_buffer_param_to_itself() -> None:
    A = te.placeholder((8,), name="A")
    n = te.var("n")
    B = te.compute((8,), lambda i: A[i] * n, name="B")
    s = te.create_schedule(B.op)
    f = tvm.lower(s, [A, B, n])["main"]
    bm = f.buffer_map
    assert len(bm) == 2 and list(bm) == [f.params[0], f.params[1]]
    assert bm[f.params[0]] is f.params[0] and bm[f.params[0].data] is f.params[0]
    assert f.params[2] not in bm  # scalars are not buffers, as in TVM
    names = {var.name: (buf.dtype, [int(d) for d in buf.shape]) for var, buf in bm.items()}
    assert names == {"A": (A.dtype, [8]), "B": (B.dtype, [8])}


def test_with_attr_renames_and_the_renamed_function_builds_and_runs() -> None:
    mod, n = _matmul()
    f2 = mod["main"].with_attr("global_symbol", "f2")
    assert f2.name == "f2" and f2.attrs["global_symbol"] == "f2" and mod.name == "main"  # a new object
    assert "func f2(" in str(f2)
    f3 = f2.with_attr({"target_note": "cpu", "tir.noalias": True})
    assert f3.attrs["target_note"] == "cpu" and "target_note" not in f2.attrs
    assert "target_note" not in f3.without_attr("target_note").attrs
    with pytest.raises(tvm.TVMError, match="noalias"):
        f2.with_attr("tir.noalias", False)
    with pytest.raises(tvm.TVMError, match="global_symbol"):
        f2.with_attr("global_symbol", "")
    with pytest.raises(tvm.TVMError, match="global_symbol"):
        f2.without_attr("global_symbol")
    m = tvm.build(f3, target="llvm")
    assert m.entry_name == "f2"
    rng = np.random.default_rng()
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    c = np.zeros((n, n), np.float32)
    m["f2"](a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)


def test_in_place_module_updates_are_refused_with_the_alternative() -> None:
    mod, _ = _matmul()
    new = mod["main"].with_attr("global_symbol", "g")
    for call in (lambda: mod.update_func(mod.get_global_var("main"), new),
                 lambda: mod.update({"g": new}),
                 lambda: mod.__setitem__("main", new)):
        with pytest.raises(tvm.TVMError, match="not changed in place"):
            call()
    assert tvm.IRModule({mod.get_global_var("main"): new})["main"] is new


def test_attrs_survive_pickle_and_json() -> None:
    mod, _ = _matmul(4)
    f = mod["main"].with_attr("global_symbol", "f2").with_attr("note", 7)
    for g in (pickle.loads(pickle.dumps(f)), tvm.ir.load_json(tvm.ir.save_json(f))):
        assert dict(g.attrs) == {"global_symbol": "f2", "tir.noalias": True, "note": 7}
        assert str(g) == str(f) and g.functions.keys() == f.functions.keys()
