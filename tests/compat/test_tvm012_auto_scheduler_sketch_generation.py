"""TVM 0.12's sketch-generation unit tests (test_auto_scheduler_sketch_generation.py, stored commit
3ecfbb71), the part that uses the loop-state API: a custom sketch rule.  Imports changed only
(``import tensorlang as tvm; from tensorlang import autoschedule as auto_scheduler``).

TVM's other tests there count and inspect its own sketches as loop states; tensorlang's own
sketches are per-stage plans (``SketchPolicy.generate_sketches`` lists the states custom rules
make), so they are not ported.  The port also builds both sketches and runs them against numpy."""

import numpy as np

import tensorlang as tvm
from tensorlang import autoschedule as auto_scheduler
from tensorlang.autoschedule import _ffi_api
from tensorlang.autoschedule.loop_state import Stage
from tensorlang.testing.auto_scheduler import matmul_auto_scheduler_test


def generate_sketches(
    workload_func, args, target, print_for_debug=False, init_search_callbacks=None
):
    # NOTE: test_cpu_matmul_sketch and test_cpu_max_pool2d_sketch assume 4 cores to trigger all
    # possible sketch generations.
    task = auto_scheduler.SearchTask(
        func=workload_func,
        args=args,
        target=target,
        hardware_params=auto_scheduler.HardwareParams(num_cores=4, target=target),
    )
    policy = auto_scheduler.SketchPolicy(
        task, verbose=0, init_search_callbacks=init_search_callbacks
    )
    return policy.generate_sketches(print_for_debug)


def assert_compute_at_condition(stage, condition):
    assert stage.compute_at == Stage.COMPUTE_AT_TRANS_TABLE[condition]


def assert_is_tiled(stage):
    assert _ffi_api.SearchPolicyUtilsIsTiled(stage)


def assert_is_not_tiled(stage):
    assert not _ffi_api.SearchPolicyUtilsIsTiled(stage)


def test_cpu_custom_sketch():
    def meet_condition_func(search_policy, state, stage_id):
        return auto_scheduler.PreloadCustomSketchRule.APPLY_AND_SKIP_REST

    def apply_func(search_policy, state, stage_id):
        ret = []
        state = auto_scheduler.loop_state.State(state, search_policy.search_task.compute_dag)
        C = state.stage_ops[2]

        ret.append([state.state_object, -1])

        s1 = state.copy()
        i, _, _ = s1[C].iters
        s1.split(C, i, [8, 2])
        ret.append([s1.state_object, -1])
        return ret

    sketches = generate_sketches(
        matmul_auto_scheduler_test,
        (512, 512, 512),
        "llvm",
        init_search_callbacks=[
            auto_scheduler.PreloadCustomSketchRule(meet_condition_func, apply_func)
        ],
    )
    assert len(sketches) == 2
    assert sketches[0].stages[2].iters[0].range.extent == 512
    assert sketches[0].stages[2].iters[1].range.extent == 512
    assert sketches[0].stages[2].iters[2].range.extent == 512
    assert sketches[1].stages[2].iters[0].range.extent == 32
    assert sketches[1].stages[2].iters[1].range.extent == 8
    assert sketches[1].stages[2].iters[2].range.extent == 2
    assert sketches[1].stages[2].iters[3].range.extent == 512
    assert sketches[1].stages[2].iters[4].range.extent == 512

    # tensorlang: the helpers the sketch tests use, and both sketches build (on a 64^3 matmul)
    assert_is_not_tiled(sketches[0].stages[2])
    assert_is_tiled(sketches[1].stages[2])
    assert_compute_at_condition(sketches[1].stages[2], "root")
    dag = auto_scheduler.ComputeDAG(matmul_auto_scheduler_test(64, 64, 64))
    rng = np.random.default_rng()
    a, b = (rng.standard_normal((64, 64)).astype("float32") for _ in range(2))
    for state in sketches:
        sch, args = dag.apply_steps_from_state(state)
        func = tvm.build(sch, args, "llvm")
        c = tvm.nd.empty((64, 64))
        func(tvm.nd.array(a), tvm.nd.array(b), c)
        np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4, atol=1e-4)
