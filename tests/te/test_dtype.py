import copy
import pickle

import numpy as np
import pytest

from tensorlang import te
from tensorlang.errors import DTypeError, ExprError
from tensorlang.te.dtype import as_dtype, promote


@pytest.mark.parametrize("a,b,want", [
    ("int32", "int64", "int64"), ("float16", "float32", "float32"), ("int64", "float32", "float32"),
    ("bool", "int8", "int8"), ("int32", "uint16", "int32"), ("int32", "uint32", "int64"),
    ("uint8", "uint16", "uint16"), ("float32", "float64", "float64"),
])
def test_promotion_table(a, b, want):
    assert str(promote(as_dtype(a), as_dtype(b))) == want
    assert str(promote(as_dtype(b), as_dtype(a))) == want


def test_uint64_with_signed_is_an_error():
    with pytest.raises(DTypeError, match="uint64"):
        promote(as_dtype("int32"), as_dtype("uint64"))


def test_unknown_dtype_names_it():
    with pytest.raises(DTypeError, match="float17"):
        as_dtype("float17")


def test_python_scalars_adopt_expression_dtype():
    x = te.var("x", "int64")
    assert str((x + 1).dtype) == "int64"
    assert str((x + 1.5).dtype) == "float32"
    f = te.var("f", "float16")
    assert str((f * 2).dtype) == "float16"


def test_mixed_expressions_promote():
    a = te.placeholder((4,), "int32", name="a")
    b = te.placeholder((4,), "float64", name="b")
    c = te.compute((4,), lambda i: a[i] + b[i], name="c")
    assert str(c.dtype) == "float64"


def test_math_on_int_is_float64_as_in_numpy():
    a = te.placeholder((4,), "int32", name="a")
    assert te.compute((4,), lambda i: te.exp(a[i])).dtype == "float64"  # np.exp(int32) is float64
    with pytest.raises(DTypeError, match="te.ldexp expects a float"):
        te.compute((4,), lambda i: te.ldexp(a[i], 2))


def test_symbolic_bool_context_is_an_error():
    n = te.var("n")
    with pytest.raises(ExprError, match="Python bool"):
        if n < 3:
            pass


def test_a_tensor_dtype_behaves_as_its_name_where_tvm_code_uses_it_as_a_str():
    A = te.placeholder((3,), "int8", name="A")
    d = A.dtype
    assert "int" in d and "float" not in d
    assert d.startswith("int") and not d.endswith("32") and d.split("t") == ["in", "8"]
    assert "T_" + d == "T_int8" and d + "_t" == "int8_t" and f"[{d:>6}]" == "[  int8]"
    assert len(d) == 4 and d[:3] == "int"
    assert pickle.loads(pickle.dumps(d)) == d and copy.deepcopy(d) == d
    assert np.zeros(2, d).dtype == np.int8
    with pytest.raises(AttributeError):
        d.no_such_method  # noqa: B018
