"""CUDA tuning without a GPU: emulated records keep to themselves, records of another device are
refused for a real GPU build, references are cheap and cached, and a missing GPU is one line."""

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from tensorlang import autotune
from tensorlang.autotune import MeasureErrorNo, MeasureInput, MeasureResult, record
from tensorlang.autotune.measure import local
from tensorlang.autotune.measure.local import LocalRunner
from tensorlang.cli import default_log
from tensorlang.target.target import Target

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import matmul  # noqa: E402,F401 - registers matmul_cuda

ARGS = (64, 64, 64, "float32")


def _rec(target: str, index: int, cost: float):
    task = autotune.task.create("matmul_cuda", ARGS, target)
    res = MeasureResult((cost,), MeasureErrorNo.NO_ERROR, timestamp=1700000000.0 + index)
    return MeasureInput(task.target, task, task.config_space.get(index)), res


def _query(best, target: str):
    task = autotune.task.create("matmul_cuda", ARGS, target)
    return best.query(task.target, task.workload_key)


def test_emulated_records_have_their_own_kind_and_log():
    assert record.target_kind("cuda -emulate -arch=sm_90") == "cuda-emulate"
    assert record.target_kind("cuda -arch=sm_90") == "cuda"
    assert default_log("examples/matmul.py", "cuda -emulate") == os.path.join("tuning_logs",
                                                                              "matmul.cuda-emulate.json")
    assert default_log("examples/matmul.py", "cuda") == os.path.join("tuning_logs", "matmul.cuda.json")


def test_real_gpu_build_refuses_emulated_and_other_arch_records(tmp_path):
    log = tmp_path / "log.json"
    record.append(log, [_rec("cuda -emulate -arch=sm_90", 11, 0.001), _rec("cuda -arch=sm_80", 22, 0.002)])
    best = autotune.apply_history_best(str(log))
    assert _query(best, "cuda -emulate -arch=sm_90").index == 11  # emulation applies to emulation
    assert _query(best, "cuda -arch=sm_80").index == 22
    with pytest.warns(UserWarning, match="not applied.*allow_other_device"):
        assert _query(best, "cuda -arch=sm_90").is_fallback  # TVM: query answers a fallback config
    anyway = autotune.apply_history_best(str(log), allow_other_device=True)
    assert _query(anyway, "cuda -arch=sm_90").index == 11  # the fastest of them, when asked

    record.append(log, [_rec("cuda -arch=sm_90", 33, 0.005)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _query(autotune.apply_history_best(str(log)), "cuda -arch=sm_90").index == 33


def test_template_under_real_cuda_target_gets_no_emulated_config(tmp_path):
    log = tmp_path / "log.json"
    record.append(log, [_rec("cuda -emulate -arch=sm_90", 11, 0.001)])
    with pytest.warns(UserWarning, match="not applied"):
        with autotune.apply_history_best(str(log)), Target("cuda -arch=sm_90"):
            s, args = matmul.matmul_cuda_template(*ARGS)
    assert s is not None


def test_cuda_reference_uses_numpy_and_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLANG_CACHE_DIR", str(tmp_path))
    task = autotune.task.create("matmul_cuda", (512, 256, 384, "float32"), "cuda -emulate -arch=sm_90")
    assert task.numpy_reference is not None
    calls = []
    real = local.run_isolated
    monkeypatch.setattr(local, "run_isolated", lambda *a, **k: calls.append(1) or real(*a, **k))
    t0 = time.perf_counter()
    ref = LocalRunner(seed=3).reference(task)
    first = time.perf_counter() - t0
    assert ref.error_no == MeasureErrorNo.NO_ERROR and ref.checked
    assert ref.npz.startswith(str(tmp_path / "references"))
    with np.load(ref.npz) as data:
        np.testing.assert_allclose(data["out2"], data["in0"] @ data["in1"], rtol=1e-5, atol=1e-4)
    assert first < 20  # numpy, not a plain CPU schedule compiled and run
    again = LocalRunner(seed=3).reference(task)  # a new runner (a new run) reuses the file
    assert again.npz == ref.npz and again.specs == ref.specs and len(calls) == 1
    other = LocalRunner(seed=4).reference(task)  # other test data: another file
    assert other.npz != ref.npz and len(calls) == 2


def test_conv2d_numpy_reference_matches_the_compiled_schedule():
    import conv2d

    import tensorlang as tl
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 3, 9, 7)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    X, Wt, _, Y = conv2d.conv2d_nchw(1, 3, 9, 7, 4, 3, 3, 1)
    from tensorlang import te
    s = te.create_schedule(Y.op)
    y = np.zeros((1, 4, 9, 7), np.float32)
    tl.build(s, [X, Wt, Y], target="llvm")(x, w, y)
    np.testing.assert_allclose(conv2d.numpy_conv2d(x, w, 1), y, rtol=1e-4, atol=1e-4)


def test_tune_cuda_without_gpu_is_one_line_and_nonzero(tmp_path):
    env = {**os.environ, "TENSORLANG_CUDA_DRIVER": "tests.fake_cuda_driver", "TENSORLANG_FAKE_CUDA_DEVICES": "0",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "tensorlang.cli", "tune", "--target=cuda",
                          str(ROOT / "examples" / "matmul.py")], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=120)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no CUDA driver/GPU" in lines[0] and "cuda -emulate" in lines[0]
    assert not (tmp_path / "tuning_logs").exists()
