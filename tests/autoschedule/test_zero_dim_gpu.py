"""GPU sketches of 0-d outputs (a full reduction of a 1-D tensor, a scalar picked from one) build,
as TVM's sketches do by binding an extent-1 fused axis: every sketch and a tuned best, emulated,
match numpy on fresh random data."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule, te, topi
from tensorlang.autoschedule.prior import random_decisions
from tensorlang.autoschedule.records import to_config
from tensorlang.target.cuda import nvrtc


def full_sum(n):
    A = te.placeholder((n,), name="A")
    return [A, topi.sum(A)]


def full_max(n):
    A = te.placeholder((n,), name="A")
    return [A, topi.max(A)]


def scalar_pick(n):
    A = te.placeholder((n,), name="A")
    return [A, te.compute((), lambda: A[n - 1] + A[0], name="B")]


CASES = {"full_sum": (full_sum, np.sum), "full_max": (full_max, np.max),
         "scalar_pick": (scalar_pick, lambda a: a[-1] + a[0])}


def check(task, sch_args, ref, rng) -> None:
    sch, tensors = sch_args
    f = tl.build(sch, tensors, target=task.target)
    n = int(tensors[0].shape[0].value)
    a = rng.standard_normal(n).astype("float32")
    out = np.full((), np.nan, "float32")
    f(a, out)
    np.testing.assert_allclose(out, ref(a), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_gpu_sketch_of_a_zero_dim_output_matches_numpy(name):
    fn, ref = CASES[name]
    rng = np.random.default_rng()
    n = int(rng.integers(33, 5000))
    task = autoschedule.SearchTask(fn, (n,), target="cuda -emulate", name=f"zero_dim_{name}")
    plans = {p for s in task.sketches for _, p in s.plans}
    assert plans <= {"gflat", "gcross"} and "gflat" in plans
    rnd = random.Random(int(rng.integers(1 << 30)))
    for sketch in task.sketches:
        for _ in range(3):
            check(task, task.instantiate(to_config(sketch, random_decisions(task.slots(sketch), rnd))), ref, rng)


@pytest.mark.skipif(not nvrtc.nvrtc_available(), reason="NVRTC not installed (pip install '.[cuda]')")
def test_zero_dim_sketches_compile_for_sm90_as_one_block():
    task = autoschedule.SearchTask(full_sum, (4096,), target="cuda -arch=sm_90", name="zero_dim_sm90")
    rnd = random.Random(0)
    for sketch in task.sketches:
        m = tl.build(*task.instantiate(to_config(sketch, random_decisions(task.slots(sketch), rnd))),
                     target=task.target)
        (launch,) = m.plan.kernels
        assert launch.grid == (1, 1, 1)


def test_tuning_a_full_sum_builds_every_candidate_and_applies_the_best(tmp_path):
    # The r07 repro: every candidate used to fail to build (shared memory outside the kernel for
    # the cross-thread sketch, no bound loop for the flat one).
    log = str(tmp_path / "full_sum.json")
    task = autoschedule.SearchTask(func=full_sum, args=(4096,), target="cuda -emulate", name="zero_dim_tuned")
    task.tune(autoschedule.TuningOptions(num_measure_trials=4, verbose=0,
                                         measure_callbacks=[autoschedule.RecordToFile(log)]))
    results = [res for _, res in autoschedule.load_records(log)]
    assert len(results) == 4 and all(res.error_no == 0 for res in results), [r.error_msg for r in results]
    check(task, task.apply_best(log), np.sum, np.random.default_rng())
