"""TVM 0.12's tests/python/topi/python/test_topi_sort.py as a TVM user runs it (imports changed, a
subset of its parameters, the seeds dropped so that each run sorts fresh data), on llvm and on
``cuda -emulate``.  The file's dispatch tables name topi.cuda.sort/argsort/topk at import, which
tensorlang lacked: the whole file failed to import, on any machine.  Then the GPU kernels' own
checks: stable order and NaN placement as the CPU path's, and NVRTC compiles them."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.target.cuda import nvrtc

_sort_implement = {
    "generic": (topi.sort, topi.generic.schedule_sort),
    "gpu": (topi.cuda.sort, topi.cuda.schedule_sort),
}

_argsort_implement = {
    "generic": (topi.argsort, topi.generic.schedule_argsort),
    "gpu": (topi.cuda.argsort, topi.cuda.schedule_argsort),
}

_topk_implement = {
    "generic": (topi.topk, topi.generic.schedule_topk),
    "gpu": (topi.cuda.topk, topi.cuda.schedule_topk),
}

# the emulator; an explicit -arch spares the target a probe of the machine's GPU (a subprocess)
EMU = "cuda -emulate -arch=sm_90"
# (target, axis, is_ascend): every combination on llvm, one on the (slower) emulator
cases = pytest.mark.parametrize("target, dev, axis, is_ascend", [
    *[("llvm", tvm.cpu(0), ax, asc) for ax in (0, -1) for asc in (True, False)], (EMU, tvm.cuda(0), 0, False)])


@pytest.mark.parametrize("target, dev, axis, is_ascend", [
    ("llvm", tvm.cpu(0), 0, True), ("llvm", tvm.cpu(0), -1, False)])
def test_sort(target, dev, axis, is_ascend):
    dshape = (20, 100)
    data_dtype = "float32"
    data = te.placeholder(dshape, name="data", dtype=data_dtype)

    perm = np.arange(dshape[0] * dshape[1], dtype=data_dtype)
    np.random.shuffle(perm)
    np_data = perm.reshape(dshape)

    if is_ascend:
        np_sort = np.sort(np_data, axis=axis)
    else:
        np_sort = -np.sort(-np_data, axis=axis)

    with tvm.target.Target(target):
        fcompute, fschedule = tvm.topi.testing.dispatch(target, _sort_implement)
        out = fcompute(data, axis=axis, is_ascend=is_ascend)
        s = fschedule(out)

    tvm_data = tvm.nd.array(np_data, dev)
    tvm_out = tvm.nd.array(np.zeros(dshape, dtype=data_dtype), dev)
    f = tvm.build(s, [data, out], target)
    f(tvm_data, tvm_out)
    tvm.testing.assert_allclose(tvm_out.numpy(), np_sort, rtol=1e0)


@cases
def test_argsort(target, dev, axis, is_ascend):
    dshape = (20, 100)
    data_dtype = "float32"
    data = te.placeholder(dshape, name="data", dtype=data_dtype)

    perm = np.arange(dshape[0] * dshape[1], dtype=data_dtype)
    np.random.shuffle(perm)
    np_data = perm.reshape(dshape)

    if is_ascend:
        np_indices = np.argsort(np_data, axis=axis)
    else:
        np_indices = np.argsort(-np_data, axis=axis)

    with tvm.target.Target(target):
        fcompute, fschedule = tvm.topi.testing.dispatch(target, _argsort_implement)
        out = fcompute(data, axis=axis, is_ascend=is_ascend)
        s = fschedule(out)

    tvm_data = tvm.nd.array(np_data, dev)
    tvm_out = tvm.nd.array(np.zeros(dshape, dtype=data_dtype), dev)
    f = tvm.build(s, [data, out], target)
    f(tvm_data, tvm_out)
    tvm.testing.assert_allclose(tvm_out.numpy(), np_indices.astype(data_dtype), rtol=1e0)


@pytest.mark.parametrize("target, dev, topk, axis, topk_ret_type, is_ascend, dtype", [
    ("llvm", tvm.cpu(0), 0, -1, "both", True, "int64"), ("llvm", tvm.cpu(0), 5, 0, "values", False, "float32"),
    ("llvm", tvm.cpu(0), 1, 1, "indices", False, "int64"), (EMU, tvm.cuda(0), 5, 0, "both", False, "float32")])
def test_topk(target, dev, topk, axis, topk_ret_type, is_ascend, dtype):
    shape = (20, 100)
    data_dtype = "float32"
    data = te.placeholder(shape, name="data", dtype=data_dtype)

    np_data = np.random.uniform(size=shape).astype(data_dtype)
    if is_ascend:
        np_indices = np.argsort(np_data, axis=axis, kind="stable")  # ties: the stable order ours gives
    else:
        np_indices = np.argsort(-np_data, axis=axis, kind="stable")
    kk = topk if topk >= 1 else shape[axis]
    if axis == 0:
        np_indices = np_indices[:kk, :]
        np_values = np.zeros(np_indices.shape).astype(data_dtype)
        for i in range(shape[1]):
            np_values[:, i] = np_data[np_indices[:, i], i]
    else:
        np_indices = np_indices[:, :kk]
        np_values = np.zeros(np_indices.shape).astype(data_dtype)
        for i in range(shape[0]):
            np_values[i, :] = np_data[i, np_indices[i, :]]
    np_indices = np_indices.astype(dtype)

    with tvm.target.Target(target):
        fcompute, fschedule = tvm.topi.testing.dispatch(target, _topk_implement)
        outs = fcompute(data, topk, axis, topk_ret_type, is_ascend, dtype)
        outs = outs if isinstance(outs, list) else [outs]
        s = fschedule(outs)
    tvm_data = tvm.nd.array(np_data, dev)
    tvm_res = []
    for t in outs:
        tvm_res.append(tvm.nd.empty(t.shape, dtype=t.dtype, device=dev))
    f = tvm.build(s, [data] + outs, target)
    f(tvm_data, *tvm_res)
    if topk_ret_type == "both":
        tvm.testing.assert_allclose(tvm_res[0].numpy(), np_values)
        tvm.testing.assert_allclose(tvm_res[1].numpy(), np_indices)
    elif topk_ret_type == "values":
        tvm.testing.assert_allclose(tvm_res[0].numpy(), np_values)
    else:
        tvm.testing.assert_allclose(tvm_res[0].numpy(), np_indices)


# -- the GPU kernels against the CPU path's order -------------------------------------------------

def _stable(a, axis, ascend):
    """Stable order, NaN above every number (numpy's), ties first-come in both directions."""
    if ascend:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return np.flip(n - 1 - np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


def test_gpu_sort_is_stable_and_places_nan_as_the_cpu_sort():
    rng = np.random.default_rng()
    shape = (9, 4)
    # a small range of values: many ties; NaN among the floats
    a = (rng.integers(-3, 4, size=shape) + rng.integers(0, 2, size=shape) * 0.5).astype("float32")
    a[rng.random(shape) < 0.15] = np.nan
    b = rng.integers(-3, 4, size=(3, 11)).astype("int16")
    A = te.placeholder(a.shape, name="A")
    B = te.placeholder(b.shape, name="B", dtype="int16")
    with tvm.target.Target(EMU):
        outs = [*topi.cuda.argsort(A, axis=0, is_ascend=True, dtype="int32", ret_type="both"),
                *topi.cuda.topk(A, 3, 0, "both", False, "int32"),
                topi.cuda.sort(B, axis=1, is_ascend=False), topi.cuda.argsort(B, axis=1, is_ascend=True)]
        s = topi.cuda.schedule_sort(outs)
    f = tvm.build(s, [A, B, *outs], EMU)
    dev = tvm.cuda(0)
    res = [tvm.nd.empty(t.shape, t.dtype, dev) for t in outs]
    f(tvm.nd.array(a, dev), tvm.nd.array(b, dev), *res)
    up, down = _stable(a, 0, True), _stable(a, 0, False)[:3]
    np.testing.assert_array_equal(res[1].numpy(), up)
    np.testing.assert_array_equal(res[0].numpy(), np.take_along_axis(a, up, 0))
    np.testing.assert_array_equal(res[3].numpy(), down)
    np.testing.assert_array_equal(res[2].numpy(), np.take_along_axis(a, down, 0))
    np.testing.assert_array_equal(res[4].numpy(), np.take_along_axis(b, _stable(b, 1, False), 1))
    np.testing.assert_array_equal(res[5].numpy(), _stable(b, 1, True).astype("float32"))
    if nvrtc.nvrtc_available():
        nvrtc.compile_cuda(f.imported_modules[0].get_source(), "sm_90", "sort")


def test_cpu_sort_under_a_gpu_target_names_the_gpu_sort():
    A = te.placeholder((4, 5), name="A")
    with tvm.target.Target(EMU), pytest.raises(tvm.error.TargetError, match="use topi.cuda.topk"):
        topi.topk(A, 2)
