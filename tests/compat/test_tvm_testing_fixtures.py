"""TVM's pytest helpers as a TVM test file uses them (``tvm.testing.parameter``, ``parameters``,
``fixture``), on a real computation checked against numpy."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te

dtype = tvm.testing.parameter("float32", "float64", "int32")
n, scale = tvm.testing.parameters((7, 2), (16, 3))


@tvm.testing.fixture
def data(n, dtype):
    return (np.random.default_rng().uniform(-50, 50, size=n)).astype(dtype)


@tvm.testing.fixture(cache_return_value=True)
def scaled_fn(n, dtype, scale):
    A = te.placeholder((n,), dtype, name="A")
    B = te.compute((n,), lambda i: A[i] * tvm.tir.const(scale, dtype), name="B")
    return tvm.build(te.create_schedule(B.op), [A, B])


def test_every_parameter_combination_runs(data, dtype, n, scale, scaled_fn):
    out = np.empty_like(data)
    scaled_fn(data, out)
    np.testing.assert_array_equal(out, data * np.asarray(scale, dtype))


def test_parameters_came_in_their_sets_and_every_dtype_ran(request):
    # 3 dtypes x 2 (n, scale) sets, each set kept whole: read off the collected test above (its runs
    # may go to other pytest-xdist workers, so no state it leaves behind is seen here)
    runs = [item.callspec.params for item in request.node.parent.collect()
            if getattr(item, "originalname", None) == "test_every_parameter_combination_runs"]
    # the (n, scale) sets are one hidden fixture of the module, each run takes one whole set
    sets = [next(v for k, v in p.items() if k != "dtype") for p in runs]
    got = sorted((str(p["dtype"]), *pair) for p, pair in zip(runs, sets))
    assert got == sorted((d, k, s) for d in ("float32", "float64", "int32") for k, s in ((7, 2), (16, 3)))


class TestParametersInAClass:
    """TVM's topi tests declare parameters as class attributes."""

    rows, cols = tvm.testing.parameters((3, 5), (8, 2))
    dtype = tvm.testing.parameter("float32", "int16")

    def test_transpose(self, rows, cols, dtype):
        A = te.placeholder((rows, cols), dtype, name="A")
        B = te.compute((cols, rows), lambda i, j: A[j, i], name="B")
        a = np.random.default_rng().integers(-100, 100, (rows, cols)).astype(dtype)
        b = np.empty((cols, rows), dtype)
        tvm.build(te.create_schedule(B.op), [A, B])(a, b)
        np.testing.assert_array_equal(b, a.T)
