"""tir.layout / tir.bijective_layout: TVM's own layout tests (imports changed), every invalid
layout and misuse, and layout transforms built from the index maps and run on real data."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.arith import simplify
from tensorlang.errors import DTypeError, ExprError, TensorLangError
from tensorlang.te.expr import IntImm, PrimExpr, Var
from tensorlang.te.functor import substitute
from tensorlang.te.layout import BijectiveLayout, Layout, bijective_layout, layout
from tensorlang.topi.utils import get_const_tuple

# ---- TVM's tests/python/unittest/test_tir_data_layout.py, with the imports changed ----


def test_layout():
    lay = layout("NCHW16c")
    assert lay is not None
    assert isinstance(lay, Layout)

    assert lay.factor_of("c") == 16
    assert lay.factor_of("C") == 16
    assert lay.factor_of("N") == -1

    assert lay.index_of("N") == 0
    assert lay.index_of("C") == 1
    assert lay.index_of("H") == 2
    assert lay.index_of("W") == 3
    assert lay.index_of("c") == 4
    assert lay.index_of("O") == -1

    assert "N" in lay
    assert "C" in lay
    assert "H" in lay
    assert "W" in lay
    assert "c" in lay
    assert "O" not in lay

    assert lay[0] == "N"
    assert lay[1] == "C"
    assert lay[2] == "H"
    assert lay[3] == "W"
    assert lay[4] == "c"
    assert lay[-1] == "c"


def test_bilayout_convertible():
    # not convertible
    assert bijective_layout("NCHW", "ABCD") is None
    assert bijective_layout("__undef__", "NCHW") is None
    assert bijective_layout("NCHW", "__undef__") is None
    assert bijective_layout("__undef__", "__undef__") is None
    assert bijective_layout("", "NCHW") is None
    assert bijective_layout("NCHW", "") is None
    assert bijective_layout("", "") is None
    # convertible
    assert bijective_layout("NCHW", "NCHW16c") is not None


def test_bilayout_shape():
    bilayout = bijective_layout("NCHW", "NCHW16c")
    assert isinstance(bilayout, BijectiveLayout)

    dst_shape = bilayout.forward_shape((1, 32, 7, 7))
    assert get_const_tuple(dst_shape) == (1, 2, 7, 7, 16)

    src_shape = bilayout.backward_shape(dst_shape)
    assert get_const_tuple(src_shape) == (1, 32, 7, 7)


def test_bilayout_index():
    bilayout = bijective_layout("NCHW", "NCHW16c")

    dst_index = bilayout.forward_index([0, 18, 6, 6])
    assert get_const_tuple(dst_index) == (0, 1, 6, 6, 2)

    src_index = bilayout.backward_index([0, 1, 6, 6, 2])
    assert get_const_tuple(src_index) == (0, 18, 6, 6)


# ---- the Layout object ----


def test_layout_name_len_iter_and_printing():
    lay = layout("NCHW16c")
    assert lay.name == "NCHW16c"
    assert len(lay) == 5
    assert list(lay) == ["N", "C", "H", "W", "c"]
    assert str(lay) == repr(lay) == "Layout(NCHW16c)"  # as TVM prints it
    assert lay == "NCHW16c" and lay == layout("NCHW16c") and lay != "NCHW" and lay != layout("NCHW8c")
    assert hash(lay) == hash(layout("NCHW16c"))
    assert layout(lay) is lay
    assert "16c" not in lay and "" not in lay and 3 not in lay
    assert layout("OIHW4i4o").factor_of("O") == 4 and layout("OIHW4i4o").factor_of("i") == 4
    assert layout("OIHW4i4o").index_of("o") == 5


def test_undefined_and_scalar_layouts():
    assert layout("__undef__") is None  # TVM's null layout object
    scalar = layout("")  # TVM: a defined 0-d layout
    assert isinstance(scalar, Layout) and len(scalar) == 0 and list(scalar) == [] and scalar.name == ""
    assert scalar.index_of("N") == -1 and scalar.factor_of("c") == -1


def test_layout_dtype():
    assert layout("NCHW").dtype == te.as_dtype("int32")
    bl = bijective_layout(layout("NCHW", "int64"), layout("NCHW4c", "int64"))
    assert all(e.dtype == te.as_dtype("int64") for e in bl.forward_shape([1, 8, 2, 2]))
    assert all(e.dtype == te.as_dtype("int64") for e in bl.forward_index([0, 5, 1, 1]))
    with pytest.raises(DTypeError, match="signed integer"):
        layout("NCHW", "float32")
    with pytest.raises(DTypeError, match="signed integer"):
        layout("__undef__", "uint32")


@pytest.mark.parametrize("name, what", [
    ("NCHWc", "sub-axis 'c' needs a factor"),
    ("NC16HW", "primal axis 'H' cannot take a factor"),
    ("NCHW0c", "factor 0"),
    ("NCHWC", "axis 'C' appears more than once"),
    ("NCHW16c4c", "axis 'c' appears more than once"),
    ("NHW16c", "sub-axis 'c' has no primal axis 'C'"),
    ("NC_HW", "character '_' is not a letter"),
    ("NCH W", "character ' ' is not a letter"),
    ("NCHW-", "character '-' is not a letter"),
    ("NCHW16", "factor 16 at the end names no sub-axis"),
])
def test_invalid_layout_strings(name, what):
    with pytest.raises(ExprError, match=what) as info:
        layout(name)
    assert f"'{name}'" in str(info.value)  # the message names the layout
    assert isinstance(info.value, TensorLangError)


def test_layout_misuse():
    lay = layout("NCHW16c")
    with pytest.raises(ExprError, match="not 5"):
        layout(5)
    with pytest.raises(ExprError, match="undefined layout"):
        Layout("__undef__")
    for bad in ("16c", "", "_", "CH"):
        with pytest.raises(ExprError, match="invalid layout axis"):
            lay.index_of(bad)
        with pytest.raises(ExprError, match="invalid layout axis"):
            lay.factor_of(bad)
    with pytest.raises(IndexError):
        lay[5]
    with pytest.raises(IndexError):
        lay[-6]


# ---- BijectiveLayout ----


def test_bilayout_attributes_and_printing():
    bl = bijective_layout("NCHW", layout("NCHW16c"))
    assert bl.src_layout == "NCHW" and bl.dst_layout == "NCHW16c"
    assert repr(bl) == str(bl) == "BijectiveLayout(NCHW->NCHW16c)"


def test_bilayout_results_are_int_constants():
    bl = bijective_layout("NCHW", "NCHW16c")
    for out in (bl.forward_shape([1, 32, 7, 7]), bl.forward_index([0, 18, 6, 6]),
                bl.backward_shape([1, 2, 7, 7, 16]), bl.backward_index([0, 1, 6, 6, 2])):
        assert all(isinstance(e, IntImm) and e.dtype == te.as_dtype("int32") for e in out)
    assert get_const_tuple(bl.forward_index([np.int64(0), 33, 1, 2])) == (0, 2, 1, 2, 1)
    assert get_const_tuple(bl.forward_index([te.const(0), te.const(40), 0, 0])) == (0, 2, 0, 0, 8)


def test_bilayout_shape_rounds_a_split_axis_up():
    bl = bijective_layout("NCHW", "NCHW8c")
    assert get_const_tuple(bl.forward_shape([1, 30, 7, 7])) == (1, 4, 7, 7, 8)


def test_bilayout_between_blocked_layouts():
    bl = bijective_layout("NCHW4c", "NHWC16c")
    assert get_const_tuple(bl.forward_shape([1, 8, 3, 5, 4])) == (1, 3, 5, 2, 16)
    assert get_const_tuple(bl.backward_shape([1, 3, 5, 2, 16])) == (1, 8, 3, 5, 4)
    # channel 23 = block 5, lane 3 of 4 = block 1, lane 7 of 16
    assert get_const_tuple(bl.forward_index([0, 5, 1, 2, 3])) == (0, 1, 2, 1, 7)
    assert get_const_tuple(bl.backward_index([0, 1, 2, 1, 7])) == (0, 5, 1, 2, 3)
    assert get_const_tuple(bijective_layout("NCHW16c", "NCHW").backward_index([0, 37, 1, 1])) == (0, 2, 1, 1, 5)


def test_bilayout_symbolic():
    n, c = te.var("n"), te.var("c")
    bl = bijective_layout("NCHW", "NCHW16c")
    shape = bl.forward_shape([n, 32, 7, 7])
    assert shape[0] is n and get_const_tuple(shape[1:]) == (2, 7, 7, 16)
    assert bl.backward_shape(shape)[0] is n
    idx = bl.forward_index([n, c, 1, 2])
    assert all(isinstance(e, PrimExpr) for e in idx)
    assert str(idx[1]) == "c // 16" and str(idx[4]) == "c % 16"
    back = bl.backward_index([Var("b", te.as_dtype("int32")), c, 0, 0, n])
    assert str(back[1]) == "c * 16 + n"
    # a symbolic channel count is rounded up to whole blocks
    split = bl.forward_shape([n, c, 7, 7])[1]
    for cv, want in ((32, 2), (33, 3), (1, 1), (0, 0)):
        got = simplify(substitute(split, {c: te.const(cv)}))
        assert isinstance(got, IntImm) and got.value == want


def test_bilayout_misuse():
    with pytest.raises(ExprError, match="not convertible"):
        bijective_layout("NCHW", "NCH")  # TVM fails a check here (the backward map has no W)
    with pytest.raises(ExprError, match="not convertible"):
        BijectiveLayout(layout("NCHW"), layout("ABCD"))
    with pytest.raises(ExprError, match="layouts or layout strings"):
        bijective_layout("NCHW", 3)
    bl = bijective_layout("NCHW", "NCHW16c")
    with pytest.raises(ExprError, match="4 axes, got 5 index"):
        bl.forward_index([0, 1, 2, 3, 4])
    with pytest.raises(ExprError, match="5 axes, got 4 shape"):
        bl.backward_shape([1, 2, 7, 7])
    with pytest.raises(ExprError, match="extent 16, got 8"):
        bl.backward_shape([1, 2, 7, 7, 8])
    with pytest.raises(DTypeError, match="integer scalars"):
        bl.forward_index([0, 1.5, 0, 0])
    with pytest.raises(DTypeError, match="integer scalars"):
        bl.forward_shape([1, te.var("x", "float32"), 7, 7])


# ---- layout transforms built from the maps, run on real data ----


def _transform(bl: BijectiveLayout, src: te.Tensor, forward: bool) -> te.Tensor:
    """src re-laid out through ``bl``: each output element reads the input element it maps from."""
    if forward:
        shape, index_map = bl.forward_shape(src.shape), bl.backward_index
    else:
        shape, index_map = bl.backward_shape(src.shape), bl.forward_index
    return te.compute(shape, lambda *i: src[tuple(index_map(list(i)))], name="T")


def _build_run(src, out, data, out_shape):
    f = tvm.build(te.create_schedule(out.op), [src, out], target="llvm")
    got = np.full(out_shape, -1, dtype=data.dtype)
    f(data, got)
    return got


def test_nchw_to_nchw8c_on_real_data(rng):
    n, c, h, w = 2, 24, 5, 3
    A = te.placeholder((n, c, h, w), "float32", name="A")
    bl = bijective_layout("NCHW", "NCHW8c")
    out = _transform(bl, A, forward=True)
    assert get_const_tuple(out.shape) == (n, c // 8, h, w, 8)
    data = rng.standard_normal((n, c, h, w)).astype("float32")
    want = data.reshape(n, c // 8, 8, h, w).transpose(0, 1, 3, 4, 2)
    np.testing.assert_array_equal(_build_run(A, out, data, want.shape), want)


def test_nchw8c_to_nchw_on_real_data(rng):
    n, cb, h, w = 2, 3, 4, 5
    B = te.placeholder((n, cb, h, w, 8), "float32", name="B")
    bl = bijective_layout("NCHW", "NCHW8c")
    out = _transform(bl, B, forward=False)
    assert get_const_tuple(out.shape) == (n, cb * 8, h, w)
    data = rng.standard_normal((n, cb, h, w, 8)).astype("float32")
    want = data.transpose(0, 1, 4, 2, 3).reshape(n, cb * 8, h, w)
    np.testing.assert_array_equal(_build_run(B, out, data, want.shape), want)


def test_symbolic_batch_transform_on_real_data(rng):
    nv = te.var("n")
    A = te.placeholder((nv, 16, 3, 3), "int32", name="A")
    bl = bijective_layout("NCHW", "NCHW8c")
    out = _transform(bl, A, forward=True)
    assert out.shape[0] is nv and get_const_tuple(out.shape[1:]) == (2, 3, 3, 8)
    f = tvm.build(te.create_schedule(out.op), [A, out], target="llvm")
    for batch in (1, 3):
        data = rng.integers(-1000, 1000, size=(batch, 16, 3, 3)).astype("int32")
        got = np.full((batch, 2, 3, 3, 8), -1, dtype="int32")
        f(data, got)
        np.testing.assert_array_equal(got, data.reshape(batch, 2, 8, 3, 3).transpose(0, 1, 3, 4, 2))


def test_blocked_to_blocked_transform_on_real_data(rng):
    # NCHW4c -> NHWC16c regroups channel blocks and moves C: a check of the composed maps
    n, cb, h, w = 1, 8, 2, 3
    A = te.placeholder((n, cb, h, w, 4), "float32", name="A")
    bl = bijective_layout("NCHW4c", "NHWC16c")
    fwd = _transform(bl, A, forward=True)
    data = rng.standard_normal((n, cb, h, w, 4)).astype("float32")
    nchw = data.transpose(0, 1, 4, 2, 3).reshape(n, cb * 4, h, w)
    want = nchw.reshape(n, cb // 4, 16, h, w).transpose(0, 3, 4, 1, 2)
    got = _build_run(A, fwd, data, want.shape)
    np.testing.assert_array_equal(got, want)
    B = te.placeholder(want.shape, "float32", name="B")
    back = _transform(bl, B, forward=False)
    np.testing.assert_array_equal(_build_run(B, back, got, data.shape), data)
