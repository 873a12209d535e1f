"""The libraries of a run's fastest trials are kept for the re-measurement of its leaders: it runs
them instead of building them again, and every kept file is gone when the run ends.  (The
auto-scheduler's run is checked in tests/autoschedule/test_tuning.py.)"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import record, tuner
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure.kept_builds import KeptBuilds
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner
from tests.autotune import tiny_tasks


@dataclass
class _Config:
    index: int


@dataclass
class _Build:
    filename: str


def _trial(tmp_path, index: int, ms: float | None):
    path = tmp_path / f"c{index}.so"
    path.write_bytes(b"library")
    ok = ms is not None
    res = MeasureResult((ms * 1e-3,) * 3 if ok else (1e9,),
                        MeasureErrorNo.NO_ERROR if ok else MeasureErrorNo.RUNTIME_DEVICE)
    return MeasureInput("llvm", None, _Config(index)), _Build(str(path)), res


def test_only_the_fastest_successful_trials_keep_their_files(tmp_path):
    kept = KeptBuilds(size=3)
    rng = np.random.default_rng()
    costs = rng.permutation(np.arange(1, 9)).astype(float)  # 8 trials, fastest 1 ms
    taken = {}
    for index, ms in enumerate(costs):
        inp, build, res = _trial(tmp_path, index, ms)
        if kept.offer(inp, build, res):
            taken[index] = build.filename
        else:  # the caller deletes what is not kept, as a measure batch does
            os.unlink(build.filename)
    inp, build, res = _trial(tmp_path, 99, None)  # a failed trial is never kept
    assert not kept.offer(inp, build, res)
    fastest = sorted(range(8), key=lambda i: costs[i])[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"c{i}.so" for i in fastest] + ["c99.so"])
    got = kept.take(MeasureInput("llvm", None, _Config(fastest[0])))
    assert got is not None and got.filename == taken[fastest[0]] and os.path.exists(got.filename)
    assert kept.take(MeasureInput("llvm", None, _Config(fastest[0]))) is None  # taken once
    kept.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"c{fastest[0]}.so", "c99.so"])


class CountingBuilder(LocalBuilder):
    """A LocalBuilder that counts the candidates it builds (tests/autoschedule uses it too)."""

    def __init__(self):
        super().__init__(timeout=30)
        self.built = 0

    def build(self, measure_inputs, configs=None):
        results = super().build(measure_inputs, configs)
        self.built += len(results)
        return results


def libraries(builder: LocalBuilder) -> list[str]:
    return [e for e in os.listdir(builder.build_dir) if e.endswith(".so")]


def test_a_template_run_confirms_its_leaders_without_building_them_again(tmp_path):
    task = autotune.task.create("tiny/matmul", (32, 32, 32), "llvm")
    builder = CountingBuilder()
    option = autotune.measure_option(builder=builder, runner=LocalRunner(number=2, repeat=2))
    log = tmp_path / "log.json"
    t = tuner.RandomTuner(task, seed=3)
    t.tune(n_trial=4, measure_option=option, callbacks=[autotune.callback.log_to_file(str(log))], confirm_top=3)
    recs = list(record.load_with_confirmations(str(log)))
    assert sum(res.confirm is not None for _, res in recs) >= 2  # the leaders were re-measured
    assert builder.built == 4  # ... with the libraries their trials ran
    assert libraries(builder) == []
    with autotune.apply_history_best(str(log)), tl.target.Target("llvm"):
        s, args = tiny_tasks.tiny_matmul(32, 32, 32)
        f = tl.build(s, args)
    rng = np.random.default_rng()
    a, b = rng.random((32, 32), dtype=np.float32), rng.random((32, 32), dtype=np.float32)
    c = np.empty((32, 32), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
