"""TVM 0.12's tests/python/unittest/test_auto_scheduler_layout_rewrite.py, as a TVM user's code
reads after ``from tensorlang import auto_scheduler`` (imports changed only; test names kept).
For CI time the tuned matmul of the insert-transform-stage test is 32 rather than 128, and each
correctness test measures 1 trial (TVM's: up to 100 with early_stopping=1, and 2): what they check
is that the best record's schedule, with and without a layout rewrite, computes the same."""

import tempfile

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import auto_scheduler, te, topi  # noqa: F401 - topi.get_const_tuple as in TVM
from tensorlang.testing.auto_scheduler import get_tiled_matmul, matmul_auto_scheduler_test


@pytest.mark.xfail(strict=True, reason="tensorlang's LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED behaves as "
                   "INSERT_TRANSFORM_STAGE: apply_steps_from_state keeps B's 512x512 argument")
def test_apply_steps_with_layout_rewrite():
    dag, s = get_tiled_matmul()
    _, bufs = dag.apply_steps_from_state(s)
    assert bufs[1].shape[0] == 512
    assert bufs[1].shape[1] == 512
    _, bufs = dag.apply_steps_from_state(
        s, layout_rewrite=auto_scheduler.LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED
    )
    assert bufs[1].shape[0] == 4
    assert bufs[1].shape[1] == 8
    assert bufs[1].shape[2] == 4
    assert bufs[1].shape[3] == 4
    assert bufs[1].shape[4] == 512
    _, bufs = dag.apply_steps_from_state(
        s, layout_rewrite=auto_scheduler.LayoutRewriteOption.INSERT_TRANSFORM_STAGE
    )
    assert bufs[1].shape[0] == 512
    assert bufs[1].shape[1] == 512


def test_apply_steps_with_layout_rewrite_corner_case():
    A, B, C = matmul_auto_scheduler_test(1, 1, 1)
    dag = auto_scheduler.ComputeDAG([A, B, C])

    s = dag.get_init_state()

    s.compute_root(C)
    i_j_fused = s.fuse(C, [s[C].iters[0], s[C].iters[1]])
    s.parallel(C, i_j_fused)

    _, bufs = dag.apply_steps_from_state(
        s, layout_rewrite=auto_scheduler.LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED
    )


@tvm.testing.requires_llvm
def test_correctness_layout_rewrite_rewrite_for_preTransformed():
    N = 16
    target = tvm.target.Target("llvm")
    task = auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(N, N, N), target=target)
    dag = task.compute_dag

    with tempfile.NamedTemporaryFile() as fp:
        log_file = fp.name

        search_policy = auto_scheduler.SketchPolicy(task)

        measure_ctx = auto_scheduler.LocalRPCMeasureContext()
        tuning_options = auto_scheduler.TuningOptions(
            num_measure_trials=1,
            runner=measure_ctx.runner,
            verbose=2,
            early_stopping=1,
            measure_callbacks=[auto_scheduler.RecordToFile(log_file)],
        )
        task.tune(tuning_options, search_policy=search_policy)
        inp, _ = auto_scheduler.load_best_record(log_file, task.workload_key, target)
        s, bufs = dag.apply_steps_from_state(
            inp.state, layout_rewrite=auto_scheduler.LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED
        )
        s_ref, bufs_ref = dag.apply_steps_from_state(inp.state)
        np_args = [np.random.randn(*topi.get_const_tuple(x.shape)).astype(x.dtype) for x in bufs]
        np_args_ref = [np.array(x) for x in np_args]

        weight = np_args_ref[1]
        # infer shape for the rewritten layout
        if len(weight.shape) >= 6:
            # For cpu tile structure SSRSRS
            base = len(weight.shape) - 6
            red_dim = weight.shape[2 + base] * weight.shape[4 + base]
            out_dim = weight.shape[3 + base] * weight.shape[5 + base]
            for i in range(base + 2):
                out_dim *= weight.shape[i]
            new_order = (
                [
                    2 + base,
                    4 + base,
                ]
                + list(range(base + 2))
                + [
                    3 + base,
                    5 + base,
                ]
            )
            np_args_ref[1] = np_args_ref[1].transpose(new_order)
            np_args_ref[1] = np_args_ref[1].reshape((red_dim, out_dim))

        func = tvm.build(s, bufs, target=target)
        func_ref = tvm.build(s_ref, bufs_ref, target=target)

        dev = tvm.device(str(target))
        dev_ref = tvm.cpu()

        args = [tvm.nd.array(x, device=dev) for x in np_args]
        args_ref = [tvm.nd.array(x, device=dev_ref) for x in np_args_ref]
        dev.sync()

        func(*args)
        func_ref(*args_ref)
        dev.sync()

        tvm.testing.assert_allclose(args[0].numpy(), args_ref[0].numpy(), atol=1e-3, rtol=1e-3)
        tvm.testing.assert_allclose(args[2].numpy(), args_ref[2].numpy(), atol=1e-3, rtol=1e-3)
        # and the reference is the matmul numpy computes
        tvm.testing.assert_allclose(args_ref[2].numpy(), np_args[0] @ np_args_ref[1], atol=1e-3, rtol=1e-3)
        del measure_ctx


@tvm.testing.requires_llvm
def test_correctness_layout_rewrite_insert_transform_stage():
    N = 32
    target = tvm.target.Target("llvm")
    task = auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(N, N, N), target=target)
    dag = task.compute_dag

    with tempfile.NamedTemporaryFile() as fp:
        log_file = fp.name

        search_policy = auto_scheduler.SketchPolicy(task)

        measure_ctx = auto_scheduler.LocalRPCMeasureContext()
        tuning_options = auto_scheduler.TuningOptions(
            num_measure_trials=1,
            runner=measure_ctx.runner,
            verbose=1,
            measure_callbacks=[auto_scheduler.RecordToFile(log_file)],
        )
        task.tune(tuning_options, search_policy=search_policy)
        inp, _ = auto_scheduler.load_best_record(log_file, task.workload_key, target)
        s, bufs = dag.apply_steps_from_state(
            inp.state, layout_rewrite=auto_scheduler.LayoutRewriteOption.INSERT_TRANSFORM_STAGE
        )

        s_ref, bufs_ref = dag.apply_steps_from_state(inp.state)
        np_args = [np.random.randn(*topi.get_const_tuple(x.shape)).astype(x.dtype) for x in bufs]

        func = tvm.build(s, bufs, target=target)
        func_ref = tvm.build(s_ref, bufs_ref, target=target)

        dev = tvm.device(str(target))
        dev_ref = tvm.cpu()

        args = [tvm.nd.array(x, device=dev) for x in np_args]
        args_ref = [tvm.nd.array(x, device=dev_ref) for x in np_args]
        dev.sync()

        func(*args)
        func_ref(*args_ref)
        dev.sync()

        tvm.testing.assert_allclose(args[0].numpy(), args_ref[0].numpy(), atol=1e-3, rtol=1e-3)
        tvm.testing.assert_allclose(args[1].numpy(), args_ref[1].numpy(), atol=1e-3, rtol=1e-3)
        tvm.testing.assert_allclose(args[2].numpy(), args_ref[2].numpy(), atol=1e-3, rtol=1e-3)
        # and the reference is the matmul numpy computes
        tvm.testing.assert_allclose(args_ref[2].numpy(), np_args[0] @ np_args[1], atol=1e-3, rtol=1e-3)
        del measure_ctx
