"""te.hybrid.script: the compiled stage and the Python emulation agree, or the script is refused
with an ExprError naming the line (loop steps, local dtypes, division, index counts, captured
constants, list arguments, TVM's hybrid intrinsics, scoping, scripts calling scripts)."""

# ruff: noqa: F821 - output_tensor, const_range, popcount, ... are hybrid builtins

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import ExprError

SCALE = 3.0                  # a module-level constant a script reads
OFFSETS = (1, 2, 5)          # and a tuple of them
NOT_A_NUMBER = np.zeros(3)   # an array: not a constant a script may capture


def _run(stage_outputs, inputs, arrays, scalars=()):
    """Build the stage(s) for llvm and run them on ``arrays``; the outputs as numpy arrays."""
    outs = stage_outputs if isinstance(stage_outputs, list) else [stage_outputs]
    f = tvm.build(te.create_schedule([o.op for o in outs]), [*scalars, *inputs, *outs], "llvm")
    res = [np.zeros([int(d) for d in o.shape], str(o.dtype)) for o in outs]
    f(*arrays, *res)
    return res


_RNG = np.random.default_rng()


def _rand(shape, dtype="float32"):
    """Fresh random data of ``dtype``."""
    if dtype.startswith("int"):
        return _RNG.integers(-1000, 1000, size=shape).astype(dtype)
    return _RNG.standard_normal(shape).astype(dtype)


def _refused(match, script, *args):
    """The script is refused with an ExprError naming it and a line."""
    with pytest.raises(ExprError, match=rf"hybrid script '\w+', line \d+: .*{match}"):
        script(*args)


# -- r2: range(start, stop, step) -------------------------------------------------------------

@te.hybrid.script
def stepped(a):
    b = output_tensor((12,), "float32")
    c = output_tensor((12,), "float32")
    for i in range(12):
        b[i] = 0.0
        c[i] = 0.0
    for i in range(1, 12, 3):
        b[i] = a[i] + 1.0
    for i in parallel(11, -1, -2):
        c[i] = a[i] * 2.0
    for i in const_range(0, 12, 5):
        c[i] = c[i] - 7.0
    return b, c


@te.hybrid.script
def stepped_symbolic(n, a):
    b = output_tensor((n,), "float32")
    for i in range(n):
        b[i] = a[i]
    for i in range(n - 1, -1, -3):
        b[i] = a[i] + 1.0
    for i in parallel(2, n, 4):
        b[i] = b[i] * 10.0
    return b


def test_range_step_runs_the_stepped_iterations_only():
    a = _rand(12)
    A = te.placeholder((12,), name="a")
    got = _run(stepped(A), [A], [a])
    want = stepped(a)
    b, c = np.zeros(12, "float32"), np.zeros(12, "float32")
    b[1::3] = a[1::3] + 1.0
    c[11::-2] = a[11::-2] * 2.0
    c[0::5] -= 7.0
    for g, w, ref in zip(got, want, (b, c)):
        np.testing.assert_allclose(g, w, rtol=1e-6)
        np.testing.assert_allclose(g, ref, rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 3, 8, 13])
def test_range_step_with_symbolic_bounds(size):
    n = te.size_var("n")
    A = te.placeholder((n,), name="a")
    B = stepped_symbolic(n, A)
    f = tvm.build(te.create_schedule(B.op), [n, A, B], "llvm")
    a = _rand(size)
    b = np.zeros(size, "float32")
    f(size, a, b)
    np.testing.assert_allclose(b, stepped_symbolic(size, a), rtol=1e-6)


@te.hybrid.script
def stepped_between(lo, hi, a):
    b = output_tensor((12,), "float32")
    for i in range(12):
        b[i] = 0.0
    for i in range(lo, hi, 3):
        b[i] = b[i] + a[i] + 1.0
    for i in range(hi - 1, lo - 1, -2):
        b[i] = b[i] + 100.0
    return b


def test_range_step_with_variable_start_and_stop():
    lo, hi = te.var("lo"), te.var("hi")
    A = te.placeholder((12,), name="a")
    B = stepped_between(lo, hi, A)
    f = tvm.build(te.create_schedule(B.op), [lo, hi, A, B], "llvm")
    for start, stop in [(0, 12), (0, 0), (5, 3), (1, 2), *_RNG.integers(0, 13, size=(20, 2)).tolist()]:
        a, b = _rand(12), np.zeros(12, "float32")
        f(start, stop, a, b)
        np.testing.assert_allclose(b, stepped_between(start, stop, a), rtol=1e-6, err_msg=f"{start}..{stop}")


def test_range_step_must_be_a_nonzero_constant():
    @te.hybrid.script
    def zero_step(a):
        b = output_tensor((4,), "float32")
        for i in range(0, 4, 0):
            b[i] = a[i]
        return b

    @te.hybrid.script
    def var_step(a, s):
        b = output_tensor((4,), "float32")
        for i in range(0, 4, s):
            b[i] = a[i]
        return b
    A = te.placeholder((4,), name="a")
    _refused("step .* is zero", zero_step, A)
    _refused("must be a constant integer", var_step, A, te.var("s"))


# -- r3: a local keeps its dtype ------------------------------------------------------------

@te.hybrid.script
def int_then_float(a):
    b = output_tensor((1,), "float32")
    acc = 0
    for i in range(4):
        acc = acc + a[i]
    b[0] = acc
    return b


@te.hybrid.script
def float_accumulator(a):
    b = output_tensor((1,), "float32")
    c = output_tensor((1,), "float64")
    acc = 0.0
    wide = float64(0.0)
    for i in range(a.shape[0]):
        acc = acc + a[i]
        wide = a[i]              # float32 -> float64: a safe widening
        if a[i] > 0.0:
            acc = 1              # an int literal a float local holds exactly
    b[0] = acc
    c[0] = wide
    return b, c


def test_local_first_assigned_an_int_refuses_a_float():
    A = te.placeholder((4,), name="a")
    with pytest.raises(ExprError, match=r"'int_then_float', line \d+: 'acc' is int32 \(first assigned at line "
                                        r"\d+\) but is assigned a float32 value.*'acc = 0.0'"):
        int_then_float(A)

    @te.hybrid.script
    def float_literal(a):
        b = output_tensor((1,), "int32")
        k = 0
        for i in range(4):
            k = 2.5
        b[0] = k
        return b
    _refused("'k' is int32 .* a float value", float_literal, A)


def test_float_local_and_widening_agree_with_python():
    a = _rand(9)
    A = te.placeholder((9,), name="a")
    got = _run(float_accumulator(A), [A], [a])
    want = float_accumulator(a)
    for g, w in zip(got, want):
        # acc can end near 0 (1 plus negatives); run as Python under numpy < 2 it is float64
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


# -- r4: int / int --------------------------------------------------------------------------

@te.hybrid.script
def divisions(a, x):
    b = output_tensor((6,), "int32")
    c = output_tensor((6,), "float32")
    for i in range(6):
        b[i] = a[i] // 3 + a[i] % 3
        c[i] = x[i] / 2 + float32(a[i]) / 4.0
    return b, c


def test_int_true_division_is_refused_float_division_stays():
    A = te.placeholder((6,), name="a", dtype="int32")
    X = te.placeholder((6,), name="x")
    a, x = _rand(6, "int32"), _rand(6)
    got = _run(divisions(A, X), [A, X], [a, x])
    want = divisions(a, x)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[0], a // 3 + a % 3)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)

    @te.hybrid.script
    def half(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            b[i] = a[i] / 2
        return b

    @te.hybrid.script
    def half_local(a):
        b = output_tensor((4,), "int32")
        for i in range(4):
            t = a[i]
            t /= i + 1
            b[i] = t
        return b
    _refused(r"'/' between two integers \('a\[i\] / 2'\).*use '//' \(floor division\)", half, A)
    _refused(r"'/' between two integers.*'//'", half_local, A)


# -- r5: one index per dimension ------------------------------------------------------------

def test_index_count_must_match_the_dimensions():
    @te.hybrid.script
    def few(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            b[i] = a[i]
        return b

    @te.hybrid.script
    def many(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            b[i, 0] = a[i, 0]
        return b
    A = te.placeholder((4, 3), name="a")
    _refused(r"tensor 'a' has 2 dimension\(s\) but 'a\[i\]' gives 1 index", few, A)
    _refused(r"tensor 'b' has 1 dimension\(s\) but 'b\[i, 0\]' gives 2 index", many, A)


# -- r8: constants from the closure and the module ------------------------------------------

def _make_scaler(n):
    pairs = [[1, 2], [3, n]]

    @te.hybrid.script
    def scaled(a):
        c = output_tensor((n,), "float32")
        for i in range(n):
            c[i] = a[i] * SCALE + pairs[1][1] + OFFSETS[i % 3]
        return c
    return scaled


def test_captured_constants_are_constants():
    scaled = _make_scaler(7)
    offsets = 7 + np.resize(OFFSETS, 7)
    a = _rand(7)
    # a * 3 + offsets cancelling less than 3/4 of its terms: an FMA, or the constants added first, rounds
    # differently from numpy's multiply then adds by an ulp of the terms, which near a cancelled sum exceeds
    # rtol 1e-6
    while (np.abs(a * 3.0 + offsets) < 0.25 * (np.abs(a * 3.0) + offsets)).any():
        a = _rand(7)
    A = te.placeholder((7,), name="a")
    (got,) = _run(scaled(A), [A], [a])
    np.testing.assert_allclose(got, scaled(a), rtol=1e-6)
    np.testing.assert_allclose(got, a * 3.0 + 7 + np.resize(OFFSETS, 7), rtol=1e-6)


def test_captured_non_constants_and_unknown_names_are_refused():
    @te.hybrid.script
    def uses_array(a):
        b = output_tensor((3,), "float32")
        for i in range(3):
            b[i] = a[i] + NOT_A_NUMBER
        return b

    @te.hybrid.script
    def uses_nothing(a):
        b = output_tensor((3,), "float32")
        for i in range(3):
            b[i] = a[i] + not_defined_anywhere
        return b
    A = te.placeholder((3,), name="a")
    _refused("'NOT_A_NUMBER' from the script's enclosing scope is a ndarray", uses_array, A)
    _refused("unknown name 'not_defined_anywhere'", uses_nothing, A)


# -- r9/r13: lists of tensors and of numbers ------------------------------------------------

@te.hybrid.script
def sum_array(inputs):
    out = output_tensor((10,), inputs[0].dtype)
    for i in range(10):
        out[i] = 0.0
        for j in const_range(len(inputs)):
            out[i] += inputs[j][i]
    return out


@te.hybrid.script
def weighted(a, w):
    c = output_tensor(a.shape, a.dtype)
    d = output_tensor(a.shape, a.dtype)
    for i in range(a.shape[0]):
        c[i] = 0
        d[i] = 0
        for j in const_range(len(w)):
            c[i] = c[i] + a[i] * w[j]
        for k in range(len(w)):          # a variable index into numbers: a select chain
            d[i] = d[i] + a[i] * w[k] - k
    return c, d


@pytest.mark.parametrize("wrap", [list, tuple, tvm.runtime.convert])
def test_list_of_tensors_argument(wrap):
    ins = [te.placeholder((10,), name=f"t{k}") for k in range(3)]
    out = sum_array(wrap(ins))
    assert len(out.op.inputs) == 3
    arrays = [_rand(10) for _ in range(3)]
    (got,) = _run(out, ins, arrays)
    np.testing.assert_allclose(got, sum(arrays), rtol=1e-5)
    np.testing.assert_allclose(got, sum_array(arrays), rtol=1e-5)


@pytest.mark.parametrize("wrap", [list, tvm.runtime.convert])
def test_constant_list_of_ints(wrap):
    w = [int(v) for v in _RNG.integers(-9, 9, size=4)]
    A = te.placeholder((5,), name="a", dtype="int32")
    a = _rand(5, "int32")
    got = _run(weighted(A, wrap(w)), [A], [a])
    want = weighted(a, wrap(w))
    for g, x in zip(got, want):
        np.testing.assert_array_equal(g, x)
    np.testing.assert_array_equal(got[0], a * sum(w))


def test_list_of_tensors_needs_a_constant_index():
    @te.hybrid.script
    def pick(inputs):
        out = output_tensor((4,), "float32")
        for i in range(4):
            for j in range(2):
                out[i] = inputs[j][i]
        return out
    ins = [te.placeholder((4,), name=f"t{k}") for k in range(2)]
    _refused("index 'inputs' with a constant", pick, ins)


# -- r11: TVM's hybrid intrinsics ----------------------------------------------------------

@te.hybrid.script
def intrinsics(a, x):
    b = output_tensor((8,), "int32")
    c = output_tensor((8,), "float32")
    for i in range(8):
        assert i < 8 and i >= 0, "index out of range"
        b[i] = popcount(a[i]) + ceil_div(a[i], 3) * 100
        c[i] = round(x[i] * 4.0) if likely(i < 7) else inf("float32")
    c[0] = ninf("float32")
    return b, c


def test_intrinsics_agree_with_python():
    A = te.placeholder((8,), name="a", dtype="int32")
    X = te.placeholder((8,), name="x")
    a, x = _rand(8, "int32"), _rand(8)
    a[:2] = [-1, -7]   # negative popcount and ceil_div
    got = _run(intrinsics(A, X), [A, X], [a, x])
    want = intrinsics(a, x)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    assert got[1][7] == np.finfo(np.float32).max and got[1][0] == np.finfo(np.float32).min


def test_max_num_threads_reads_the_target():
    @te.hybrid.script
    def threads(a):
        b = output_tensor((2,), "int32")
        b[0] = a[0] + max_num_threads(True)
        b[1] = ceil_div(a[1], max_num_threads())
        return b
    A = te.placeholder((2,), name="a", dtype="int32")
    a = np.array([5, 5000], "int32")
    with tvm.target.Target("cuda"):
        B = threads(A)
        want = threads(a)
    (got,) = _run(B, [A], [a])
    np.testing.assert_array_equal(got, [1029, 5])
    np.testing.assert_array_equal(got, want)
    _refused("max_num_threads.*no target is set", threads, A)
    with tvm.target.Target("llvm"):
        _refused("max_num_threads.*not a GPU target", threads, A)


def test_assert_that_may_fail_is_refused():
    @te.hybrid.script
    def checked(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            assert a[i] > 0.0, "positive"
            b[i] = a[i]
        return b

    @te.hybrid.script
    def off_by_one(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            assert i < 3
            b[i] = a[i]
        return b
    A = te.placeholder((4,), name="a")
    _refused(r"cannot prove 'assert a\[i\] > 0.0' \('positive'\).*no run-time assert", checked, A)
    _refused("cannot prove 'assert i < 3'", off_by_one, A)


# -- r10/r12: scoping and scripts calling scripts -------------------------------------------

@te.hybrid.script
def branchy(a):
    b = output_tensor(a.shape, "float32")
    for i in range(a.shape[0]):
        if a[i] > 0.5:
            x = 1.0
            y = a[i]
        else:
            x = 2.0
            y = -a[i]
        b[i] = x + y
    return b


def test_scalar_assigned_in_both_branches_is_usable_after_the_if():
    a = _RNG.random(16, dtype=np.float32)
    A = te.placeholder((16,), name="a")
    (got,) = _run(branchy(A), [A], [a])
    np.testing.assert_allclose(got, branchy(a), rtol=1e-6)
    np.testing.assert_allclose(got, np.where(a > 0.5, 1.0 + a, 2.0 - a), rtol=1e-6)


def test_local_used_after_its_loop_is_refused():
    @te.hybrid.script
    def last(a):
        b = output_tensor((1,), "float32")
        for i in range(8):
            t = a[i] * 2.0
        b[0] = t
        return b
    _refused("'t' is used outside the loop at line \\d+ that assigns it", last, te.placeholder((8,), name="a"))


@te.hybrid.script
def double(a):
    c = output_tensor(a.shape, a.dtype)
    for i in range(a.shape[0]):
        c[i] = a[i] * 2.0
    return c


@te.hybrid.script
def split_signs(a):
    pos = output_tensor(a.shape, a.dtype)
    neg = output_tensor(a.shape, a.dtype)
    for i in range(a.shape[0]):
        pos[i] = max(a[i], 0.0)
        neg[i] = min(a[i], 0.0)
    return pos, neg


@te.hybrid.script
def calls_scripts(a):
    c = double(a)
    p, q = split_signs(c)
    d = output_tensor(a.shape, a.dtype)
    for i in range(a.shape[0]):
        d[i] = c[i] + 1.0 + p[i] * 3.0 + q[i]
    return d


def test_a_script_calling_scripts_inlines_them():
    a = _rand(11)
    A = te.placeholder((11,), name="a")
    (got,) = _run(calls_scripts(A), [A], [a])
    # 4a + 1 near a = -0.25 is near 0; run as Python under numpy < 2 the script adds in float64
    np.testing.assert_allclose(got, calls_scripts(a), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, 2 * a + 1 + np.maximum(2 * a, 0) * 3 + np.minimum(2 * a, 0), rtol=1e-5, atol=1e-6)


def test_errors_inside_a_called_script_name_both_lines():
    @te.hybrid.script
    def bad(a):
        c = output_tensor(a.shape, a.dtype)
        for i in range(4):
            c[i] = a[i, 0]
        return c

    @te.hybrid.script
    def caller(a):
        c = bad(a)
        return c
    with pytest.raises(ExprError, match=r"'bad', line \d+: tensor 'a' has 1 .*inlined at hybrid script "
                                        r"'caller', line \d+"):
        caller(te.placeholder((4,), name="a"))


def test_dtype_errors_from_expressions_name_the_line():
    @te.hybrid.script
    def overflow(a):
        b = output_tensor((4,), "uint8")
        for i in range(4):
            b[i] = a[i] + 300
        return b
    _refused("300 does not fit uint8", overflow, te.placeholder((4,), name="a", dtype="uint8"))


def test_narrowing_a_local_and_early_returns_are_refused():
    @te.hybrid.script
    def narrowing(a):
        b = output_tensor((1,), "int64")
        acc = 0
        for i in range(4):
            acc = acc + a[i]
        b[0] = acc
        return b

    @te.hybrid.script
    def early(a):
        b = output_tensor((4,), "float32")
        for i in range(4):
            b[i] = a[i]
            if a[i] > 0.0:
                return b
        return b
    _refused(r"'acc' is int32 .* a int64 value.*'acc = int64\(0\)'", narrowing,
             te.placeholder((4,), name="a", dtype="int64"))
    _refused("return the outputs at the end of the script", early, te.placeholder((4,), name="a"))
