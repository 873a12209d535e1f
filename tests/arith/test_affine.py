"""affine_in: linearity in one variable is decided structurally, never by sampling."""

from tensorlang import te
from tensorlang.arith import affine_in, simplify
from tensorlang.te import expr as E


def test_linear_forms_give_their_coefficient_and_rest():
    i, j = te.var("i"), te.var("j")
    a, rest = affine_in(i * 3 + j * 2 - 5, i)
    assert a == 3 and str(simplify(rest)) == str(simplify(j * 2 - 5))
    a, rest = affine_in((i + j) * 4 - i * 6, i)
    assert a == -2 and str(rest) == str(simplify(j * 4))


def test_nonlinear_uses_of_the_variable_are_refused():
    i, j = te.var("i"), te.var("j")
    assert affine_in(te.indexmod(i, 3), i) is None    # 0, 1, 2 at i = 0, 1, 2, yet not linear
    assert affine_in(te.indexdiv(i, 2) + i, i) is None
    assert affine_in(E.Max(i, j) + 1, i) is None
    assert affine_in(i * j, i) is None
    assert affine_in(j + 1, i) is None                # no i at all
    assert affine_in(i - i + j, i) is None            # the coefficient cancels


def test_narrow_integers_are_refused():
    i = te.var("i", dtype="int8")
    assert affine_in(i + 1, i) is None
