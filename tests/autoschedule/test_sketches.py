"""Sketches of typical computations lower, build and match numpy, on the CPU and an emulated GPU."""

from __future__ import annotations

import random
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te
from tensorlang.autoschedule import ComputeDAG, SearchTask, SketchError, apply_sketch
from tensorlang.autoschedule.files import tasks_from_module
from tensorlang.autoschedule.prior import mutate, prior_score, random_decisions
from tensorlang.autoschedule.records import to_config
from tensorlang.target.cuda import nvrtc
from tests.autoschedule.workloads import WORKLOADS


def _shape(t):
    return [int(d.value) for d in t.shape]


def check(task: SearchTask, config, rng: np.random.Generator) -> None:
    """Build ``config`` of ``task`` for its target and compare the output with numpy."""
    sch, tensors = task.instantiate(config)
    f = tl.build(sch, tensors, target=task.target)
    inputs = [rng.uniform(-1, 1, _shape(t)).astype("float32") for t in tensors[:-1]]
    out = np.full(_shape(tensors[-1]), np.nan, dtype="float32")
    f(*inputs, out)
    ref = WORKLOADS[task.name.removeprefix("auto/")][2](*inputs)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4, err_msg=f"{task.name} {config}")


def best_by_prior(task: SearchTask, sketch, n: int = 64, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    slots = task.slots(sketch)
    cands = [random_decisions(slots, rnd) for _ in range(n)]
    return max(cands, key=lambda d: prior_score(task.dag, sketch, d, task.hardware))


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_cpu_sketch_matches_numpy(name):
    fn, args, _ = WORKLOADS[name]
    task = SearchTask(fn, args, target="llvm", name=name)
    rng = np.random.default_rng()
    for sketch in task.sketches:
        check(task, to_config(sketch, best_by_prior(task, sketch)), rng)


@pytest.mark.parametrize("name", ["matmul", "conv2d", "depthwise", "softmax", "elementwise", "batch_matmul"])
def test_gpu_sketch_matches_numpy_emulated(name):
    fn, args, _ = WORKLOADS[name]
    task = SearchTask(fn, args, target="cuda -emulate", name=name)
    sketch = task.sketches[0]
    assert any(p.partition("@")[0] in ("gtile", "gflat", "gcross") for _, p in sketch.plans)
    check(task, to_config(sketch, best_by_prior(task, sketch)), np.random.default_rng())


@pytest.mark.parametrize("name", ["softmax", "layer_norm", "row_sum"])
def test_gpu_cross_thread_sketches_match_numpy_emulated(name):
    # Long reductions without reuse: a block per row, threads combined by an all-reduce, alone
    # or inside the rows of the output; every mix with one-thread-a-row reductions.
    fn, args, _ = WORKLOADS[name]
    task = SearchTask(fn, args, target="cuda -emulate", name=name)
    plans = [dict(s.plans) for s in task.sketches]
    reductions = [info.key for info in task.dag.stages if info.is_reduction]
    if name == "row_sum":
        assert plans[0] == {"S": "gcross"}
    else:
        assert plans[0]["out"] == "grows" and all(plans[0][k] == "gcross@out" for k in reductions)
    assert any(all(p != "gcross" and not p.startswith("gcross@") for p in plan.values()) for plan in plans)
    rng = np.random.default_rng()
    for sketch in task.sketches:
        check(task, to_config(sketch, best_by_prior(task, sketch)), rng)


@pytest.mark.skipif(not nvrtc.nvrtc_available(), reason="NVRTC not installed (pip install '.[cuda]')")
def test_gpu_cross_thread_sketch_compiles_to_warp_shuffles():
    fn, args, _ = WORKLOADS["softmax"]
    task = SearchTask(fn, args, target="cuda -arch=sm_90", name="softmax")
    sketch = task.sketches[0]
    m = tl.build(*task.instantiate(to_config(sketch, best_by_prior(task, sketch))), target=task.target)
    assert "shfl.sync" in m.get_source("ptx")
    assert len(m.compiled.resources) == 1  # max, sum and output in one kernel
    assert all(r.spill_bytes == 0 for r in m.compiled.resources.values())


def test_gpu_tile_stages_inputs_in_shared_memory():
    fn, args, _ = WORKLOADS["matmul"]
    task = SearchTask(fn, args, target="cuda -emulate", name="matmul")
    sketch = task.sketches[0]
    sch, tensors = task.instantiate(to_config(sketch, best_by_prior(task, sketch)))
    text = str(tl.lower(sch, tensors))
    assert "shared" in text and "threadIdx.x" in text and "blockIdx.x" in text


def test_gpu_flat_reduction_accumulates_in_a_register():
    # softmax's max and sum: one thread a row, the running value in a local, stored once.
    fn, args, _ = WORKLOADS["softmax"]
    task = SearchTask(fn, args, target="cuda -emulate", name="softmax")
    sketch = next(s for s in task.sketches if dict(s.plans)["mx"] == dict(s.plans)["s"] == "gflat")
    config = to_config(sketch, best_by_prior(task, sketch))
    text = str(tl.lower(*task.instantiate(config)))
    assert "mx.local" in text and "s.local" in text
    check(task, config, np.random.default_rng())


# conv2d smaller than WORKLOADS' (the same sketches; random tiles still overhang its axes): a
# random tiled candidate of the larger one took up to 14 s to lower.
_MUTATED_ARGS = {"conv2d": (1, 4, 8, 8, 8, 3, 1)}
_CPU_TASKS = {name: SearchTask(WORKLOADS[name][0], _MUTATED_ARGS.get(name, WORKLOADS[name][1]), "llvm", name=name)
              for name in ("matmul", "conv2d", "softmax", "layer_norm", "row_sum", "depthwise")}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(_CPU_TASKS)), seed=st.integers(0, 2**16), steps=st.integers(1, 6))
def test_mutated_candidates_match_numpy(name, seed, steps):
    task = _CPU_TASKS[name]
    rnd = random.Random(seed)
    sketch = rnd.choice(task.sketches)
    slots = task.slots(sketch)
    d = random_decisions(slots, rnd)
    for _ in range(steps):
        d = mutate(d, slots, rnd)
    check(task, to_config(sketch, d), np.random.default_rng(seed))


def matmul_relu():
    A = te.placeholder((64, 32), name="A")
    B = te.placeholder((32, 48), name="B")
    k = te.reduce_axis((0, 32), name="k")
    C = te.compute((64, 48), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return [A, B, te.compute((64, 48), lambda i, j: te.max(C[i, j], 0.0), name="D")]


def test_rules_pick_the_expected_structure():
    task = SearchTask(matmul_relu, target="llvm")
    assert [dict(s.plans) for s in task.sketches] == [{"C": "ptile>D", "D": "outer"}, {"C": "tile>D", "D": "outer"}]
    conv = SearchTask(*WORKLOADS["conv2d"][:2], target="llvm", name="conv2d")
    assert [dict(s.plans) for s in conv.sketches[:2]] == [{"Xpad": "root", "Y": "lanes"},
                                                          {"Xpad": "inline", "Y": "tile"}]
    soft = SearchTask(*WORKLOADS["softmax"][:2], target="llvm", name="softmax")
    plans = [dict(s.plans) for s in soft.sketches]
    assert all(p["out"] == "rows" and p["mx"].endswith("@out") for p in plans)
    assert {p["s"] for p in plans} == {"rfactor@out", "simple@out"}
    assert {p["e"] for p in plans} == {"inline", "at@out"}     # exp once per row, or once per consumer
    small = SearchTask(*WORKLOADS["row_sum"][:2], target="llvm", name="row_sum")
    assert {dict(s.plans)["S"] for s in small.sketches} == {"rfactor", "simple"}


def test_fused_matmul_relu_matches_numpy():
    task = SearchTask(matmul_relu, target="llvm")
    sketch = task.sketches[0]
    sch, tensors = task.instantiate(to_config(sketch, best_by_prior(task, sketch)))
    f = tl.build(sch, tensors)
    rng = np.random.default_rng()
    a, b = rng.standard_normal((64, 32)).astype("float32"), rng.standard_normal((32, 48)).astype("float32")
    d = np.empty((64, 48), "float32")
    f(a, b, d)
    np.testing.assert_allclose(d, np.maximum(a @ b, 0), rtol=1e-4, atol=1e-4)


def test_bad_computations_get_clear_errors():
    n = te.var("n")

    def symbolic():
        A = te.placeholder((n,), name="A")
        return [A, te.compute((n,), lambda i: A[i] * 2.0, name="B")]
    with pytest.raises(SketchError, match="symbolic"):
        SearchTask(symbolic)
    with pytest.raises(SketchError, match="list of tensors"):
        SearchTask(lambda: 3)
    with pytest.raises(SketchError, match="no computed tensor"):
        SearchTask(lambda: [te.placeholder((4,), name="A")])
    # In a file for `tensorlang tune --auto`, the error says which computation it was.
    module = types.ModuleType("comps")
    module.computations = lambda: {"fine": WORKLOADS["matmul"][:2], "sym": (symbolic, ())}
    with pytest.raises(SketchError, match=r"comps\.py: computation 'sym': .*symbolic"):
        tasks_from_module(module, "comps.py", "llvm")


def test_a_decision_out_of_range_is_an_instantiation_error():
    from tensorlang.autotune.space import InstantiationError
    task = SearchTask(*WORKLOADS["matmul"][:2], target="llvm", name="matmul")
    sketch = task.sketches[0]
    d = best_by_prior(task, sketch)
    d["C.s0"] = [3, 1, 1, 1]
    with pytest.raises(InstantiationError, match="C.s0"):
        apply_sketch(ComputeDAG(task._tensors()), sketch, d, task.hardware)


def test_rows_streamed_from_memory_prefetch_the_next_row():
    from tensorlang.autoschedule.records import from_config
    from tensorlang.autoschedule.search import SketchSearch
    from tests.autoschedule.workloads import softmax
    big = SearchTask(softmax, (1024, 1024), "llvm", name="softmax")   # 4 MB: more than L2 holds
    first = [from_config(c) for c in SketchSearch(big, seed=0).next_batch(8)]
    assert sum(d["out.prefetch"] == 1 for _, d in first) >= len(first) - 2
    sketch, d = next((sk, d) for sk, d in first if dict(sk.plans)["e"] == "at@out" and d["out.prefetch"])
    d = {**d, "out.pipeline": 0}
    sch, args = big.instantiate(to_config(sketch, d))
    # The row's exp loop (the stage computed at the row) carries the pragma, one row ahead.
    assert "pragma_prefetch=1024" in str(tl.lower(sch, args))
    x = np.random.default_rng().standard_normal((1024, 1024)).astype("float32")
    x[3, :] = -np.inf                       # a row of -inf: NaN as numpy gives
    x[5, 7] = np.nan
    out = np.empty_like(x)
    tl.build(sch, args, target="llvm")(x, out)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(out, WORKLOADS["softmax"][2](x), rtol=1e-5, atol=1e-7)
    # A record written before the prefetch decision existed replays without it.
    old = {k: v for k, v in d.items() if k != "out.prefetch"}
    assert "pragma_prefetch" not in str(tl.lower(*big.instantiate(to_config(sketch, old))))
    # Rows that stay in cache: the prior prefers no prefetch (for the big one it prefers it).
    small = SearchTask(softmax, (16, 64), "llvm", name="softmax")
    for task, want in ((small, 0), (big, 1)):
        sk = task.sketches[0]
        d = random_decisions(task.slots(sk), random.Random(1))
        scores = {p: prior_score(task.dag, sk, {**d, "out.prefetch": p}, task.hardware) for p in (0, 1)}
        assert max(scores, key=scores.get) == want


def test_pipelined_rows_prefetch_two_rows_ahead_and_match_numpy():
    from tensorlang.autoschedule.records import from_config
    from tensorlang.autoschedule.search import SketchSearch
    from tests.autoschedule.workloads import softmax
    big = SearchTask(softmax, (1030, 1024), "llvm", name="softmax")  # 103 chunks of 10 rows
    first = [from_config(c) for c in SketchSearch(big, seed=0).next_batch(8)]
    sketch, d = next((sk, d) for sk, d in first if dict(sk.plans)["e"] == "at@out")
    d = {**d, "out.prefetch": 1, "out.pipeline": 1, "out.rows": [103, 10]}
    sch, args = big.instantiate(to_config(sketch, d))
    text = str(tl.lower(sch, args))
    assert ".pipe" in text and "pragma_prefetch=2048" in text
    x = np.random.default_rng().standard_normal((1030, 1024)).astype("float32")
    x[0, :] = -np.inf                       # the first row (the prologue's) and the last (the epilogue's)
    x[1029, 3] = np.nan
    x[9:11] *= 50                           # the rows either side of a chunk boundary
    out = np.empty_like(x)
    tl.build(sch, args, target="llvm")(x, out)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(out, WORKLOADS["softmax"][2](x), rtol=1e-5, atol=1e-7)
    # Pipelining only changes when each row's output is written.
    plain = np.empty_like(x)
    tl.build(*big.instantiate(to_config(sketch, {**d, "out.pipeline": 0})), target="llvm")(x, plain)
    np.testing.assert_array_equal(out, plain)


def test_the_prior_prefers_long_chunks_of_pipelined_rows():
    # Each chunk of rows fills and drains its pipeline once; unpipelined, short chunks are fine.
    from tests.autoschedule.workloads import softmax
    task = SearchTask(softmax, (4096, 4096), "llvm", name="softmax")
    sk = next(sk for sk in task.sketches if dict(sk.plans)["e"] == "at@out")
    base = random_decisions(task.slots(sk), random.Random(2))
    for pipelined, want in ((1, 64), (0, 4)):
        d = {**base, "out.prefetch": 1, "out.pipeline": pipelined}
        scores = {r: prior_score(task.dag, sk, {**d, "out.rows": [4096 // r, r]}, task.hardware)
                  for r in (4, 16, 64)}
        assert max(scores, key=scores.get) == want, scores


@pytest.mark.parametrize("n,m,lanes", [(5, 200, 8), (4, 96, 64), (3, 7, 7)])  # 96 lanes go as 64 + 32
def test_a_reduction_of_row_dependent_length_keeps_lanes_inside_it(n, m, lanes):
    # P[i, j] sums A[0..i, j]: the reduction's range depends on i, so j (whole, or in blocks of
    # lanes) runs inside it as vector lanes on a local accumulator.
    from tests.autoschedule.workloads import prefix_sum
    task = SearchTask(prefix_sum, (n, m), target="llvm", name="prefix_sum")
    (sketch,) = task.sketches
    assert sketch.name == "P=simple" and task.dag["P"].dynamic_reduce
    sch, tensors = task.instantiate(to_config(sketch, {}))
    text = str(tl.lower(sch, tensors, simple_mode=True))
    assert f"ramp(0, 1, {lanes})" in text
    a = np.random.default_rng().uniform(-1, 1, (n, m)).astype("float32")
    out = np.full((n, m), np.nan, "float32")
    tl.build(sch, tensors)(a, out)
    np.testing.assert_allclose(out, np.cumsum(a, axis=0), rtol=1e-5, atol=1e-5)


def test_the_prior_never_proposes_more_than_eight_virtual_threads_a_gpu_tile():
    # Each virtual thread copies the thread's body: a 997-row tile given 997 of them took 20 s
    # to build (TVM caps them with max_vthread_extent, 8).
    task = SearchTask(WORKLOADS["matmul"][0], (64, 32, 64), target="cuda -emulate")
    (sketch,) = task.sketches
    best = best_by_prior(task, sketch, n=256)
    assert prior_score(task.dag, sketch, best, task.hardware) > -50
    many = {**best, "C.s0": [1, 16, 4, 1], "C.s1": [2, 1, 32, 1]}
    few = {**best, "C.s0": [2, 8, 4, 1], "C.s1": [2, 1, 32, 1]}
    assert prior_score(task.dag, sketch, many, task.hardware) <= -50
    assert prior_score(task.dag, sketch, few, task.hardware) > -50
    assert all(b[1] <= 8 for b in (best["C.s0"], best["C.s1"]))
