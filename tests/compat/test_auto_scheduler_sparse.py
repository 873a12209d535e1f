"""TVM 0.12's tune_sparse_x86.py tutorial with the imports changed (smaller sizes, fewer trials):
a BSR ``topi.nn.sparse_dense`` + bias + relu, its sparse arrays passed as ``task_inputs`` under
TVM's "sparse_dense_bsr_..." names, a SketchPolicy with the tutorial's custom sketch rule (its
sketch is the only one searched), and the tuned function checked against numpy on the same sparse
matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import tensorlang as tvm
from tensorlang import autoschedule as auto_scheduler
from tensorlang import runtime, te, topi
from tensorlang.autoschedule import _ffi_api


@auto_scheduler.register_workload
def sparse_dense(M, N, K, w_data_shape, w_indices_shape, w_indptr_shape, dtype):
    X = te.placeholder(shape=(M, K), dtype=dtype)
    W_data = te.placeholder(shape=w_data_shape, dtype=dtype)
    W_indices = te.placeholder(shape=w_indices_shape, dtype="int32")
    W_indptr = te.placeholder(shape=w_indptr_shape, dtype="int32")
    B = te.placeholder(shape=(M, N), dtype=dtype)
    out = topi.nn.sparse_dense(topi.nn.relu(X), W_data, W_indices, W_indptr)
    out = te.compute((M, N), lambda i, j: out[i, j] + B[i, j], name="BiasAdd")
    out = topi.nn.relu(out)
    return [X, W_data, W_indices, W_indptr, B, out]


def _random_bsr(n, k, bs_r, bs_c, density, seed):
    """A BSR matrix with about ``density`` of its blocks nonzero (scipy's own BSR arrays)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n // bs_r, k // bs_c)) < density
    dense = np.kron(mask, np.ones((bs_r, bs_c))) * rng.standard_normal((n, k))
    return scipy.sparse.bsr_matrix(dense.astype("float32"), blocksize=(bs_r, bs_c))


def test_tune_sparse_x86(tmp_path):
    M, N, K, BS_R, BS_C, density = 32, 64, 48, 16, 1, 0.4
    target = tvm.target.Target("llvm")
    W_sp_np = _random_bsr(N, K, BS_R, BS_C, density, seed=1)
    prefix = "sparse_dense_bsr_%d_%d_%d_%d_%d_%d_" % (  # noqa: UP031 - the tutorial's own line
        N, K, BS_R, BS_C, W_sp_np.indices.shape[0], W_sp_np.indptr.shape[0])
    task = auto_scheduler.SearchTask(
        func=sparse_dense,
        args=(M, N, K, W_sp_np.data.shape, W_sp_np.indices.shape, W_sp_np.indptr.shape, "float32"),
        target=target,
        task_inputs={
            prefix + "W_data": runtime.ndarray.array(W_sp_np.data),
            prefix + "W_indices": runtime.ndarray.array(W_sp_np.indices),
            prefix + "W_indptr": runtime.ndarray.array(W_sp_np.indptr),
        },
        task_inputs_save_to_file=True,
    )
    assert "T_sparse_dense_block" in str(task.compute_dag)
    log_file = str(tmp_path / "sparse_dense.json")
    tune_option = auto_scheduler.TuningOptions(
        num_measure_trials=4, measure_callbacks=[auto_scheduler.RecordToFile(log_file)], verbose=0)

    def meet_condition_func(search_policy, state, stage_id):
        state = auto_scheduler.loop_state.State(state, search_policy.search_task.compute_dag)
        if state.stages[stage_id].op.tag in [
            "sparse_dense_sp_rhs_bsrmm",
            "sparse_dense_sp_rhs_bsrmm_block",
        ]:
            return auto_scheduler.PreloadCustomSketchRule.APPLY_AND_SKIP_REST
        else:
            return auto_scheduler.PreloadCustomSketchRule.PASS

    def apply_func(search_policy, state, stage_id):
        ret = []
        s0 = auto_scheduler.loop_state.State(state, search_policy.search_task.compute_dag)
        if s0.stages[stage_id].op.tag == "sparse_dense_sp_rhs_bsrmm_block":
            return [s0.state_object, stage_id - 1]

        sparse_dense = s0.stages[stage_id].op
        sparse_dense_block = s0.stages[stage_id - 1].op
        assert sparse_dense.tag == "sparse_dense_sp_rhs_bsrmm"
        assert sparse_dense_block.tag == "sparse_dense_sp_rhs_bsrmm_block"

        # Set the default consumer of compute block
        consumer = sparse_dense

        # If sparse dense has a single elementwise consumer
        # We can compute inline the sparse_dense output stage
        consumers = _ffi_api.SearchPolicyUtilsGetConsumers(
            search_policy.search_task, s0.state_object, stage_id
        )
        if len(consumers) == 1:
            consumer_id = int(consumers.items()[0][0])
            if _ffi_api.SearchPolicyUtilsIsElementwiseMatch(
                search_policy.search_task, s0.state_object, stage_id, consumer_id
            ):
                consumer = s0.stages[consumer_id].op
                s0.compute_inline(sparse_dense)

        i, nb_j, j, row_offset, c = s0[sparse_dense_block].iters
        m, n = s0[consumer].iters
        i0, i1, i2 = s0.split(sparse_dense_block, i, [None, None])
        m0, m1 = s0.follow_split(consumer, m, len(s0.transform_steps) - 1, 1)
        j0, j1 = s0.split(sparse_dense_block, nb_j, [None])
        n0, n1 = s0.follow_split(consumer, n, len(s0.transform_steps) - 1, 1)
        s0.reorder(sparse_dense_block, [i0, j0, i1, j1, row_offset, i2, j, c])
        s0.reorder(consumer, [m0, n0, m1, n1])
        s0.compute_at(sparse_dense_block, consumer, n0)

        ret.append([s0.state_object, stage_id - 2])

        return ret

    search_policy = auto_scheduler.SketchPolicy(
        task,
        program_cost_model=auto_scheduler.XGBModel(),
        init_search_callbacks=[
            auto_scheduler.PreloadCustomSketchRule(meet_condition_func, apply_func, "SparseDense")
        ],
    )
    task.tune(tune_option, search_policy)
    sch, args = task.apply_best(log_file)
    func = tvm.build(sch, args, target)

    rng = np.random.default_rng()
    X_np = rng.standard_normal((M, K)).astype("float32")
    B_np = rng.standard_normal((M, N)).astype("float32")
    Y_np = np.maximum(np.maximum(X_np, 0) @ W_sp_np.T.toarray() + B_np, 0)
    dev = tvm.cpu()
    Y_tvm = tvm.nd.empty(Y_np.shape, device=dev)
    func(tvm.nd.array(X_np, device=dev), tvm.nd.array(W_sp_np.data, device=dev),
         tvm.nd.array(W_sp_np.indices, device=dev), tvm.nd.array(W_sp_np.indptr, device=dev),
         tvm.nd.array(B_np, device=dev), Y_tvm)
    tvm.testing.assert_allclose(Y_np, Y_tvm.numpy(), atol=1e-4, rtol=1e-4)
    # the rule's sketch, the only one searched: the block computed inside the tiles of the output
    text = task.print_best(log_file)
    assert "custom:SparseDense" in text and "s[T_sparse_dense_block].compute_at(s[T_relu]" in text


def test_task_inputs_are_checked_against_the_inputs():
    W = _random_bsr(32, 16, 16, 1, 0.5, seed=2)
    args = (8, 32, 16, W.data.shape, W.indices.shape, W.indptr.shape, "float32")
    with pytest.raises(tvm.TensorLangError, match="not an input the computation function returns"):
        auto_scheduler.SearchTask(func=sparse_dense, args=args, task_inputs={"W_data": W.data})
    prefix = f"sparse_dense_bsr_32_16_16_1_{W.indices.shape[0]}_{W.indptr.shape[0]}_"
    with pytest.raises(tvm.TensorLangError, match=r"task_inputs\['.*W_indices'\] is int64.*but that input is int32"):
        auto_scheduler.SearchTask(func=sparse_dense, args=args,
                                  task_inputs={prefix + "W_indices": W.indices.astype("int64")})


def test_the_command_line_tunes_a_scripts_sparse_task_on_its_task_inputs(tmp_path, capsys):
    # `tensorlang tune --auto` re-makes a script's top-level tasks for its --target: the sparse
    # matrix the script fixed must come along, or every candidate reads random pointers (here column
    # indices up to 7 of a 4-column matrix: a BoundsError).
    from tensorlang.autotune import record
    from tensorlang.cli import main
    path = tmp_path / "sparse_script.py"
    path.write_text(
        "import numpy as np, scipy.sparse\n"
        "from tensorlang import auto_scheduler, te, topi\n"
        "@auto_scheduler.register_workload\n"
        "def spmm(M, K, data_shape, indices_shape, indptr_shape):\n"
        "    X = te.placeholder((M, K), name='X')\n"
        "    V = te.placeholder(data_shape, name='V')\n"
        "    I = te.placeholder(indices_shape, 'int32', name='I')\n"
        "    P = te.placeholder(indptr_shape, 'int32', name='P')\n"
        "    return [X, V, I, P, topi.nn.sparse_dense(X, V, I, P)]\n"
        "W = scipy.sparse.random(32, 4, density=0.5, format='csr', dtype='float32', random_state=0)\n"
        "task = auto_scheduler.SearchTask(func=spmm, args=(8, 4, W.data.shape, W.indices.shape, W.indptr.shape),\n"
        "    target='cuda -emulate', task_inputs={'V': W.data, 'I': W.indices, 'P': W.indptr})\n")
    log = str(tmp_path / "sparse.json")
    assert main(["tune", "--auto", "--target=llvm", str(path), "--trials", "3", "--log", log, "--seed", "0",
                 "--confirm-top", "0"]) == 0
    recs = list(record.load_from_file(log))
    assert recs and all(res.error_no == 0 for _, res in recs), [res.error_msg[:200] for _, res in recs]
