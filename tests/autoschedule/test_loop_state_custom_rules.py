"""Custom sketch rules (``PreloadCustomSketchRule``) run over loop states: the sketches they make,
the search filling their undefined split lengths, records that replay without the rule, and the
``_ffi_api`` helpers such rules read states with."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule as auto_scheduler
from tensorlang import te, topi
from tensorlang.autoschedule import _ffi_api, prior
from tensorlang.autoschedule.loop_state import LoopStateError, State
from tensorlang.autoschedule.records import from_config, to_config
from tensorlang.autoschedule.sketch import CustomSketch

Rule = auto_scheduler.PreloadCustomSketchRule


def matmul_relu(n: int):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return [A, B, topi.nn.relu(C)]


def meet_matmul(search_policy, state, stage_id):
    state = State(state, search_policy.search_task.compute_dag)
    return Rule.APPLY_AND_SKIP_REST if state.stages[stage_id].op.name == "C" else Rule.PASS


def tile_into_relu(search_policy, state, stage_id):
    """The sparse tutorial's rule, for a dense matmul: tile it, and compute each tile in the
    tiles of its elementwise consumer, which follow its splits."""
    task = search_policy.search_task
    s = State(state, task.compute_dag)
    C = s.stages[stage_id].op
    consumers = _ffi_api.SearchPolicyUtilsGetConsumers(task, s.state_object, stage_id)
    assert len(consumers) == 1
    consumer_id = int(consumers.items()[0][0])
    assert _ffi_api.SearchPolicyUtilsIsElementwiseMatch(task, s.state_object, stage_id, consumer_id)
    out = s.stages[consumer_id].op
    i, j, k = s[C].iters
    m, n = s[out].iters
    i0, i1 = s.split(C, i, [None])
    m0, m1 = s.follow_split(out, m, len(s.transform_steps) - 1, 1)
    j0, j1 = s.split(C, j, [None])
    n0, n1 = s.follow_split(out, n, len(s.transform_steps) - 1, 1)
    s.reorder(C, [i0, j0, k, i1, j1])
    s.reorder(out, [m0, n0, m1, n1])
    s.compute_at(C, out, n0)
    return [[s.state_object, stage_id - 1]]


def _task(n=32):
    return auto_scheduler.SearchTask(func=matmul_relu, args=(n,), target="llvm")


def test_a_rule_that_skips_the_rest_makes_the_only_sketches_and_the_search_fills_its_lengths():
    task = _task()
    policy = auto_scheduler.SketchPolicy(task, init_search_callbacks=[Rule(meet_matmul, tile_into_relu, "Tile")])
    (sketch,) = policy.search.sketches
    assert isinstance(sketch, CustomSketch) and sketch.rule == "Tile"
    assert [sl.name for sl in task.slots(sketch)] == ["custom.s0", "custom.s2", "custom.parallel", "custom.vectorize"]
    (state,) = policy.generate_sketches()
    assert state[state.stage_ops[2]].compute_at == 2 and state.stages[2].iters[0].range is None

    rng = np.random.default_rng()
    a, b = (rng.standard_normal((32, 32)).astype("float32") for _ in range(2))
    for seed in range(3):
        d = prior.random_decisions(task.slots(sketch), random.Random(seed))
        config = to_config(sketch, d)
        # a record replays from its text alone: the steps and decisions are in the sketch knob
        again, d2 = from_config(config)
        assert again == sketch and d2 == d
        sch, args = task.instantiate(config)
        func = tl.build(sch, args, "llvm")
        out = tl.nd.empty((32, 32))
        func(tl.nd.array(a), tl.nd.array(b), out)
        np.testing.assert_allclose(out.numpy(), np.maximum(a @ b, 0), rtol=1e-4, atol=1e-4)
    code = task.python_code_of(config)
    assert "s[C].compute_at(s[T_relu], T_relu_j_outer)" in code

    # TVM's tune(tuning_options, search_policy): the policy is the second argument
    assert task.tune(auto_scheduler.TuningOptions(num_measure_trials=0, verbose=0), policy) is policy.search


def test_a_rule_that_applies_adds_its_sketches_to_tensorlangs():
    task = _task()

    def meet(search_policy, state, stage_id):
        return Rule.APPLY if meet_matmul(search_policy, state, stage_id) else Rule.PASS

    policy = auto_scheduler.SketchPolicy(task, init_search_callbacks=[Rule(meet, tile_into_relu, "Tile")])
    custom = [s for s in policy.search.sketches if isinstance(s, CustomSketch)]
    assert len(custom) == 1 and policy.search.sketches[:-1] == task.sketches


def test_what_a_rule_may_not_do():
    task = _task()

    def bad_answer(search_policy, state, stage_id):
        return 7

    with pytest.raises(LoopStateError, match="meet_condition_func returned 7"):
        auto_scheduler.SketchPolicy(task, init_search_callbacks=[Rule(bad_answer, tile_into_relu, "Bad")])

    def junk(search_policy, state, stage_id):
        return "a state"

    with pytest.raises(LoopStateError, match=r"Junk: apply_func must return \[\[state, next_stage_id\], \.\.\.\]"):
        auto_scheduler.SketchPolicy(task, init_search_callbacks=[Rule(meet_matmul, junk, "Junk")])

    def mixed(search_policy, state, stage_id):
        s = State(state, search_policy.search_task.compute_dag)
        s.split(stage_id, s.stages[stage_id].iters[0], [None, 4])
        return [s.state_object, stage_id - 1]

    with pytest.raises(LoopStateError, match=r"step 0 splits with lengths \[None, 4\]"):
        auto_scheduler.SketchPolicy(task, init_search_callbacks=[Rule(meet_matmul, mixed, "Mixed")])


def test_ffi_helpers_read_a_state():
    task = _task()
    dag = task.compute_dag
    s = dag.get_init_state()
    A = te.placeholder((4, 4), name="A")
    B = te.compute((4, 4), lambda i, j: A[i, j] * 2, name="B")
    C = te.compute((4, 4), lambda i, j: B[i, j] + 1, name="C")
    D = te.compute((4, 4), lambda i, j: C[j, i], name="D")
    chain = auto_scheduler.SearchTask(func=lambda: [A, D], args=(), target="llvm", name="chain")
    t = chain.compute_dag.get_init_state()
    assert dict(_ffi_api.SearchPolicyUtilsGetConsumers(chain, t.state_object, 1)) == {2: 2}
    t.compute_inline(2)
    assert dict(_ffi_api.SearchPolicyUtilsGetConsumers(chain, t.state_object, 1)) == {3: 3}  # through C
    assert _ffi_api.SearchPolicyUtilsIsElementwiseMatch(chain, t.state_object, 1, 2)
    assert not _ffi_api.SearchPolicyUtilsIsElementwiseMatch(chain, t.state_object, 1, 3)  # D transposes
    assert not _ffi_api.SearchPolicyUtilsIsTiled(s.stages[2])
    with pytest.raises(tl.TVMError, match="SearchPolicyUtilsHasCacheReadStage: tensorlang does not provide"):
        _ffi_api.SearchPolicyUtilsHasCacheReadStage(s.state_object, 2)
