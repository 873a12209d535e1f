"""The per-target topi computes and schedules TVM 0.12 user code calls directly: topi.x86's
batch_matmul, depthwise_conv2d_nchw, schedule_concatenate and schedule_conv2d_nhwc, topi.cuda's
batch_matmul, depthwise_conv2d_nchw and conv2d_nhwc, topi.generic's schedule_depthwise_conv2d_nchw
and schedule_extern.  Each is used as a TVM user would (compute and schedule inside ``with
Target(...)``, ``tvm.build``; CUDA built for ``cuda -emulate``), run on fresh random data and
compared with numpy; the AutoTVM tasks they register are created by name, some of their configs
built and checked, and one tuned for two trials on llvm, its best record then applied to a direct call."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, topi
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner
from tensorlang.errors import ExprError
from tensorlang.topi import testing as ref

from .runner import call, rand, rng

EMU = "cuda -emulate"

# Called directly with no tuning log, the templates warn that they use their fallback config.
pytestmark = pytest.mark.filterwarnings("ignore:tensorlang.autotune. no tuning record")


def _build(target, compute, schedule, inputs):
    """``compute()`` and ``schedule([out])`` inside ``target``, built with the inputs: (module, out)."""
    with tvm.target.Target(target):
        out = compute()
        s = schedule([out])
        f = tvm.build(s, list(inputs) + [out], target)
    return f, out


def _bmm_ref(a, b, transpose_a, transpose_b):
    a = a.transpose(0, 2, 1) if transpose_a else a
    b = b.transpose(0, 2, 1) if transpose_b else b
    return a @ b


# (batch of a, batch of b, M, N, K, transpose_a, transpose_b)
BMMS = [(2, 2, 5, 12, 7, False, True), (3, 1, 6, 9, 16, True, False), (1, 2, 4, 20, 3, False, False)]


def _bmm_case(case):
    ba, bb, m, n, k, ta, tb = case
    a = rand(ba, *((k, m) if ta else (m, k)))
    b = rand(bb, *((n, k) if tb else (k, n)))
    return a, b, te.placeholder(a.shape, name="A"), te.placeholder(b.shape, name="B"), ta, tb


@pytest.mark.parametrize("case", BMMS)
def test_x86_batch_matmul_with_a_fused_relu(case):
    a, b, A, B, ta, tb = _bmm_case(case)
    f, out = _build("llvm", lambda: topi.nn.relu(topi.x86.batch_matmul(A, B, None, None, ta, tb)),
                    topi.x86.schedule_batch_matmul, [A, B])
    np.testing.assert_allclose(call(f, out, [a, b]), np.maximum(_bmm_ref(a, b, ta, tb), 0), rtol=1e-4, atol=1e-4)


def test_x86_batch_matmul_is_parallel_and_vectorised_and_takes_a_reshape_after_it():
    a, b, A, B, _, _ = _bmm_case(BMMS[0])
    with tvm.target.Target("llvm"):
        C = topi.x86.batch_matmul(A, B)
        assert C.op.attrs["workload"][0] == "batch_matmul.x86"
        s = topi.x86.schedule_batch_matmul(C)
        ir = str(tvm.lower(s, [A, B, C]))
        assert "parallel" in ir and "ramp" in ir
        R = topi.reshape(topi.x86.batch_matmul(A, B), (10, 12))  # not elementwise: its own loops
        f = tvm.build(topi.x86.schedule_batch_matmul([R]), [A, B, R])
    np.testing.assert_allclose(call(f, R, [a, b]), (a @ b.transpose(0, 2, 1)).reshape(10, 12), rtol=1e-4, atol=1e-4)


# (shape, kernel, stride, padding, dilation)
DEPTHWISE = [((1, 8, 9, 9), 3, 1, 1, 1), ((2, 12, 10, 7), 3, 2, "SAME", 1), ((1, 6, 11, 11), (3, 2), 1, 2, 2)]


def _depthwise_case(case, multiplier=1):
    shape, ks, stride, padding, dilation = case
    kh, kw = ks if isinstance(ks, tuple) else (ks, ks)
    d, w = rand(*shape), rand(shape[1], multiplier, kh, kw)
    # output channel c * multiplier + m: input channel c with filter (c, m), a grouped conv2d
    want = ref.conv2d_nchw_python(d, w.reshape(-1, 1, kh, kw), stride, padding, dilation=dilation, groups=shape[1])
    return d, w, te.placeholder(d.shape, name="D"), te.placeholder(w.shape, name="W"), want, (stride, padding,
                                                                                               dilation)


@pytest.mark.parametrize("case", DEPTHWISE)
@pytest.mark.parametrize("relu", [False, True])
def test_x86_depthwise_conv2d_nchw(case, relu):
    d, w, D, W, want, (stride, padding, dilation) = _depthwise_case(case)

    def compute():
        out = topi.x86.depthwise_conv2d_nchw(D, W, stride, padding, dilation, "float32")
        return topi.nn.relu(out) if relu else out

    f, out = _build("llvm", compute, topi.x86.schedule_depthwise_conv2d_nchw, [D, W])
    assert tuple(int(v) for v in out.shape) == want.shape
    np.testing.assert_allclose(call(f, out, [d, w]), np.maximum(want, 0) if relu else want, rtol=1e-4, atol=1e-4)


def test_x86_depthwise_conv2d_nchw_runs_the_packed_template():
    d, w, D, W, want, _ = _depthwise_case(DEPTHWISE[0])
    with tvm.target.Target("llvm"):
        out = topi.x86.depthwise_conv2d_nchw(D, W, 1, 1, 1, "float32")
        conv = out.op.input_tensors[0]  # NCHW out of the packed result
        assert conv.op.tag == "depthwise_conv2d_NCHWc"
        assert conv.op.attrs["workload"][0] == "depthwise_conv2d_NCHWc.x86"
        ir = str(tvm.lower(topi.x86.schedule_depthwise_conv2d_nchw(out), [D, W, out]))
    assert "parallel" in ir and "ramp" in ir


def test_x86_depthwise_conv2d_nchw_with_a_channel_multiplier_names_the_alternative():
    D, W = te.placeholder((1, 4, 6, 6), name="D"), te.placeholder((4, 2, 3, 3), name="W")
    with tvm.target.Target("llvm"), pytest.raises(ExprError, match="channel multiplier of 2.*generic"):
        topi.x86.depthwise_conv2d_nchw(D, W, 1, 1, 1, "float32")


@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3, 5), (2, 4, 5), (2, 1, 5)], 1),
    ([(3, 70), (3, 2)], 1),                       # a long inner axis: split by a divisor
    ([(2, 2, 3, 4), (2, 2, 3, 4)], 0),
    ([(5,), (7,)], 0),
])
def test_x86_schedule_concatenate(shapes, axis):
    arrays = [rand(*sh) for sh in shapes]
    inputs = [te.placeholder(sh, name=f"X{k}") for k, sh in enumerate(shapes)]
    f, out = _build("llvm", lambda: topi.concatenate([topi.exp(t) for t in inputs], axis),
                    topi.x86.schedule_concatenate, inputs)
    np.testing.assert_allclose(call(f, out, arrays), np.concatenate([np.exp(x) for x in arrays], axis), rtol=1e-5)
    with tvm.target.Target("llvm"):
        ir = str(tvm.lower(topi.x86.schedule_concatenate(out), inputs + [out]))
    assert "parallel" in ir and ("ramp" in ir or len(shapes[0]) == 1)


@pytest.mark.parametrize("bias_relu", [False, True])
def test_x86_schedule_conv2d_nhwc(bias_relu):
    d, w, bias = rand(2, 7, 9, 5), rand(3, 3, 5, 12), rand(12)
    D, W, Bias = te.placeholder(d.shape, name="D"), te.placeholder(w.shape, name="W"), te.placeholder((12,), name="B")

    def compute():
        out = topi.nn.conv2d_nhwc(D, W, (2, 1), 1, 1, "float32")
        return topi.nn.relu(topi.add(out, Bias)) if bias_relu else out

    f, out = _build("llvm", compute, topi.x86.schedule_conv2d_nhwc, [D, W, Bias])
    want = _nhwc_ref(d, w, (2, 1), 1, 1)
    want = np.maximum(want + bias, 0) if bias_relu else want
    np.testing.assert_allclose(call(f, out, [d, w, bias]), want, rtol=1e-4, atol=1e-4)


def test_generic_schedule_depthwise_conv2d_nchw_with_a_channel_multiplier():
    d, w, D, W, want, (stride, padding, dilation) = _depthwise_case(DEPTHWISE[1], multiplier=2)
    f, out = _build("llvm", lambda: topi.nn.depthwise_conv2d_nchw(D, W, stride, padding, dilation),
                    topi.generic.schedule_depthwise_conv2d_nchw, [D, W])
    np.testing.assert_allclose(call(f, out, [d, w]), want, rtol=1e-4, atol=1e-4)


def test_generic_schedule_extern_inlines_the_injective_ops_after_the_extern_stage():
    @tvm.register_func("tests.target_ops.twice", override=True)
    def twice(x, y):
        tvm.nd.array(x.numpy() * 2).copyto(y)

    A = te.placeholder((4, 6), name="A")
    E = te.extern(A.shape, [A], lambda ins, outs: te.call_packed("tests.target_ops.twice", ins[0], outs[0]),
                  name="E")
    out = topi.nn.relu(topi.add(E, 1.0))  # the add is inlined into the relu, whose loops are fused
    with tvm.target.Target("llvm"):
        s = topi.generic.schedule_extern(out)
        assert s[out.op.input_tensors[0]].attach_type == "inline" and len(s[out].leaf_iter_vars) == 1
        f = tvm.build(s, [A, out])
        assert len(topi.generic.schedule_extern(E)[E].leaf_iter_vars) == 2  # an extern output as it is
    a = rand(4, 6)
    np.testing.assert_allclose(call(f, out, [a]), np.maximum(a * 2 + 1, 0), rtol=1e-6)


@pytest.mark.parametrize("case", BMMS)
def test_cuda_batch_matmul(case):
    a, b, A, B, ta, tb = _bmm_case(case)
    f, out = _build(EMU, lambda: topi.nn.relu(topi.cuda.batch_matmul(A, B, None, None, ta, tb)),
                    topi.cuda.schedule_batch_matmul, [A, B])
    src = f.get_source("cuda")
    assert "blockIdx.z" in src and "threadIdx.x" in src and "1 kernel(s)" in src
    np.testing.assert_allclose(call(f, out, [a, b]), np.maximum(_bmm_ref(a, b, ta, tb), 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case,multiplier", [(DEPTHWISE[0], 1), (DEPTHWISE[1], 2), (DEPTHWISE[2], 1)])
def test_cuda_depthwise_conv2d_nchw(case, multiplier):
    d, w, D, W, want, (stride, padding, dilation) = _depthwise_case(case, multiplier)
    f, out = _build(EMU, lambda: topi.nn.relu(topi.cuda.depthwise_conv2d_nchw(D, W, stride, padding, dilation,
                                                                              "float32")),
                    topi.cuda.schedule_depthwise_conv2d_nchw, [D, W])
    src = f.get_source("cuda")
    assert "threadIdx.z" in src and "1 kernel(s)" in src
    np.testing.assert_allclose(call(f, out, [d, w]), np.maximum(want, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,kshape,stride,padding,dilation", [
    ((2, 7, 7, 5), (3, 3, 5, 12), 1, 1, 1),
    ((1, 9, 8, 16), (3, 3, 16, 32), 2, "SAME", 1),
    ((1, 8, 8, 3), (2, 3, 3, 8), 1, 0, 2),
])
def test_cuda_conv2d_nhwc(shape, kshape, stride, padding, dilation):
    d, w, bias = rand(*shape), rand(*kshape), rand(kshape[3])
    D, W = te.placeholder(shape, name="D"), te.placeholder(kshape, name="W")
    Bias = te.placeholder(bias.shape, name="B")
    f, out = _build(EMU, lambda: topi.nn.relu(topi.add(topi.cuda.conv2d_nhwc(D, W, stride, padding, dilation), Bias)),
                    topi.cuda.schedule_conv2d_nhwc, [D, W, Bias])
    assert "1 kernel(s)" in f.get_source("cuda")
    want = _nhwc_ref(d, w, stride, padding, dilation)
    np.testing.assert_allclose(call(f, out, [d, w, bias]), np.maximum(want + bias, 0), rtol=1e-4, atol=1e-4)


def _nhwc_ref(d, w, stride, padding, dilation):
    """conv2d_nhwc of NHWC data and an HWIO kernel, through the NCHW reference (which dilates)."""
    out = ref.conv2d_nchw_python(d.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), stride, padding,
                                 dilation=dilation)
    return out.transpose(0, 2, 3, 1)


def _tensor(a):
    return ("TENSOR", a.shape, "float32")


def _task_cases():
    a, b = rand(2, 6, 8), rand(2, 10, 8)
    d, w = rand(1, 8, 7, 7), rand(8, 1, 3, 3)
    dn, wn = rand(1, 6, 6, 4), rand(3, 3, 4, 8)
    bmm = ((_tensor(a), _tensor(b), None, "float32", False, True), [a, b], a @ b.transpose(0, 2, 1))
    dw = ((_tensor(d), _tensor(w), (1, 1), (1, 1), (1, 1), "float32"), [d, w],
          ref.depthwise_conv2d_python_nchw(d, w, 1, 1))
    nhwc = ((_tensor(dn), _tensor(wn), (1, 1), (1, 1), (1, 1), "float32"), [dn, wn],
            ref.conv2d_nhwc_python(dn, wn, 1, 1))
    # the packed result: compared blocked as the config chose
    nchwc = ((_tensor(d), _tensor(w), (1, 1), (1, 1), (1, 1), "NCHW", "NCHW", "float32"), [d, w], dw[2])
    return [("batch_matmul.x86", "llvm", *bmm), ("depthwise_conv2d_NCHWc.x86", "llvm", *nchwc),
            ("batch_matmul.cuda", EMU, *bmm), ("depthwise_conv2d_nchw.cuda", EMU, *dw),
            ("conv2d_nhwc.cuda", EMU, *nhwc)]


@pytest.mark.parametrize("case", _task_cases(), ids=lambda c: c[0])
def test_autotvm_tasks_by_tvm_name(case):
    name, target, args, arrays, want = case
    task = autotvm.task.create(name, args=args, target=target)
    space = task.config_space
    assert 1 < len(space) < 5000 and task.flop > 0
    for idx in sorted({0, int(rng.integers(len(space))), len(space) - 1}):
        s, targs = task.instantiate(space.get(idx))
        f = tvm.build(s, targs, target=target)
        got = call(f, targs[-1], arrays)
        if got.ndim == 5:  # depthwise_conv2d_NCHWc.x86: blocked as the config chose
            got = ref.unpack_nchwc(got)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=f"{name} {space.get(idx)}")


def test_tune_x86_batch_matmul_two_trials_then_apply_the_best(tmp_path):
    a, b = rand(2, 8, 16), rand(2, 12, 16)
    args = (_tensor(a), _tensor(b), None, "float32", False, True)
    task = autotvm.task.create("batch_matmul.x86", args=args, target="llvm")
    log = str(tmp_path / "bmm.json")
    tuner = autotvm.tuner.RandomTuner(task, seed=int(rng.integers(1 << 30)))
    tuner.tune(n_trial=2, measure_option=autotvm.measure_option(builder=LocalBuilder(timeout=20),
                                                                runner=LocalRunner(number=1, repeat=1)),
               callbacks=[autotvm.callback.log_to_file(log)])
    records = list(autotvm.record.load_from_file(log))
    assert len(records) == 2 and all(res.ok for _, res in records)
    best = min(records, key=lambda r: np.mean(r[1].costs))[0].config
    A, B = te.placeholder(a.shape, name="A"), te.placeholder(b.shape, name="B")
    with autotvm.apply_history_best(log), tvm.target.Target("llvm"), warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no tuning record" fallback
        C = topi.x86.batch_matmul(A, B, None, "float32", False, True)  # the task's workload: its record applies
        s = topi.x86.schedule_batch_matmul([C])
        f = tvm.build(s, [A, B, C])
    # The best config's tiles: batch x row tiles x column tiles run in parallel.
    tiles = 2 * (8 // best["tile_y"].size[-1]) * (12 // best["tile_x"].size[-1])
    assert re.search(rf"parallel \([\w.]+, 0, {tiles}\)", str(tvm.lower(s, [A, B, C])))
    np.testing.assert_allclose(call(f, C, [a, b]), a @ b.transpose(0, 2, 1), rtol=1e-4, atol=1e-4)
