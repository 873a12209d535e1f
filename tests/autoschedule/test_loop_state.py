"""The loop-state API (``autoschedule.loop_state``): states replayed onto te schedules, their
printed forms, what they refuse, and that what they describe builds and computes the right thing."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule as auto_scheduler
from tensorlang import te
from tensorlang.autoschedule.loop_state import LoopStateError, State
from tensorlang.testing.auto_scheduler import matmul_auto_scheduler_test, parallel_matmul_auto_scheduler_test


def _matmul_dag(n=32, m=None, k=None):
    A, B, C = matmul_auto_scheduler_test(n, m or n, k or n)
    return auto_scheduler.ComputeDAG([A, B, C]), A, B, C


def _check(sch, args, a, b):
    func = tl.build(sch, args, "llvm")
    c = tl.nd.empty((a.shape[0], b.shape[1]))
    func(tl.nd.array(a), tl.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4, atol=1e-4)


def _tiled(dag, C):
    """A cache_write-tiled matmul: the accumulator tile computed inside the output's tiles."""
    s = dag.get_init_state()
    C_global = s.cache_write(C, "global")
    i, j = s[C].iters
    io, ii = s.split(C, i, [8])
    jo, ji = s.split(C, j, [8])
    s.reorder(C, [io, jo, ii, ji])
    s.compute_at(C_global, C, jo)
    k = s[C_global].iters[2]
    ko, ki = s.split(C_global, k, [4])
    s.reorder(C_global, [ko, s[C_global].iters[0], ki, s[C_global].iters[1]])
    s.vectorize(C_global, s[C_global].iters[3])
    s.parallel(C, s.fuse(C, [io, jo]))
    return s, C_global


def test_a_state_prints_its_loops_and_replays_as_the_python_it_prints():
    dag, A, B, C = _matmul_dag()
    s, C_global = _tiled(dag, C)
    assert str(s).splitlines() == [
        "Placeholder: A, B",
        "parallel i.outer.j.outer.fused (0,16)",
        "  for k.outer (0,8)",
        "    for i.c (0,8)",
        "      for k.inner (0,4)",
        "        vectorize j.c (0,8)",
        "          C.global = ...",
        "  for i.inner (0,8)",
        "    for j.inner (0,8)",
        "      C = ...",
    ]
    code = dag.print_python_code_from_state(s)
    assert "s.cache_write(C, 'global')" in code and ".vectorize(" in code
    ns = {"te": te, "A": A, "B": B, "C": C}
    exec(code.split("\n", 1)[1], ns)  # the first line binds the tensors: they are A, B, C here  # noqa: S102
    sch, args = dag.apply_steps_from_state(s)
    assert str(tl.lower(ns["s"], [A, B, C], simple_mode=True)) == str(tl.lower(sch, args, simple_mode=True))
    rng = np.random.default_rng()
    a, b = (rng.standard_normal((32, 32)).astype("float32") for _ in range(2))
    _check(sch, args, a, b)


def test_iterators_carry_ranges_kinds_and_annotations():
    dag, _, _, C = _matmul_dag(64)
    s, C_global = _tiled(dag, C)
    fused = s[C].iters[0]
    assert (fused.name, fused.range.extent, fused.annotation, fused.iter_kind) == (
        "i.outer.j.outer.fused", 64, State.ANNOTATION_TRANS_TABLE["parallel"], 0)
    # the cache is computed inside one 8 x 8 tile: its loops are the tile's, known at once
    assert [int(it.range.extent) for it in s[C_global].iters] == [16, 8, 4, 8]
    assert [it.iter_kind for it in s[C_global].iters] == [1, 0, 1, 0]
    assert s[C_global].compute_at == 2 and s[C].compute_at == 0
    assert dag.infer_bound_from_state(s)[C_global].iters == s[C_global].iters
    assert dag.infer_bound_from_states([s])[0][C].iters == s[C].iters
    # unroll with max_unroll leaves a longer loop alone and records nothing
    n = len(s.transform_steps)
    assert s.unroll(C_global, s[C_global].iters[0], max_unroll=8).annotation == 0
    assert len(s.transform_steps) == n
    s.pragma(C, s[C].iters[0], "auto_unroll_max_step$16")
    assert s[C].attrs.auto_unroll_max_step == 16


def test_undefined_split_lengths_leave_ranges_unknown_until_filled():
    dag, _, _, C = _matmul_dag()
    s = dag.get_init_state()
    C_global = s.cache_write(C, "global")
    i0, i1, i2 = s.split(C, s[C].iters[0], [None, 4])
    assert (i0.range, i1.range, i2.range.extent) == (None, None, 4)
    j0, j1 = s.follow_split(C, s[C].iters[3], len(s.transform_steps) - 1, 1)
    assert j0.range is None and j1.range is None
    s.compute_at(C_global, C, j0)
    assert all(it.range is None for it in s[C_global].iters)
    assert "for i.outer.outer (None)" in str(s)
    with pytest.raises(LoopStateError, match=r"step 1 \(SplitStep.*leaves split lengths undefined"):
        dag.apply_steps_from_state(s)


def test_a_refused_step_raises_with_the_schedules_reason_and_leaves_the_state_as_it_was():
    dag, A, B, C = _matmul_dag()
    s = dag.get_init_state()
    i, j, k = s[C].iters
    with pytest.raises(LoopStateError, match="State.fuse: stage C: can only fuse consecutive axes"):
        s.fuse(C, [i, k])
    with pytest.raises(LoopStateError, match="State.vectorize: stage C: cannot vectorize reduction axis k"):
        s.vectorize(C, k)
    assert s.transform_steps == []
    with pytest.raises(LoopStateError, match="invalid thread_name 'parallel'"):
        s.bind(C, i, "parallel")
    with pytest.raises(LoopStateError, match="a length must be a positive integer or None, got 0"):
        s.split(C, i, [0])
    with pytest.raises(LoopStateError, match="i is not a loop of stage A"):
        s.split(A, i, [2])
    with pytest.raises(LoopStateError, match="named by its index, operation or tensor"):
        s.split("C", i, [2])
    with pytest.raises(LoopStateError, match="needs a value, as in 'auto_unroll_max_step"):
        s.pragma(C, i, "auto_unroll_max_step")
    other = te.compute((4,), lambda x: A[x, 0], name="other")
    with pytest.raises(LoopStateError, match="operation other is not a stage of this state"):
        s.compute_inline(other)
    io, ii = s.split(C, i, [4])
    s.fuse(C, [ii, j])
    assert len(s.transform_steps) == 2


def test_state_objects_are_snapshots_and_ops_keep_naming_their_stages():
    dag, _, _, C = _matmul_dag()
    s = dag.get_init_state()
    C_global = s.cache_write(C, "global")
    snap = s.state_object
    t = State(snap, dag)
    t.split(C_global, t[C_global].iters[0], [4])
    assert len(s.transform_steps) == 1 and len(t.transform_steps) == 2
    assert len(s[C_global].iters) == 3 and len(t[C_global].iters) == 4
    # the DAG's C and the cache's op both name their stages after later stages were added
    C_rf = t.rfactor(C_global, t[C_global].iters[3], 2)
    assert [op.name for op in t.stage_ops] == ["A", "B", "C.global.rf", "C.global", "C"]
    assert t[C].op.name == "C" and t[C_global].op.name == "C.global" and t[C_rf].op.name == "C.global.rf"
    assert t == State(t.state_object, dag) and t != s


def test_a_dag_made_from_a_schedule_keeps_its_stages_in_order():
    A, B, C, D, E = parallel_matmul_auto_scheduler_test(16)
    sch = te.create_schedule([D.op, E.op])
    (D_local,) = sch.cache_write([D], "local")
    sch.cache_read(A, "shared", [D_local])
    dag = auto_scheduler.ComputeDAG(sch)
    s = dag.get_init_state()
    names = [op.name for op in s.stage_ops]
    assert names == [st.op.name for st in sch.stages]
    s.compute_at(names.index("D.local"), names.index("D"), s[names.index("D")].iters[0])
    sch2, args = dag.apply_steps_from_state(s)
    func = tl.build(sch2, args, "llvm")
    rng = np.random.default_rng()
    a, b, c = (rng.standard_normal((16, 16)).astype("float32") for _ in range(3))
    d, e = tl.nd.empty((16, 16)), tl.nd.empty((16, 16))
    func(tl.nd.array(a), tl.nd.array(b), tl.nd.array(c), d, e)
    np.testing.assert_allclose(d.numpy(), a @ b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(e.numpy(), a @ c, rtol=1e-4, atol=1e-4)


def test_a_dag_refuses_two_axes_with_one_name():
    A = te.placeholder((8, 8), name="A")
    r1, r2 = te.reduce_axis((0, 2), name="r"), te.reduce_axis((0, 2), name="r")
    B = te.compute((4,), lambda i: te.sum(A[i + r1, r2], axis=[r1, r2]), name="B")
    with pytest.raises(auto_scheduler.SketchError, match="stage B has two axes named 'r'"):
        auto_scheduler.ComputeDAG([A, B])
