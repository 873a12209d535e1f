"""TVM 0.12's tests/python/topi/python/test_topi_scatter.py as a TVM user runs it (imports changed, a
subset of its cases): it checks through ``tvm.topi.testing.compare_numpy_tvm``, which tensorlang
lacked, and its GPU entry is ``topi.cuda.scatter_nd``, which it lacked too.  The TVM test on llvm; the GPU kernels on
``cuda -emulate`` with repeated indices, whose updates must land in order."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.target.cuda import nvrtc

# the emulator; an explicit -arch spares the target a probe of the machine's GPU (a subprocess)
EMU = "cuda -emulate -arch=sm_90"


@tvm.testing.parametrize_targets("llvm")
def test_scatter_nd(dev, target):
    def check_scatter_nd(data, indices, updates, out, mode="add"):
        implementations = {
            "generic": (
                lambda x, y, z: topi.scatter_nd(x, y, z, mode),
                topi.generic.schedule_extern,
            ),
            "gpu": (
                lambda x, y, z: topi.cuda.scatter_nd(x, y, z, mode),
                topi.generic.schedule_extern,
            ),
        }
        fcompute, fschedule = tvm.topi.testing.dispatch(target, implementations)
        tvm.topi.testing.compare_numpy_tvm(
            [data, indices, updates], out, target, dev, fcompute, fschedule
        )

    data = np.zeros((2, 2)).astype("int64")
    indices = np.array([[1, 1, 0], [0, 1, 0]])
    updates = np.array([2, 3, 0])
    out = np.array([[0, 0], [2, 3]])
    check_scatter_nd(data, indices, updates, out)

    data = np.zeros((2, 2, 2, 2)).astype("int64")
    indices = np.array([[0, 1], [1, 1]])
    updates = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    out = np.array([[[[0, 0], [0, 0]], [[1, 2], [3, 4]]], [[[0, 0], [0, 0]], [[5, 6], [7, 8]]]])
    check_scatter_nd(data, indices, updates, out)

    for mode in ["min"]:
        updates = np.ones((5, 3)).astype("float64")
        indices = np.stack((np.random.randint(2, size=5), np.random.randint(7, size=5))).astype(
            "int64"
        )
        shape = (2, 7, 3)
        data = np.random.random(shape).astype("float64")
        out = data.copy()
        for i in range(indices.shape[1]):
            for j in range(updates.shape[1]):
                if mode == "min":
                    out[indices[0, i], indices[1, i], j] = min(
                        out[indices[0, i], indices[1, i], j], updates[i, j]
                    )

        check_scatter_nd(data, indices, updates, out, mode)


def test_cuda_scatter_nd_applies_repeated_indices_in_order():
    mode = "update"  # the last of repeated indices wins
    rng = np.random.default_rng()
    data = rng.standard_normal((3, 4, 5)).astype("float32")
    indices = rng.integers(-3, 3, size=(1, 6, 2)).astype("int32")  # repeats, negatives from the end
    updates = rng.standard_normal((6, 2, 4, 5)).astype("float32")
    out = data.copy()
    for y in np.ndindex(6, 2):
        k = indices[(0, *y)]
        out[k] = updates[y] if mode == "update" else out[k] + updates[y]
    D, I, U = (te.placeholder(a.shape, str(a.dtype), name=n) for a, n in ((data, "D"), (indices, "I"), (updates, "U")))
    with tvm.target.Target(EMU):
        O = topi.cuda.scatter_nd(D, I, U, mode)
        s = topi.generic.schedule_extern(O)
    f = tvm.build(s, [D, I, U, O], EMU)
    dev = tvm.cuda(0)
    res = tvm.nd.array(rng.standard_normal(data.shape).astype("float32"), dev)
    f(*(tvm.nd.array(a, dev) for a in (data, indices, updates)), res)
    np.testing.assert_allclose(res.numpy(), out, rtol=1e-6, atol=1e-6)
    if nvrtc.nvrtc_available():
        nvrtc.compile_cuda(f.imported_modules[0].get_source(), "sm_90", "scatter_nd")
