"""topi.testing's numpy references, each checked against the tensorlang operator it describes and
against an independent numpy formulation (plain loops), on fresh random data; and the target
dispatch of ``get_injective_schedule`` / ``get_reduce_schedule``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tests.topi.runner import rand, run_plain

rng = np.random.default_rng()


def test_dispatch_picks_the_targets_schedules():
    t = topi.testing
    assert t.get_injective_schedule("llvm") is topi.x86.schedule_injective
    assert t.get_injective_schedule(tvm.target.Target("cuda -emulate")) is topi.cuda.schedule_injective
    assert t.get_reduce_schedule("cuda") is topi.cuda.schedule_reduce
    assert t.get_reduce_schedule("llvm") is topi.x86.schedule_reduce
    assert t.get_broadcast_schedule("llvm") is t.get_elemwise_schedule("llvm") is topi.x86.schedule_injective
    assert t.dispatch("cuda", {"generic": 0, "gpu": 1}) == 1
    assert t.dispatch("llvm", {"generic": 0, "gpu": 1}) == 0
    assert t.dispatch("llvm -device=arm_cpu", {"generic": 0, "arm_cpu": 2, "cpu": 1}) == 2


@pytest.mark.parametrize("stride,padding,output_padding", [(1, 0, 0), (2, 1, 1), ((2, 3), (1, 2), (1, 0))])
def test_conv2d_transpose_nchw_python(stride, padding, output_padding):
    x, w = rand(2, 3, 5, 4), rand(3, 4, 3, 3)
    ref = topi.testing.conv2d_transpose_nchw_python(x, w, stride, padding, output_padding)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    out = topi.nn.conv2d_transpose_nchw(X, W, stride, padding, "float32", output_padding)
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-4, atol=1e-4)
    # the definition: out[n, k, y, z] sums x[n, c, i, j] * w[c, k, y + pt - i*sh, z + pl - j*sw]
    sh, sw = topi.utils.pair(stride, "stride")
    pt, pl, _, _ = topi.utils.get_pad_tuple(padding, (3, 3))
    loops = np.zeros(ref.shape)
    for y, z, i, j in itertools.product(range(ref.shape[2]), range(ref.shape[3]), range(5), range(4)):
        ky, kz = y + pt - i * sh, z + pl - j * sw
        if 0 <= ky < 3 and 0 <= kz < 3:
            loops[:, :, y, z] += x[:, :, i, j] @ w[:, :, ky, kz]
    np.testing.assert_allclose(ref, loops, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, "SAME", 1), (1, (2, 1), 2), (3, "VALID", 2)])
def test_conv1d_ncw_python(stride, padding, dilation):
    x, w = rand(2, 4, 17), rand(5, 4, 3)
    ref = topi.testing.conv1d_ncw_python(x, w, stride, padding, dilation)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    out = topi.nn.conv1d_ncw(X, W, stride, padding, dilation)
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-4, atol=1e-4)
    left = {0: 0, "SAME": 1, "VALID": 0}.get(padding) if not isinstance(padding, tuple) else padding[0]
    loops = np.zeros(ref.shape)
    for o, r in itertools.product(range(ref.shape[2]), range(3)):
        src = o * stride + r * dilation - left
        if 0 <= src < 17:
            loops[:, :, o] += x[:, :, src] @ w[:, :, r].T
    np.testing.assert_allclose(ref, loops, rtol=1e-5, atol=1e-5)
    grouped = topi.testing.group_conv1d_ncw_python(x, np.concatenate([w[:, :2], w[:, 2:]]), stride, padding,
                                                   dilation, 2)
    np.testing.assert_allclose(grouped[:, :5], topi.testing.conv1d_ncw_python(x[:, :2], w[:, :2], stride, padding,
                                                                              dilation), rtol=1e-6)
    np.testing.assert_allclose(grouped[:, 5:], topi.testing.conv1d_ncw_python(x[:, 2:], w[:, 2:], stride, padding,
                                                                              dilation), rtol=1e-6)


@pytest.mark.parametrize("axis", [1, 3])
def test_lrn_python(axis):
    a = rand(2, 6, 3, 5) if axis == 1 else rand(2, 3, 5, 6)
    size, alpha, beta, bias = 3, 0.5, 0.75, 2.0
    ref = topi.testing.lrn_python(a, size, axis, bias, alpha, beta)
    A = te.placeholder(a.shape, name="A")
    out = topi.nn.lrn(A, size, axis, alpha, beta, bias)
    np.testing.assert_allclose(run_plain(out, [A], [a]), ref, rtol=1e-5, atol=1e-6)
    m = np.moveaxis(a, axis, -1).astype("float64")
    sq = np.zeros_like(m)
    for c in range(6):
        for d in range(c - 1, c + 2):
            if 0 <= d < 6:
                sq[..., c] += m[..., d] ** 2
    np.testing.assert_allclose(ref, np.moveaxis(m / (bias + alpha * sq / size) ** beta, -1, axis), rtol=1e-5)


@pytest.mark.parametrize("axis", [None, (1,), (1, 2)])
def test_l2_normalize_python(axis):
    a = rand(2, 3, 4)
    eps = 1e-3
    ref = topi.testing.l2_normalize_python(a, eps, axis)
    A = te.placeholder(a.shape, name="A")
    np.testing.assert_allclose(run_plain(topi.nn.l2_normalize(A, eps, axis), [A], [a]), ref, rtol=1e-5, atol=1e-6)
    norms = np.sqrt(np.maximum(np.sum(np.square(a.astype("float64")), axis=axis, keepdims=True), eps))
    np.testing.assert_allclose(ref, a / norms, rtol=1e-6)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("axis", [1, -1])
def test_batch_norm(training, axis):
    x = rand(4, 3, 5)
    c = x.shape[axis]
    gamma, beta, mean = rand(c), rand(c), rand(c)
    var = rng.uniform(0.5, 2, c).astype("float32")
    ref = topi.testing.batch_norm(x, gamma, beta, mean, var, axis, 1e-5, True, True, training, 0.1)
    tensors = [te.placeholder(v.shape, name=n) for v, n in zip((x, gamma, beta, mean, var), "xgbmv")]
    outs = topi.nn.batch_norm(*tensors, axis=axis, epsilon=1e-5, training=training, momentum=0.1)
    for got, want in zip(run_plain(outs, tensors, [x, gamma, beta, mean, var]), ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    xm = np.moveaxis(x.astype("float64"), axis, -1)
    for ch in range(c):
        col = xm[..., ch]
        mu, sigma2 = (col.mean(), col.var()) if training else (mean[ch], var[ch])
        np.testing.assert_allclose(np.moveaxis(ref[0], axis, -1)[..., ch],
                                   (col - mu) / np.sqrt(sigma2 + 1e-5) * gamma[ch] + beta[ch], rtol=1e-5, atol=1e-6)
    plain = topi.testing.batch_norm(x, gamma, beta, mean, var, axis, 1e-5, False, False, False, 0.1)[0]
    np.testing.assert_allclose(plain * gamma.reshape([c if k == axis % 3 else 1 for k in range(3)]) +
                               beta.reshape([c if k == axis % 3 else 1 for k in range(3)]),
                               topi.testing.batch_norm(x, gamma, beta, mean, var, axis, 1e-5, True, True, False,
                                                       0.1)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, (1, 2), 1])
def test_layer_norm_python(axis):
    x = rand(3, 4, 5)
    axes = [axis % 3] if isinstance(axis, int) else list(axis)
    gamma, beta = rand(*[x.shape[k] for k in axes]), rand(*[x.shape[k] for k in axes])
    ref = topi.testing.layer_norm_python(x, gamma, beta, axis, 1e-5)
    X, G, B = (te.placeholder(v.shape, name=n) for v, n in zip((x, gamma, beta), "XGB"))
    out = topi.nn.layer_norm(X, G, B, axis, 1e-5)
    np.testing.assert_allclose(run_plain(out, [X, G, B], [x, gamma, beta]), ref, rtol=1e-4, atol=1e-5)
    others = [k for k in range(3) if k not in axes]
    xt = np.transpose(x, others + axes).astype("float64")
    flat = xt.reshape(int(np.prod([x.shape[k] for k in others])), -1)
    normed = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-5)
    want = normed.reshape(xt.shape) * gamma + beta
    np.testing.assert_allclose(np.transpose(ref, others + axes), want, rtol=1e-5, atol=1e-5)
    no_beta = topi.testing.layer_norm_python(x, gamma, None, axis, 1e-5)
    np.testing.assert_allclose(np.transpose(no_beta, others + axes), normed.reshape(xt.shape) * gamma, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("mode", ["DCR", "CDR"])
def test_depth_to_space_and_space_to_depth(mode):
    bs = 2
    x = rand(2, 12, 3, 4)
    ref = topi.testing.depth_to_space_python(x, bs, mode)
    X = te.placeholder(x.shape, name="X")
    np.testing.assert_array_equal(run_plain(topi.nn.depth_to_space(X, bs, mode=mode), [X], [x]), ref)
    assert ref.shape == (2, 3, 6, 8)
    for c, y, z in itertools.product(range(3), range(6), range(8)):
        offset = (y % bs) * bs + z % bs
        src = offset * 3 + c if mode == "DCR" else c * bs * bs + offset
        np.testing.assert_array_equal(ref[:, c, y, z], x[:, src, y // bs, z // bs])
    back = topi.testing.space_to_depth_python(ref, bs)
    if mode == "DCR":  # space_to_depth undoes a DCR depth_to_space
        np.testing.assert_array_equal(back, x)
    R = te.placeholder(ref.shape, name="R")
    np.testing.assert_array_equal(run_plain(topi.nn.space_to_depth(R, bs), [R], [ref]), back)


def test_gather_python():
    data = rand(4, 5, 6)
    for axis in range(3):
        shape = [3, 4, 5]
        idx = rng.integers(0, data.shape[axis], shape).astype("int32")
        ref = topi.testing.gather_python(data, axis, idx)
        D, Ix = te.placeholder(data.shape, name="D"), te.placeholder(shape, name="I", dtype="int32")
        np.testing.assert_array_equal(run_plain(topi.gather(D, axis, Ix), [D, Ix], [data, idx]), ref)
        for pos in np.ndindex(*shape):
            src = list(pos)
            src[axis] = idx[pos]
            assert ref[pos] == data[tuple(src)]
    full = rng.integers(0, 5, data.shape)
    np.testing.assert_array_equal(topi.testing.gather_python(data, 1, full), np.take_along_axis(data, full, 1))


def test_gather_nd_python():
    a = rand(4, 5, 6)
    idx = np.stack([rng.integers(0, 4, (3, 2)), rng.integers(0, 5, (3, 2))]).astype("int32")
    ref = topi.testing.gather_nd_python(a, idx)
    assert ref.shape == (3, 2, 6)
    A, Ix = te.placeholder(a.shape, name="A"), te.placeholder(idx.shape, name="I", dtype="int32")
    np.testing.assert_array_equal(run_plain(topi.gather_nd(A, Ix), [A, Ix], [a, idx]), ref)
    for i, j in np.ndindex(3, 2):
        np.testing.assert_array_equal(ref[i, j], a[idx[0, i, j], idx[1, i, j]])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    idx = rng.integers(0, 5, (3, 4)).astype("int32")
    ref = topi.testing.one_hot(idx, 2.0, -1.0, 5, axis, "float32")
    Ix = te.placeholder(idx.shape, name="I", dtype="int32")
    np.testing.assert_array_equal(run_plain(topi.one_hot(Ix, 2.0, -1.0, 5, axis, "float32"), [Ix], [idx]), ref)
    eye = np.eye(5)[idx] * 3 - 1  # (3, 4, 5): on 2, off -1
    np.testing.assert_array_equal(np.moveaxis(ref, axis, -1), eye.astype("float32"))


@pytest.mark.parametrize("begin,end,strides,mode,axes", [
    ([1, 0], [3, 5], None, "end", None),
    ([0, -1, 1], [4, 0, 6], [2, -1, 2], "end", None),
    ([1, 2], [2, -1], None, "size", None),
    ([1], [-2], [2], "end", [2]),
    ([3, 0], [-10, 4], [-1, 3], "end", [0, 1]),
])
def test_strided_slice_python(begin, end, strides, mode, axes):
    a = rand(4, 6, 7)
    ref = topi.testing.strided_slice_python(a, begin, end, strides, mode, axes)
    A = te.placeholder(a.shape, name="A")
    out = topi.strided_slice(A, begin, end, strides, axes=axes, slice_mode=mode)
    np.testing.assert_array_equal(run_plain(out, [A], [a]), ref)
    sliced = axes if axes is not None else range(len(begin))
    view = a
    for pos, ax in enumerate(sliced):
        idx = np.arange(a.shape[ax])
        if mode == "size":
            chosen = idx[begin[pos]:] if end[pos] < 0 else idx[begin[pos]: begin[pos] + end[pos]]
        else:
            chosen = idx[slice(begin[pos], end[pos], strides[pos] if strides else None)]
        view = np.take(view, chosen, axis=ax)
    np.testing.assert_array_equal(ref, view)


def test_dilate_python():
    a = rand(2, 3, 4)
    ref = topi.testing.dilate_python(a, (1, 2, 3), 0.5)
    A = te.placeholder(a.shape, name="A")
    np.testing.assert_array_equal(run_plain(topi.nn.dilate(A, (1, 2, 3), 0.5), [A], [a]), ref)
    assert ref.shape == (2, 5, 10) and ref.dtype == np.float32
    for pos in np.ndindex(*ref.shape):
        on_grid = pos[1] % 2 == 0 and pos[2] % 3 == 0
        assert ref[pos] == (a[pos[0], pos[1] // 2, pos[2] // 3] if on_grid else 0.5)
    assert topi.testing.dilate_python(a, (1, 1, 2), out_dtype="float64").dtype == np.float64


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("pool_type", ["avg", "max"])
def test_adaptive_pool(layout, pool_type):
    x = rand(2, 3, 10, 7) if layout == "NCHW" else rand(2, 10, 7, 3)
    ref = topi.testing.adaptive_pool(x, (4, 3), pool_type, layout)
    X = te.placeholder(x.shape, name="X")
    out = topi.nn.adaptive_pool(X, (4, 3), pool_type, layout)
    np.testing.assert_allclose(run_plain(out, [X], [x]), ref, rtol=1e-5, atol=1e-6)
    planes = np.moveaxis(x, (layout.index("H"), layout.index("W")), (-2, -1))
    reduce = np.mean if pool_type == "avg" else np.max
    for i, j in np.ndindex(4, 3):
        ys = slice(int(np.floor(i * 10 / 4)), int(np.ceil((i + 1) * 10 / 4)))
        xs = slice(int(np.floor(j * 7 / 3)), int(np.ceil((j + 1) * 7 / 3)))
        want = reduce(planes[..., ys, xs], axis=(-2, -1))
        got = np.moveaxis(ref, (layout.index("H"), layout.index("W")), (-2, -1))[..., i, j]
        np.testing.assert_allclose(got, want, rtol=1e-6)
    whole = topi.testing.adaptive_pool(x, 1, pool_type, layout)
    np.testing.assert_allclose(whole, topi.testing.global_pool_python(x, pool_type, layout), rtol=1e-6)
    line = rand(2, 3, 11)
    np.testing.assert_allclose(topi.testing.adaptive_pool(line, (4,), pool_type, "NCW"),
                               topi.testing.adaptive_pool(line[..., None], (4, 1), pool_type, "NCHW")[..., 0],
                               rtol=1e-6)


def test_conv3d_and_poolnd_references_agree_with_the_operators():
    # As TVM's tests use them: the topi.testing reference beside the compiled operator.
    from tests.topi.test_nn_conv3d_pool_nd import _pool_ref
    x, w = rand(1, 4, 5, 6, 5), rand(6, 2, 3, 3, 2)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    got = run_plain(topi.nn.conv3d_ncdhw(X, W, (1, 2, 1), 1, 1, 2), [X, W], [x, w])
    np.testing.assert_allclose(got, topi.testing.conv3d_ncdhw_python(x, w, (1, 2, 1), 1, groups=2), rtol=1e-4,
                               atol=1e-4)
    xl, wl = np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1)), np.ascontiguousarray(w.transpose(2, 3, 4, 1, 0))
    XL, WL = te.placeholder(xl.shape, name="X"), te.placeholder(wl.shape, name="W")
    got = run_plain(topi.nn.conv3d_ndhwc(XL, WL, 1, "SAME", 1, 2), [XL, WL], [xl, wl])
    np.testing.assert_allclose(got, topi.testing.conv3d_ndhwc_python(xl, wl, 1, "SAME", groups=2), rtol=1e-4,
                               atol=1e-4)
    for kernel, dims in (((3,), "NCW"), ((2, 3), "NCHW"), ((2, 2, 3), "NCDHW")):
        xs = rand(*(2, 3, 7, 6, 5)[:len(dims)])
        n = len(kernel)
        ref = topi.testing.poolnd_python(xs, kernel, [2] * n, [1] * n, [1] * n, [0] * n, "avg", False, True)
        axes = list(range(2, 2 + n))
        indep = _pool_ref(xs, axes, list(kernel), [2] * n, [1] * n, [1] * n, [0] * n, "avg", True, False)
        np.testing.assert_allclose(ref, indep, rtol=1e-6)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_poolnd_python_window_wholly_in_padding(count_include_pad):
    """TVM's pooling tests compare the kernel after a relu with the reference: a max window with
    no data gives 0 there under count_include_pad, else the kernel's own lowest finite value."""
    x = np.random.default_rng().uniform(0.001, 1, (1, 2, 31)).astype("float32")
    A = te.placeholder(x.shape, name="A")
    B = topi.nn.pool1d(A, [3], [3], [1], [2, 1], "max", ceil_mode=True, layout="NCW",
                       count_include_pad=count_include_pad)
    got = np.empty([int(d) for d in B.shape], "float32")
    tvm.build(te.create_schedule(B.op), [A, B])(x, got)
    ref = topi.testing.poolnd_python(x, [3], [3], [1], [2], [1], "max", count_include_pad, True, layout="NCW")
    assert ref.shape == got.shape and got[..., -1].max() < -1e38     # the last window holds no data
    if count_include_pad:
        np.testing.assert_array_equal(np.maximum(got, 0), ref)
    else:
        np.testing.assert_array_equal(got, ref)
