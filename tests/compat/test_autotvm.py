"""AutoTVM as TVM 0.12 code uses it (import tensorlang as tvm; autotune as autotvm)."""

import io
import logging
import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, topi
from tensorlang.autotune.task.space import ConfigSpace, FallbackConfigEntity, OtherOptionEntity, SplitEntity


def gemm_func(cfg, N, filter_y=None, filter_x=None):
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    k = te.reduce_axis((0, N), name="k")
    C = te.compute((N, N), lambda i, j: te.sum(A[i, k] * B[k, j], axis=[k]), name="C")
    s = te.create_schedule([C.op])
    y, x = s[C].op.axis
    cfg.define_split("tile_y", y, num_outputs=2, filter=filter_y)
    cfg.define_split("tile_x", x, num_outputs=2, filter=filter_x)
    return s, [A, B, C]


def test_split_space_sizes_and_fallback_split():
    cfg = ConfigSpace()
    gemm_func(cfg, 128)
    assert cfg.range_length == 64 and len(cfg.space_map["tile_y"]) == 8
    cfg = ConfigSpace()
    cfg.define_split("tile_n", cfg.axis(256), policy="factors", num_outputs=3)
    cfg.define_split("tile_b", cfg.axis(224), policy="power2", num_outputs=3)
    cfg.define_split("tile_a", cfg.axis(224), policy="factors", num_outputs=3)
    assert [len(cfg.space_map[n]) for n in ("tile_n", "tile_b", "tile_a")] == [45, 36, 63]
    cfg = FallbackConfigEntity()
    cfg.define_split("tile_n", cfg.axis(128), num_outputs=3)
    cfg.fallback_split("tile_n", [-1, 8, 4])
    cfg.define_split("tile_n", cfg.axis(128), num_outputs=3)  # a later define keeps the choice
    assert cfg["tile_n"].size == [4, 8, 4]
    cfg = FallbackConfigEntity()
    cfg.define_split("tile_n", cfg.axis(49), num_outputs=3)
    cfg.fallback_split("tile_n", [-1, 8, 4])
    assert cfg["tile_n"].size == [7, 7, 1]
    with pytest.raises(RuntimeError):
        cfg.fallback_split("tile_n", [-1, 1, 0])


def test_multi_filter_and_index_helpers():
    cfg, cfg_mf = ConfigSpace(), ConfigSpace()
    gemm_func(cfg, 128)
    gemm_func(cfg_mf, 128)
    cfg_mf.multi_filter(filter=lambda e: 32 <= (e["tile_x"].size[1] * e["tile_y"].size[1]) < 1024)
    assert (len(cfg), len(cfg_mf), cfg_mf.range_length, cfg_mf.dims) == (64, 34, 64, [8, 8])
    assert cfg.is_index_valid(0) and not cfg_mf.is_index_valid(0) and cfg_mf.is_index_valid(15)
    with pytest.raises(RuntimeError):
        cfg_mf.get(0)
    assert cfg_mf.subrange_length(0, 64) == 34
    assert cfg.point2knob(4) == [4, 0] and cfg.point2knob(15) == [7, 1] and cfg.knob2point([7, 1]) == 15
    picks = cfg_mf.sample_ints(10)
    assert len(set(picks)) == 10 and all(cfg_mf.is_index_valid(i) for i in picks)
    assert cfg_mf.is_index_valid(cfg_mf.random_walk(15))


def test_fallback_entity_assignment_and_reference_log():
    cfg = FallbackConfigEntity()
    gemm_func(cfg, 64)
    cfg["tile_y"] = SplitEntity([-1, 8])
    cfg.define_knob("unroll", [0, 1])
    cfg["unroll"] = OtherOptionEntity(1)
    assert cfg.is_fallback and cfg["tile_y"].size == [-1, 8] and cfg["unroll"].val == 1
    s, args = gemm_func(cfg, 64)
    # a reference log from a similar workload steers the fallback
    space = ConfigSpace()
    gemm_func(space, 128)
    ref = space.get(space.knob2point([3, 4]))  # tile_y [-1, 8], tile_x [-1, 16]
    inp = autotvm.MeasureInput("llvm", None, ref)
    res = autotvm.MeasureResult((0.1,), autotvm.MeasureErrorNo.NO_ERROR, 0.2, 0.0)
    fb = FallbackConfigEntity()
    gemm_func(fb, 64)
    fb.fallback_with_reference_log([(inp, res)])
    assert fb["tile_y"].size[-1] == 8 and fb["tile_x"].size[-1] == 16
    assert res.all_cost == 0.2 and res.timestamp == 0.0  # TVM's field order


@autotvm.template("compat/matmul")
def matmul(N, L, M, dtype):
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    k = s[C].op.reduce_axis[0]
    cfg = autotvm.get_config()
    cfg.define_split("tile_y", y, num_outputs=2)
    cfg.define_split("tile_x", x, num_outputs=2)
    yo, yi = cfg["tile_y"].apply(s, C, y)
    xo, xi = cfg["tile_x"].apply(s, C, x)
    s[C].reorder(yo, xo, k, yi, xi)
    return s, [A, B, C]


def test_autotvm_matmul_x86_tutorial_flow(tmp_path, caplog):
    """The autotvm_matmul_x86 tutorial: task, tune with a logger and a file log, apply best."""
    N, L, M = 32, 32, 32
    task = autotvm.task.create("compat/matmul", args=(N, L, M, "float32"), target="llvm")
    assert task.workload == ("compat/matmul", N, L, M, "float32")
    assert isinstance(task.config_space, autotvm.task.space.ConfigSpace) and len(task.config_space) == 36
    logger = logging.getLogger("autotvm")
    logger.setLevel(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    measure_option = autotvm.measure_option(builder="local", runner=autotvm.LocalRunner(number=2, repeat=1))
    log = str(tmp_path / "matmul.log")
    tuner = autotvm.tuner.RandomTuner(task)
    try:
        tuner.tune(n_trial=4, measure_option=measure_option, callbacks=[autotvm.callback.log_to_file(log)],
                   si_prefix="M")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("MFLOPS") == 4
    dispatch_context = autotvm.apply_history_best(log)
    best = dispatch_context.query(task.target, task.workload)
    assert not best.is_fallback
    with autotvm.apply_history_best(log):
        with tvm.target.Target("llvm"):
            s, arg_bufs = matmul(N, L, M, "float32")
            func = tvm.build(s, arg_bufs)
    a = np.random.uniform(size=(N, L)).astype(np.float32)
    b = np.random.uniform(size=(L, M)).astype(np.float32)
    c = tvm.nd.empty((N, M))
    func(tvm.nd.array(a), tvm.nd.array(b), c)
    tvm.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4)
    # a second tuner seeded from the log (transfer learning) does not measure those configs again
    tuner2 = autotvm.tuner.XGBTuner(task)
    tuner2.load_history(autotvm.record.load_from_file(log))
    assert len(tuner2.visited) == 4


def test_custom_builder_runner_signatures():
    task = autotvm.task.create("compat/matmul", args=(16, 16, 16, "float32"), target="llvm")
    seen = {}

    class FakeBuilder(autotvm.measure.Builder):
        def build(self, measure_inputs):
            seen["build"] = len(measure_inputs)
            return [None] * len(measure_inputs)

    class FakeRunner(autotvm.measure.Runner):
        def run(self, measure_inputs, build_results):
            seen["run"] = len(build_results)
            return [autotvm.MeasureResult((1e-3 * (inp.config.index + 1),), 0, 0.01, 0.0) for inp in measure_inputs]

    tuner = autotvm.tuner.GridSearchTuner(task)
    tuner.tune(n_trial=3, measure_option=autotvm.measure_option(builder=FakeBuilder(), runner=FakeRunner()))
    assert seen["build"] == seen["run"] >= 1
    assert tuner.best_config.index == 0


def test_log_to_file_stream_and_record_roundtrip():
    task = autotvm.task.create("compat/matmul", args=(16, 16, 16, "float32"), target="llvm")
    inp = autotvm.MeasureInput(task.target, task, task.config_space.get(3))
    res = autotvm.MeasureResult((0.5, 0.25), autotvm.MeasureErrorNo.NO_ERROR, 1.0, 123.0)
    out = io.StringIO()
    autotvm.callback.log_to_file(out, protocol="json")(None, [inp], [res])
    inp2, res2 = autotvm.record.decode(out.getvalue().strip(), protocol="json")
    assert inp2.config.index == 3 and res2.costs == (0.5, 0.25) and res2.timestamp == 123.0
    with pytest.raises(ValueError):
        autotvm.callback.log_to_file(out, protocol="pickle")


def test_topi_templates_by_name():
    """TVM's task names for topi templates; each config checked against numpy."""
    warnings.simplefilter("ignore")
    data, kernel = ("TENSOR", (1, 4, 6, 6), "float32"), ("TENSOR", (8, 4, 3, 3), "float32")
    a = np.random.rand(1, 4, 6, 6).astype("float32")
    w = np.random.rand(8, 4, 3, 3).astype("float32")
    ref = topi.testing.conv2d_nchw_python(a, w, 1, 1)
    for name, target, idx in [("conv2d_nchw.x86", "llvm", 7), ("conv2d_nchw.cuda", "cuda -emulate", 0)]:
        task = autotvm.task.create(name, args=(data, kernel, (1, 1), (1, 1), (1, 1), "float32"), target=target)
        s, args = task.instantiate(task.config_space.get(idx))
        f = tvm.build(s, args, target=target)
        out = np.zeros((1, 8, 6, 6), "float32")
        f(a, w, out)
        np.testing.assert_allclose(out, ref, rtol=1e-4, err_msg=name)
    x = np.random.rand(4, 16).astype("float32")
    wt = np.random.rand(24, 16).astype("float32")
    for name, target in [("dense_nopack.x86", "llvm"), ("dense_pack.x86", "llvm"),
                         ("dense_small_batch.cuda", "cuda -emulate"), ("dense_large_batch.cuda", "cuda -emulate")]:
        task = autotvm.task.create(name, args=(("TENSOR", (4, 16), "float32"), ("TENSOR", (24, 16), "float32"),
                                               None, "float32"), target=target)
        s, args = task.instantiate(task.config_space.get(len(task.config_space) // 3))
        f = tvm.build(s, args, target=target)
        out = np.zeros((4, 24), "float32")
        f(x, wt, out)
        np.testing.assert_allclose(out, x @ wt.T, rtol=1e-4, err_msg=name)


def test_topi_template_called_directly_with_fused_relu():
    A = te.placeholder((1, 4, 6, 6), name="A")
    W = te.placeholder((8, 4, 3, 3), name="W")
    with pytest.warns(UserWarning, match="fallback"), tvm.target.Target("llvm"):
        C = topi.x86.conv2d_nchw(A, W, 1, 1, 1)
        R = topi.nn.relu(C)
        s = topi.x86.schedule_conv2d_nchw([R])
    f = tvm.build(s, [A, W, R])
    a = np.random.uniform(-1, 1, (1, 4, 6, 6)).astype("float32")
    w = np.random.uniform(-1, 1, (8, 4, 3, 3)).astype("float32")
    out = np.zeros((1, 8, 6, 6), "float32")
    f(a, w, out)
    np.testing.assert_allclose(out, np.maximum(topi.testing.conv2d_nchw_python(a, w, 1, 1), 0), rtol=1e-4,
                               atol=1e-5)
