"""TVM 0.12's tests/python/topi/python/test_topi_batch_matmul.py as a TVM user runs it (imports
changed; its pickle_memoize cache of the reference data left out; a subset of its cases), on llvm.
Its dynamic case, a batch given as a ``te.var``, crashed in ``topi.nn.batch_matmul``
(get_const_int on the symbolic batch)."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import get_const_tuple

_batch_matmul_implement = {
    "generic": (topi.nn.batch_matmul, topi.generic.schedule_batch_matmul),
    "cpu": (topi.x86.batch_matmul, topi.x86.schedule_batch_matmul),
    "gpu": (topi.cuda.batch_matmul, topi.cuda.schedule_batch_matmul),
}


def verify_batch_matmul(x_batch, y_batch, M, N, K, dynamic=False, debug=False):

    if not dynamic:
        x = te.placeholder((x_batch, M, K), name="x")
        y = te.placeholder((y_batch, N, K), name="y")
        dtype = x.dtype
    else:
        assert x_batch == y_batch or x_batch == 1 or y_batch == 1
        batch_size = max(x_batch, y_batch)
        dynamic_batch_size = te.var("dynamic_batch_size")
        dynamic_M = te.var("dynamic_M")
        dynamic_N = te.var("dynamic_N")
        dynamic_K = te.var("dynamic_K")

        x = te.placeholder((dynamic_batch_size, dynamic_M, dynamic_K), name="x")
        y = te.placeholder((dynamic_batch_size, dynamic_N, dynamic_K), name="y")
        dtype = x.dtype

    def get_ref_data():
        a_np = np.random.uniform(size=(x_batch, M, K)).astype(dtype)
        b_np = np.random.uniform(size=(y_batch, N, K)).astype(dtype)
        c_np = tvm.topi.testing.batch_matmul(a_np, b_np)
        return (a_np, b_np, c_np)

    # get the test data
    a_np, b_np, c_np = get_ref_data()

    def check_device(target, dev):
        print(f"Running on target: {target}")
        with tvm.target.Target(target):
            fcompute, fschedule = tvm.topi.testing.dispatch(target, _batch_matmul_implement)
            out = fcompute(x, y)
            if not dynamic:
                s = fschedule([out])
                out_shape = out.shape
            else:
                s = te.create_schedule(out.op)
                out_shape = (batch_size, M, N)

            if debug:
                print(tvm.lower(s, [x, y, out], simple_mode=True))

        a = tvm.nd.array(a_np, dev)
        b = tvm.nd.array(b_np, dev)
        c = tvm.nd.array(np.zeros(get_const_tuple(out_shape), dtype=dtype), dev)
        f = tvm.build(s, [x, y, out], target, name="dense")
        f(a, b, c)
        tvm.testing.assert_allclose(c.numpy(), c_np, rtol=1e-5)

    for target, dev in tvm.testing.enabled_targets():
        if dynamic and (target == "cuda" or target == "nvptx"):
            print(f"Dynamic batch matmul test is skippped on {target}")
            continue

        check_device(target, dev)


def test_batch_matmul():
    verify_batch_matmul(5, 5, 16, 20, 32, dynamic=True)


def test_nn_batch_matmul_with_a_symbolic_batch_against_a_broadcast_one():
    # a symbolic batch meets a batch of 1: the 1 broadcasts, the symbolic one is read per batch
    b = te.var("b")
    x = te.placeholder((b, 3, 5), name="x")
    y = te.placeholder((1, 4, 5), name="y")
    out = topi.nn.batch_matmul(x, y)
    f = tvm.build(te.create_schedule(out.op), [x, y, out], "llvm")
    rng = np.random.default_rng()
    a, w = rng.standard_normal((6, 3, 5)).astype("float32"), rng.standard_normal((1, 4, 5)).astype("float32")
    c = tvm.nd.empty((6, 3, 4), "float32")
    f(tvm.nd.array(a), tvm.nd.array(w), c)
    np.testing.assert_allclose(c.numpy(), a @ w[0].T, rtol=1e-5, atol=1e-5)
