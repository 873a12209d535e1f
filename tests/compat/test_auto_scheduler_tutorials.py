"""TVM 0.12's tune_conv2d_layer_cuda.py tutorial with the imports changed, on ``cuda -emulate``
(smaller layer, fewer trials): the topi computation with ``conv + bias``, LocalRPCMeasureContext,
apply_best, the CUDA source from print_best, and the resumed search."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autoschedule as auto_scheduler
from tensorlang import te, topi


@auto_scheduler.register_workload
def conv2d_layer(N, H, W, CO, CI, KH, KW, stride, padding):
    data = te.placeholder((N, CI, H, W), name="data")
    kernel = te.placeholder((CO, CI, KH, KW), name="kernel")
    bias = te.placeholder((1, CO, 1, 1), name="bias")
    conv = topi.nn.conv2d_nchw(data, kernel, stride, padding, dilation=1, out_dtype="float32")
    out = topi.nn.relu(conv + bias)
    return [data, kernel, bias, out]


@pytest.mark.slow
def test_tune_conv2d_layer_cuda_emulated(tmp_path):
    target = tvm.target.Target("cuda -emulate")
    N, H, W, CO, CI, KH, KW, strides, padding = 1, 7, 7, 8, 8, 3, 3, (1, 1), (1, 1)
    task = auto_scheduler.SearchTask(func=conv2d_layer, args=(N, H, W, CO, CI, KH, KW, strides, padding),
                                     target=target)
    assert "T_relu(i, j, k, l) = max(T_add[i, j, k, l], 0.0f)" in str(task.compute_dag)
    log_file = str(tmp_path / "conv2d.json")
    measure_ctx = auto_scheduler.LocalRPCMeasureContext(min_repeat_ms=1)
    tune_option = auto_scheduler.TuningOptions(num_measure_trials=4, runner=measure_ctx.runner,
                                               measure_callbacks=[auto_scheduler.RecordToFile(log_file)], verbose=0)
    task.tune(tune_option)
    sch, args = task.apply_best(log_file)
    del measure_ctx
    func = tvm.build(sch, args, target)
    rng = np.random.default_rng()
    data_np = rng.uniform(size=(N, CI, H, W)).astype(np.float32)
    weight_np = rng.uniform(size=(CO, CI, KH, KW)).astype(np.float32)
    bias_np = rng.uniform(size=(1, CO, 1, 1)).astype(np.float32)
    conv_np = tvm.topi.testing.conv2d_nchw_python(data_np, weight_np, strides, padding)
    out_np = np.maximum(conv_np + bias_np, 0.0)
    dev = tvm.cuda()
    out_tvm = tvm.nd.empty(out_np.shape, device=dev)
    func(tvm.nd.array(data_np, device=dev), tvm.nd.array(weight_np, device=dev), tvm.nd.array(bias_np, device=dev),
         out_tvm)
    np.testing.assert_allclose(out_np, out_tvm.numpy(), rtol=1e-3)
    source = task.print_best(log_file, print_mode="cuda")
    assert "__global__" in source
    assert "te.thread_axis(\"threadIdx.x\")" in task.print_best(log_file)

    cost_model = auto_scheduler.XGBModel()
    cost_model.update_from_file(log_file)
    search_policy = auto_scheduler.SketchPolicy(
        task, cost_model, init_search_callbacks=[auto_scheduler.PreloadMeasuredStates(log_file)])
    measure_ctx = auto_scheduler.LocalRPCMeasureContext(min_repeat_ms=1)
    tune_option = auto_scheduler.TuningOptions(num_measure_trials=2, runner=measure_ctx.runner,
                                               measure_callbacks=[auto_scheduler.RecordToFile(log_file)], verbose=0)
    task.tune(tune_option, search_policy=search_policy)
    del measure_ctx
    lines = [ln for ln in open(log_file) if ln.strip()]
    assert len(lines) == 6
