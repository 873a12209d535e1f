"""The packing rewrite, register tiles that do not divide the output, and the machine's seeds."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.autoschedule import ComputeDAG, LayoutRewriteOption, MeasureInput, SearchTask, apply_sketch
from tensorlang.autoschedule.layout import pack_input, packable_read
from tensorlang.autoschedule.prior import register_tiles, seed_decisions
from tensorlang.autoschedule.records import to_config
from tensorlang.autoschedule.search import SketchSearch
from tests.autoschedule.test_sketches import best_by_prior, check
from tests.autoschedule.workloads import WORKLOADS, conv2d


def dense(n, l, m):
    """nn.dense: the weight is read transposed, W[j, k]."""
    A = te.placeholder((n, l), name="A")
    W = te.placeholder((m, l), name="W")
    k = te.reduce_axis((0, l), name="k")
    return [A, W, te.compute((n, m), lambda i, j: te.sum(A[i, k] * W[j, k], axis=k), name="D")]


def matmul_bias_relu(n, l, m):
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    bias = te.placeholder((m,), name="bias")
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return [A, B, bias, te.compute((n, m), lambda i, j: te.max(C[i, j] + bias[j], 0.0), name="out")]


@pytest.mark.parametrize("nr", [16, 24, 80])
def test_packed_matmul_and_dense_match_numpy_with_a_plain_schedule(nr):
    rng = np.random.default_rng()
    for fn, ref, w_shape in ((WORKLOADS["matmul"][0], lambda a, w: a @ w, (48, 80)),
                             (dense, lambda a, w: a @ w.T, (80, 48))):
        tensors = fn(64, 48, 80)
        op = tensors[-1].op
        read = packable_read(op)
        assert read is not None and read.tensor is tensors[1]
        args, packed, tmap = pack_input(tensors, op, nr)
        assert [int(d.value) for d in packed.shape] == [-(-80 // nr), 48, nr]
        assert args[:2] == tensors[:2] and args[2] is tmap[tensors[2]] and args[2] is not tensors[2]
        f = tl.build(te.create_schedule(args[-1].op), args)
        a = rng.standard_normal((64, 48)).astype("float32")
        w = rng.standard_normal(w_shape).astype("float32")
        out = np.full((64, 80), np.nan, "float32")
        f(a, w, out)
        np.testing.assert_allclose(out, ref(a, w), rtol=1e-4, atol=1e-4)


def test_only_weight_like_inputs_are_packable():
    conv = conv2d(1, 8, 12, 12, 16, 3, 1)
    assert packable_read(conv[-1].op) is None           # no input read by the output's last axis alone
    a = te.placeholder((32, 32), name="A")
    k = te.reduce_axis((0, 32), name="k")
    row = te.compute((32, 32), lambda i, j: te.sum(a[i, k] * a[j, k], axis=k), name="gram")
    assert packable_read(row.op) is None                # the same tensor read twice: left alone
    batch = WORKLOADS["batch_matmul"][0](3, 32, 24, 40)
    read = packable_read(batch[-1].op)
    assert read is not None and read.tensor is batch[1]


def test_packed_fused_sketch_with_a_guarded_register_tile_matches_numpy():
    task = SearchTask(matmul_bias_relu, (50, 40, 72), "llvm")
    sketch = task.sketches[0]
    assert dict(sketch.plans) == {"C": "ptile>out", "out": "outer"}
    d = best_by_prior(task, sketch)
    d.update({"C.s0": [1, 10, 1, 5], "C.s1": [2, 1, 1, 48], "C.order": "panel"})   # 5 x 48: neither divides
    sch, args = task.instantiate(to_config(sketch, d))
    f = tl.build(sch, args)
    rng = np.random.default_rng()
    a, b, bias = (rng.standard_normal(s).astype("float32") for s in ((50, 40), (40, 72), (72,)))
    out = np.full((50, 72), np.nan, "float32")
    f(a, b, bias, out)
    np.testing.assert_allclose(out, np.maximum(a @ b + bias, 0), rtol=1e-4, atol=1e-4)
    # apply_sketch hands back the rewritten arguments: same shapes, in the same order.
    _, again = apply_sketch(ComputeDAG(task._tensors()), sketch, d, task.hardware)
    assert [t.name for t in again] == ["A", "B", "bias", "out"]


def test_register_tile_seeds_suit_the_machine_and_match_numpy():
    task = SearchTask(*WORKLOADS["matmul"][:2], "llvm", name="matmul")
    hw = task.hardware
    tiles = register_tiles(hw, 1024, 1024)
    assert tiles
    for mr, nr in tiles:
        vecs = -(-nr // hw.lanes())
        assert 1.5 * hw.accumulators <= mr * vecs and mr * vecs + vecs + 1 <= hw.vector_registers
    rng = np.random.default_rng()
    for sketch in task.sketches:
        seeds = seed_decisions(task.dag, sketch, task.slots(sketch), best_by_prior(task, sketch), hw)
        assert seeds
        for d in seeds[:3]:
            check(task, to_config(sketch, d), rng)


def test_the_first_batch_does_not_depend_on_the_seed():
    task = SearchTask(*WORKLOADS["matmul"][:2], "llvm", name="matmul")
    first = [[c.index for c in SketchSearch(task, seed=s).next_batch(8)] for s in (0, 1)]
    assert first[0] == first[1] and len(set(first[0])) == 8


def test_rewrite_for_pre_transformed_weights_warns_and_keeps_the_declared_layouts():
    """TVM's REWRITE_FOR_PRE_TRANSFORMED makes a function that takes its weights packed; ours
    keeps the arguments' layouts, so asking for it warns, and the result is still the matmul."""
    with pytest.warns(UserWarning, match="REWRITE_FOR_PRE_TRANSFORMED is not supported"):
        task = SearchTask(dense, (8, 16, 8), "llvm",
                          layout_rewrite_option=LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED)
    state = task.compute_dag.get_init_state()
    with pytest.warns(UserWarning, match="apply_steps_from_state") as caught:
        s, args = task.compute_dag.apply_steps_from_state(state, LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED)
    assert [w.filename for w in caught] == [__file__]  # once, pointing at the caller
    record_state = MeasureInput(task, state).state  # the form a log's record holds
    with pytest.warns(UserWarning, match="apply_steps_from_state") as caught:
        task.compute_dag.apply_steps_from_state(record_state, LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED)
    assert [w.filename for w in caught] == [__file__]
    assert [tuple(int(d) for d in t.shape) for t in args[:2]] == [(8, 16), (8, 16)]
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a, w = rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal((8, 16)).astype(np.float32)
    out = np.empty((8, 8), np.float32)
    f(a, w, out)
    np.testing.assert_allclose(out, a @ w.T, rtol=1e-5, atol=1e-5)
