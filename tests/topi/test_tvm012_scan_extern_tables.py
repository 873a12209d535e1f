"""The CUDA entries of TVM 0.12's tables in test_topi_cumsum.py, test_topi_cumprod.py,
test_topi_searchsorted.py, test_topi_argwhere.py and test_topi_unique.py, with imports changed:
``topi.cuda.cumsum/cumprod/schedule_scan``, ``schedule_extern``, ``argwhere/schedule_argwhere`` and
``unique``, which tensorlang lacked (the modules failed before running their llvm cases).  cumsum,
cumprod and searchsorted run on ``cuda -emulate``; argwhere and unique run on the host only, and
declaring them under a CUDA target names that."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.errors import TargetError

EMU = "cuda -emulate"


@pytest.mark.parametrize("target", ["llvm", EMU])
def test_cumsum_cumprod(target):
    dev = tvm.device(target, 0)

    def check(np_ref, data, axis=None, dtype=None, exclusive=False, op="cumsum"):
        implementations = {
            "generic": (
                lambda x: getattr(topi, op)(x, axis, dtype, exclusive=exclusive),
                topi.generic.schedule_extern,
            ),
            "cuda": (
                lambda x: getattr(topi.cuda, op)(x, axis, dtype, exclusive=exclusive),
                topi.cuda.schedule_scan,
            ),
        }
        fcompute, fschedule = tvm.topi.testing.dispatch(target, implementations)
        tvm.topi.testing.compare_numpy_tvm([data], np_ref, target, dev, fcompute, fschedule)

    data = np.random.randint(-100, 100, size=(5, 7)).astype("int32")
    check(np.cumsum(data, axis=1), data, axis=1)
    fdata = np.random.uniform(0.5, 1.5, size=(3, 6)).astype("float32")
    check(np.cumprod(fdata, axis=0), fdata, axis=0, op="cumprod")


def test_searchsorted_cuda_entry():
    implementations = {
        "generic": (topi.searchsorted, topi.generic.schedule_extern),
        "cuda": (topi.searchsorted, topi.cuda.schedule_extern),
    }
    target, dev = EMU, tvm.device(EMU, 0)
    seq = np.sort(np.random.uniform(size=(3, 8)).astype("float32"), axis=-1)
    vals = np.random.uniform(size=(3, 5)).astype("float32")
    S = te.placeholder(seq.shape, name="S")
    V = te.placeholder(vals.shape, name="V")
    fcompute, fschedule = tvm.topi.testing.dispatch(target, implementations)
    with tvm.target.Target(target):
        out = fcompute(S, V, True, "int32")
        s = fschedule([out])
    f = tvm.build(s, [S, V, out], target)
    o = tvm.nd.array(np.zeros(vals.shape, "int32"), dev)
    f(tvm.nd.array(seq, dev), tvm.nd.array(vals, dev), o)
    np.testing.assert_array_equal(o.numpy(), tvm.topi.testing.searchsorted_ref(seq, vals, True, "int32"))


_argwhere_schedule = {
    "generic": topi.generic.schedule_argwhere,
    "gpu": topi.cuda.schedule_argwhere,
}

_argwhere_compute = {"llvm": topi.argwhere, "cuda": topi.cuda.argwhere}

_unique_implement = {
    "generic": (topi.unique, topi.generic.schedule_unique),
    "gpu": (topi.cuda.unique, topi.cuda.schedule_scan),
}


def test_argwhere_and_unique_tables():
    data = np.random.choice([0, 1, 2, 3], size=(4, 5)).astype("int32")
    out_shape = te.placeholder((int(np.count_nonzero(data)), 2), name="out_shape", dtype="int32")
    C = te.placeholder(data.shape, name="C", dtype="int32")
    with tvm.target.Target("llvm"):
        out = _argwhere_compute["llvm"](out_shape, C)
        s = tvm.topi.testing.dispatch("llvm", _argwhere_schedule)(out)
    f = tvm.build(s, [out_shape, C, out], "llvm")
    res = tvm.nd.array(np.zeros(get_shape(out), "int32"))
    f(tvm.nd.array(np.zeros((int(np.count_nonzero(data)), 2), "int32")), tvm.nd.array(data), res)
    np.testing.assert_array_equal(res.numpy(), np.argwhere(data))
    with tvm.target.Target(EMU):
        with pytest.raises(TargetError, match="argwhere"):
            _argwhere_compute["cuda"](out_shape, C)
        fcompute, _ = tvm.topi.testing.dispatch(EMU, _unique_implement)
        with pytest.raises(TargetError, match="unique"):
            fcompute(te.placeholder((10,), "int32", name="X"), False, False)


def get_shape(t):
    return tuple(int(d) for d in t.shape)
