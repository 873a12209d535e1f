"""The module-level implementation tables of TVM 0.12's topi tests for convolution variants
(test_topi_conv1d_transpose_ncw.py, test_topi_conv2d_transpose_nchw.py, test_topi_conv3d_ncdhw.py,
test_topi_conv3d_ndhwc.py, test_topi_conv3d_transpose_ncdhw.py, test_topi_group_conv2d.py,
test_topi_correlation.py, test_topi_deformable_conv2d.py), with imports changed: they name
``topi.cuda.schedule_*`` of each op, ``topi.cuda.conv3d_ndhwc/conv1d_transpose_ncw/conv3d_transpose_ncdhw/
correlation_nchw/deformable_conv2d_nchw`` and ``topi.x86.conv3d_ndhwc/conv3d_transpose_ncdhw``, which
tensorlang lacked (each module failed to import).  Every table is built at import as in TVM; the GPU
entries of four of them run on ``cuda -emulate`` and the new x86 entries on llvm (one schedule serves
all the GPU entries), a small case each, against ``topi.testing``'s references."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import get_const_tuple

_conv1d_transpose_ncw_implement = {
    "generic": (topi.nn.conv1d_transpose_ncw, topi.generic.schedule_conv1d_transpose_ncw),
    "gpu": (topi.cuda.conv1d_transpose_ncw, topi.cuda.schedule_conv1d_transpose_ncw),
}
_conv2d_transpose_nchw_implement = {
    "generic": (topi.nn.conv2d_transpose_nchw, topi.generic.schedule_conv2d_transpose_nchw),
    "cpu": (topi.x86.conv2d_transpose_nchw, topi.x86.schedule_conv2d_transpose_nchw),
    "gpu": (topi.cuda.conv2d_transpose_nchw, topi.cuda.schedule_conv2d_transpose_nchw),
}
_conv3d_ncdhw_implement = {
    "generic": (topi.nn.conv3d_ncdhw, topi.generic.schedule_conv3d_ncdhw),
    "cpu": (topi.x86.conv3d_ncdhw, topi.x86.schedule_conv3d_ncdhw),
    "gpu": (topi.cuda.conv3d_ncdhw, topi.cuda.schedule_conv3d_ncdhw),
}
_conv3d_ndhwc_implement = {
    "generic": (topi.nn.conv3d_ndhwc, topi.generic.schedule_conv3d_ndhwc),
    "cpu": (topi.x86.conv3d_ndhwc, topi.x86.schedule_conv3d_ndhwc),
    "gpu": (topi.cuda.conv3d_ndhwc, topi.cuda.schedule_conv3d_ndhwc),
}
_conv3d_transpose_ncdhw_implement = {
    "generic": (topi.nn.conv3d_transpose_ncdhw, topi.generic.schedule_conv3d_transpose_ncdhw),
    "cpu": (topi.x86.conv3d_transpose_ncdhw, topi.x86.schedule_conv3d_transpose_ncdhw),
    "gpu": (topi.cuda.conv3d_transpose_ncdhw, topi.cuda.schedule_conv3d_transpose_ncdhw),
}
_group_conv2d_nchw_implement = {
    "generic": (topi.nn.group_conv2d_nchw, topi.generic.schedule_group_conv2d_nchw),
    "gpu": (topi.cuda.group_conv2d_nchw, topi.cuda.schedule_group_conv2d_nchw),
}
_correlation_implement = {
    "generic": (topi.nn.correlation_nchw, topi.generic.schedule_correlation_nchw),
    "gpu": (topi.cuda.correlation_nchw, topi.cuda.schedule_correlation_nchw),
}
_deformable_conv2d_nchw_implement = {
    "generic": (topi.nn.deformable_conv2d_nchw, topi.generic.schedule_deformable_conv2d_nchw),
    "cuda": (topi.cuda.deformable_conv2d_nchw, topi.cuda.schedule_deformable_conv2d_nchw),
}

EMU = "cuda -emulate"


def _rnd(*shape):
    return np.random.uniform(-1, 1, size=shape).astype("float32")


def _check(target, table, placeholders, arrays, make, ref, relu=False):
    dev = tvm.device(target, 0)
    fcompute, fschedule = tvm.topi.testing.dispatch(target, table)
    with tvm.target.Target(target):
        out = make(fcompute)
        if relu:
            out = topi.nn.relu(out)
        s = fschedule([out])
    f = tvm.build(s, list(placeholders) + [out], target)
    args = [tvm.nd.array(a, dev) for a in arrays]
    res = tvm.nd.array(np.zeros(get_const_tuple(out.shape), dtype=out.dtype), dev)
    f(*args, res)
    tvm.testing.assert_allclose(res.numpy(), np.maximum(ref, 0) if relu else ref, rtol=1e-4, atol=1e-4)


def test_conv2d_transpose_nchw_gpu():
    a_np, w_np = _rnd(1, 2, 4, 4), _rnd(2, 3, 3, 3)
    ref = tvm.topi.testing.conv2d_transpose_nchw_python(a_np, w_np, (2, 2), (1, 1, 1, 1), (1, 1))
    A, W = te.placeholder(a_np.shape, name="A"), te.placeholder(w_np.shape, name="W")
    _check(EMU, _conv2d_transpose_nchw_implement, [A, W], [a_np, w_np],
           lambda fc: fc(A, W, (2, 2), (1, 1, 1, 1), "float32", (1, 1)), ref)


def test_conv3d_ndhwc_cpu(target="llvm"):
    a_np, w_np = _rnd(1, 5, 5, 5, 4), _rnd(3, 3, 3, 4, 5)
    ref = tvm.topi.testing.conv3d_ndhwc_python(a_np, w_np, 1, 1)
    A, W = te.placeholder(a_np.shape, name="A"), te.placeholder(w_np.shape, name="W")
    _check(target, _conv3d_ndhwc_implement, [A, W], [a_np, w_np], lambda fc: fc(A, W, 1, 1, 1, 1, "float32"), ref)


def test_group_conv2d_nchw_gpu():
    a_np, w_np = _rnd(1, 8, 9, 9), _rnd(8, 2, 3, 3)
    dw_np = tvm.topi.testing.dilate_python(w_np, (1, 1, 2, 2))
    ref = tvm.topi.testing.conv2d_nchw_python(a_np, dw_np, 1, 1, 4)
    A, W = te.placeholder(a_np.shape, name="A"), te.placeholder(w_np.shape, name="W")
    _check(EMU, _group_conv2d_nchw_implement, [A, W], [a_np, w_np],
           lambda fc: fc(A, W, 1, 1, 2, 4, "float32"), ref, relu=True)


def test_correlation_nchw_gpu():
    a_np, b_np = _rnd(1, 3, 10, 10), _rnd(1, 3, 10, 10)
    ref = tvm.topi.testing.correlation_nchw_python(a_np, b_np, 1, 4, 1, 2, 4, True)
    A, B = te.placeholder(a_np.shape, name="A"), te.placeholder(b_np.shape, name="B")
    _check(EMU, _correlation_implement, [A, B], [a_np, b_np], lambda fc: fc(A, B, 1, 4, 1, 2, 4, True), ref)


def test_deformable_conv2d_nchw_gpu():
    a_np, w_np = _rnd(1, 4, 6, 6), _rnd(4, 4, 3, 3)
    off_np = np.random.uniform(-2, 2, size=(1, 18, 6, 6)).astype("float32")
    ref = tvm.topi.testing.deformable_conv2d_nchw_python(a_np, off_np, w_np, 1, 1, 1, 1, 1)
    A, O, W = (te.placeholder(x.shape, name=n) for x, n in ((a_np, "A"), (off_np, "O"), (w_np, "W")))
    dev = tvm.device(EMU, 0)
    fcompute, fschedule = _deformable_conv2d_nchw_implement["cuda"]
    with tvm.target.Target(EMU):
        out = fcompute(A, O, W, 1, 1, 1, 1, 1, "float32")
        s = fschedule([out])
    f = tvm.build(s, [A, O, W, out], EMU)
    res = tvm.nd.array(np.zeros(get_const_tuple(out.shape), dtype="float32"), dev)
    f(tvm.nd.array(a_np, dev), tvm.nd.array(off_np, dev), tvm.nd.array(w_np, dev), res)
    tvm.testing.assert_allclose(res.numpy(), ref, rtol=1e-4, atol=1e-4)


_deformable_conv2d_nhwc_implement = {
    "generic": (topi.nn.deformable_conv2d_nhwc, topi.generic.schedule_deformable_conv2d_nhwc),
}


def test_deformable_conv2d_nhwc():
    """test_topi_deformable_conv2d.py's NHWC table (``topi.nn.deformable_conv2d_nhwc``): 2 deformable
    groups, stride 2, dilation 1, against ``topi.testing.deformable_conv2d_nhwc_python``."""
    n, h, w, c, f, k, dg, stride, pad, dil = 1, 7, 7, 4, 3, 3, 2, 2, 1, 1
    oh = ow = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1
    a_np, w_np = _rnd(n, h, w, c), _rnd(k, k, c, f)
    off_np = np.random.uniform(-2, 2, size=(n, oh, ow, dg * k * k * 2)).astype("float32")
    ref = tvm.topi.testing.deformable_conv2d_nhwc_python(a_np, off_np, w_np, stride, pad, dil, dg, 1)
    A, O, W = (te.placeholder(x.shape, name=nm) for x, nm in ((a_np, "A"), (off_np, "O"), (w_np, "W")))
    _check("llvm", _deformable_conv2d_nhwc_implement, [A, O, W], [a_np, off_np, w_np],
           lambda fc: fc(A, O, W, stride, pad, dil, dg, 1, "float32"), ref)
