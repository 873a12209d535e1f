import numpy as np
import pytest

from tensorlang import te
from tensorlang.arith import Interval, simplify, structural_equal
from tensorlang.errors import ExprError


def test_compute_arity_mismatch_names_the_op():
    A = te.placeholder((3, 4), name="A")
    with pytest.raises(ExprError, match="compute 'C'.*1 index argument.*2 dimension"):
        te.compute(A.shape, lambda i: A[i, 0], name="C")


def test_wrong_number_of_indices():
    A = te.placeholder((3, 4), name="A")
    with pytest.raises(ExprError, match="A has 2 dimension"):
        te.compute((3,), lambda i: A[i, 0, 1])


@pytest.mark.parametrize("shape,why", [(None, "must be a tuple of sizes, got None"), ("ab", "tuple of sizes, got 'ab'"),
                                       ((4, -1), "dimension 1 of the shape is negative"),
                                       ((2.5,), "2.5 is not a whole number")])
def test_bad_shapes_name_the_tensor(shape, why):
    with pytest.raises(ExprError, match=f"placeholder X: .*{why}"):
        te.placeholder(shape, name="X")
    with pytest.raises(ExprError, match=f"compute 'Y'.*{why}"):
        te.compute(shape, lambda *i: 1.0, name="Y")


def test_float_index_is_rejected():
    A = te.placeholder((3,), name="A")
    B = te.placeholder((3,), name="B")
    with pytest.raises(ExprError, match="indices must be integers"):
        te.compute((3,), lambda i: A[B[i]])


def test_nested_reduction_is_rejected():
    A = te.placeholder((3, 4), name="A")
    k = te.reduce_axis((0, 4), name="k")
    with pytest.raises(ExprError, match="outermost"):
        te.compute((3,), lambda i: te.sum(A[i, k], axis=k) * 2, name="S")


def test_tensor_slices_and_itervars_in_expressions():
    A = te.placeholder((3, 4), name="A")
    k = te.reduce_axis((0, 4), name="k")
    C = te.compute((3,), lambda i: te.sum(A[i][k] * 2 + k.astype("float32"), axis=k), name="C")
    assert "A[i, k]" in str(C.op.body[0])


def test_elementwise_max_via_reducer():
    A = te.placeholder((3,), name="A")
    C = te.compute((3,), lambda i: te.max(A[i], 0.0), name="relu")
    assert str(C.op.body[0]) == "max(A[i], 0.0f)"


def test_simplifier_linear_and_ranges():
    xo, xi, f, n = te.var("xo"), te.var("xi"), te.var("f"), te.var("n")
    assert structural_equal(simplify((xo * 4 + xi) - xo * 4), xi)
    assert structural_equal(simplify((f // 8) * 8 + f % 8), f)
    r = {xo: Interval(te.const(0), te.const(3)), xi: Interval(te.const(0), te.const(15))}
    assert structural_equal(simplify((xo * 16 + xi) // 16, r), xo)
    assert structural_equal(simplify((xo * 16 + xi) % 16, r), xi)
    assert int(simplify(xo * 16 + xi < 64, r)) == 1
    assert not isinstance(simplify(xo * 16 + xi < n, r), te.IntImm)


def test_constant_folding_and_eq_semantics():
    n = te.var("n")
    assert bool(te.const(3) == 3)
    assert bool(n == n)
    assert not bool(n == te.var("n"))
    assert int(te.const(7) // 2) == 3 and int(te.const(-7) // 2) == -4 and int(te.const(-7) % 2) == 1


def test_constant_casts_round_as_numpy_and_stay_quiet():
    import warnings

    import numpy as np

    import tensorlang as tl
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning must not leak out of a cast
        big = te.const(70000, "int32").astype("float16")
        tenth = te.const(0.1, "float16").astype("float32")
    assert float(big.value) == float(np.float16(np.inf))
    assert float(tenth.value) == float(np.float32(np.float16(0.1)))
    rng = np.random.default_rng()
    A = te.placeholder((16,), "float32", name="A")
    B = te.compute((16,), lambda i: A[i] * tenth + big.astype("float32"), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], target="llvm")
    a = rng.standard_normal(16).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    with np.errstate(over="ignore"):
        want = a * np.float32(np.float16(0.1)) + np.float32(np.array(70000).astype(np.float16))
    np.testing.assert_array_equal(b, want)


@pytest.mark.parametrize("red,ref", [(te.max, np.max), (te.min, np.min), (te.sum, np.sum)])
def test_elementwise_reducer_folds_every_value(red, ref):
    """TVM's te.max(a, b, c): every value is combined (the third once bound to where= and was dropped)."""
    import tensorlang as tl
    A = te.placeholder((4, 9), name="A")
    C = te.compute((9,), lambda i: red(A[0, i], A[1, i], A[2, i], A[3, i]), name="C")
    f = tl.build(te.create_schedule(C.op), [A, C])
    a = np.random.default_rng().standard_normal((4, 9)).astype("float32")
    c = np.empty(9, "float32")
    f(a, c)
    np.testing.assert_allclose(c, ref(a, axis=0), rtol=1e-6)
