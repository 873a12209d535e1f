"""Tuning the CUDA templates of examples/ without a GPU: `cuda -emulate` runs each candidate's
kernels on the CPU, and device-limit violations are instantiation errors, never launched."""

import sys
from pathlib import Path

from tensorlang import autotune, te
from tensorlang.autotune import MeasureErrorNo, MeasureInput, record
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner, create_measure_batch
from tensorlang.autotune.tuner import RandomTuner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import matmul  # noqa: E402,F401 - registers matmul_cuda

TARGET = "cuda -emulate -arch=sm_90"


def _option():
    return autotune.measure_option(builder=LocalBuilder(timeout=30), runner=LocalRunner(number=1, repeat=1))


def test_tune_cuda_template_emulated(tmp_path):
    task = autotune.task.create("matmul_cuda", (64, 64, 64, "float32"), TARGET)
    log = str(tmp_path / "cuda.json")
    tuner = RandomTuner(task, seed=2)
    tuner.tune(n_trial=4, measure_option=_option(), callbacks=[autotune.callback.log_to_file(log)])
    recs = list(record.load_from_file(log))
    assert len(recs) == 4
    assert any(res.ok for _, res in recs), [res.error_msg for _, res in recs]
    assert all(inp.target == TARGET for inp, _ in recs)


@autotune.template("test_cuda/threads")
def threads_template(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_knob("threads", [256, 2048])  # no constraint: the device limit must catch 2048
    bx, tx = s[B].split(B.op.axis[0], factor=cfg["threads"].val)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B]


def test_over_limit_config_is_an_instantiation_error():
    task = autotune.task.create("test_cuda/threads", (4096,), TARGET)
    measure = create_measure_batch(task, _option())
    ok, over = measure([MeasureInput(task.target, task, task.config_space.get(i)) for i in (0, 1)])
    assert ok.error_no == MeasureErrorNo.NO_ERROR, ok.error_msg
    assert over.error_no == MeasureErrorNo.INSTANTIATION_ERROR
    assert "2048 threads" in over.error_msg and "allows 1024" in over.error_msg


def test_tune_conv2d_cuda_template_emulated(tmp_path):
    import conv2d  # noqa: F401 - registers conv2d_nchw_cuda
    task = conv2d.tasks(TARGET)[0]
    log = str(tmp_path / "conv.json")
    RandomTuner(task, seed=4).tune(n_trial=2, measure_option=_option(),
                                   callbacks=[autotune.callback.log_to_file(log)])
    recs = list(record.load_from_file(log))
    assert len(recs) == 2 and any(res.ok for _, res in recs), [res.error_msg for _, res in recs]
