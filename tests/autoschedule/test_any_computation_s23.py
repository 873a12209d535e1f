"""The auto-scheduler on computations beyond the standard workloads (issue 11, "any te
computation"): every sketch it makes lowers, builds and matches numpy, and a computation it
cannot schedule is refused with an error naming the stage."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.autoschedule import SearchTask, SketchError
from tensorlang.autoschedule.prior import random_decisions
from tensorlang.autoschedule.records import to_config


def _shape(t):
    return [int(d) for d in t.shape]


def _run(sch, tensors, target, inputs):
    f = tl.build(sch, tensors, target=target)
    out = np.full(_shape(tensors[-1]), np.nan, dtype="float32")
    f(*inputs, out)
    return out


def _every_sketch_matches(task, inputs, expected, seed=0):
    rnd = random.Random(seed)
    for sketch in task.sketches:
        config = to_config(sketch, random_decisions(task.slots(sketch), rnd))
        got = _run(*task.instantiate(config), task.target, inputs)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=sketch.name)


def softmax_cols(n, m):
    A = te.placeholder((n, m), name="A")
    return [A, topi.nn.softmax(A, axis=0)]


def test_softmax_over_the_outer_axis_computes_exp_where_its_sum_reads_it():
    # The sum over axis 0 runs at the root (its rows are not the output's rows), so the
    # exponentials it reads cannot be computed per row of the output: such sketches did not lower
    # ("T_softmax_exp is computed at T_softmax_norm.i.inner but is also read by T_softmax_expsum").
    task = SearchTask(softmax_cols, (12, 5), target="llvm")
    for sketch in task.sketches:
        plans = dict(sketch.plans)
        if plans["T_softmax_exp"].startswith("at@"):
            assert plans["T_softmax_expsum"].endswith("@" + plans["T_softmax_exp"][3:]), sketch.name
    a = np.random.default_rng().uniform(-3, 3, (12, 5)).astype("float32")
    e = np.exp(a - a.max(axis=0))
    rnd = random.Random(1)
    for sketch in task.sketches:
        config = to_config(sketch, random_decisions(task.slots(sketch), rnd))
        tl.lower(*task.instantiate(config))  # every sketch lowers
    _every_sketch_matches(SearchTask(softmax_cols, (12, 5), target="llvm"), [a], e / e.sum(axis=0))


def cumsum_rows(n, m):
    A = te.placeholder((n, m), name="A")
    return [A, topi.cumsum(A, axis=1)]


def extern_then_scale(n):
    A = te.placeholder((n,), name="A")

    def body(ins, outs):
        ib = tl.tir.ir_builder.create()
        a, b = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, n, name="i") as i:
            b[i] = a[i] + 1.0
        return ib.get()
    P = te.compute((n,), lambda i: A[i] * 3.0, name="P")
    B = te.extern((n,), [P], body, name="ext", dtype="float32")
    return [A, te.compute((n,), lambda i: B[i] * 2.0, name="C")]


@te.hybrid.script
def outer_product(a, b):
    c = output_tensor((a.shape[0], b.shape[0]), a.dtype)  # noqa: F821 - a hybrid script's intrinsic
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            c[i, j] = a[i] * b[j]
    return c


def hybrid_plus_one(n, m):
    A = te.placeholder((n,), name="A")
    B = te.placeholder((m,), name="B")
    P = outer_product(A, B)
    return [A, B, te.compute((n, m), lambda i, j: P[i, j] + 1.0, name="D")]


def test_extern_stages_are_kept_and_their_inputs_computed():
    # An extern stage cannot be inlined, fused or parallelized, nor can a stage it reads be
    # inlined into it: every trial of topi.cumsum failed (and so did the plain reference).
    rng = np.random.default_rng()
    a = rng.uniform(-1, 1, (4, 9)).astype("float32")
    task = SearchTask(cumsum_rows, (4, 9), target="llvm")
    np.testing.assert_allclose(_run(*task.reference(), "llvm", [a]), np.cumsum(a, axis=1), rtol=1e-5, atol=1e-5)
    _every_sketch_matches(task, [a], np.cumsum(a, axis=1))
    x = rng.uniform(-1, 1, (13,)).astype("float32")
    task = SearchTask(extern_then_scale, (13,), target="llvm")
    assert dict(task.sketches[0].plans)["ext"] == "outer" and dict(task.sketches[0].plans)["P"] != "inline"
    _every_sketch_matches(task, [x], (x * 3 + 1) * 2)
    a, b = rng.uniform(-1, 1, 5).astype("float32"), rng.uniform(-1, 1, 7).astype("float32")
    _every_sketch_matches(SearchTask(hybrid_plus_one, (5, 7), target="llvm"), [a, b], np.outer(a, b) + 1)


def test_extern_code_without_gpu_threads_is_refused_on_a_gpu():
    # Its code runs outside any kernel: every trial failed to build ("did you forget to bind?").
    with pytest.raises(SketchError, match="stage cumsum_generic is a te.extern"):
        SearchTask(cumsum_rows, (4, 9), target="cuda -emulate")


def running_sum(n, m):
    X = te.placeholder((n, m), name="X")
    state = te.placeholder((n, m), name="state")
    init = te.compute((1, m), lambda _, i: X[0, i], name="init")
    update = te.compute((n, m), lambda t, i: state[t - 1, i] + X[t, i], name="update")
    return [X, te.scan(init, update, state, inputs=[X])]


def test_scan_keeps_its_serial_time_loop():
    # The scan's update was inlined into it (an out-of-bounds read: every trial failed), and
    # the plain reference ran the serial time loop in parallel.
    x = np.random.default_rng().uniform(-1, 1, (7, 5)).astype("float32")
    task = SearchTask(running_sum, (7, 5), target="llvm")
    assert "parallel" not in str(tl.lower(*task.reference()))
    _every_sketch_matches(task, [x], np.cumsum(x, axis=0))


def test_scan_on_a_gpu_is_refused_naming_the_stage():
    with pytest.raises(SketchError, match="stage scan is a te.scan"):
        SearchTask(running_sum, (7, 5), target="cuda -emulate")


def matmul(n, l, m):
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    k = te.reduce_axis((0, l), name="k")
    return [A, B, te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")]


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_an_empty_axis_is_refused_naming_the_stage(target):
    # tune() raised a bare ZeroDivisionError from the prior; every split of it was refused.
    with pytest.raises(SketchError, match="stage C, reduce axis k, has extent 0"):
        SearchTask(matmul, (4, 0, 5), target=target)
    with pytest.raises(SketchError, match="stage C, axis i, has extent 0"):
        SearchTask(matmul, (0, 3, 5), target=target)


def add_unreturned(n):
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    return [A, te.compute((n,), lambda i: A[i] + B[i], name="C")]


def test_an_input_missing_from_the_arguments_is_refused_naming_it():
    # Every trial failed to lower, and apply_best said only "no successful trial".
    with pytest.raises(SketchError, match="stage C reads the placeholder B"):
        SearchTask(add_unreturned, (5,), target="llvm")


def gram(n, m):
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, n), name="k")
    return [A, te.compute((m, m), lambda i, j: te.sum(A[k, i] * A[k, j], axis=k), name="G")]


def test_gpu_tile_of_an_input_read_twice_builds_and_matches_numpy():
    # A^T A reads A at A[k, i] and A[k, j]: one shared copy of both tiles had a size that depends
    # on the block ("shared buffer A.shared has the non-constant size ..."): about two random
    # candidates in three failed to build, this one among them.
    a = np.random.default_rng().uniform(-1, 1, (6, 8)).astype("float32")
    task = SearchTask(gram, (6, 8), target="cuda -emulate")
    decisions = {"G.s0": [2, 2, 2, 1], "G.s1": [2, 1, 1, 4], "G.r0": [1, 6], "G.unroll": 64}
    got = _run(*task.instantiate(to_config(task.sketches[0], decisions)), task.target, [a])
    np.testing.assert_allclose(got, a.T @ a, rtol=1e-5, atol=1e-5)


def matmul_relu_weight_grad(n, l, m):
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    H = te.placeholder((n, m), name="H")
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    R = te.compute((n, m), lambda i, j: te.max(C[i, j], 0.0), name="R")
    return [A, B, H, *te.gradient(R, [B], head=H)]


def test_a_gradient_stage_auto_schedules():
    # te.gradient named the reduce axis of B's adjoint after the forward loop "i", which its own
    # output axis also is: SearchTask refused "stage B_grad_C has two axes named 'i'", a name
    # the user never wrote and cannot change.
    rng = np.random.default_rng()
    a, b, h = (rng.uniform(-1, 1, s).astype("float32") for s in ((6, 5), (5, 7), (6, 7)))
    task = SearchTask(matmul_relu_weight_grad, (6, 5, 7), target="llvm")
    sketch = task.sketches[-1]
    config = to_config(sketch, random_decisions(task.slots(sketch), random.Random(0)))
    got = _run(*task.instantiate(config), "llvm", [a, b, h])
    np.testing.assert_allclose(got, a.T @ (h * (a @ b > 0)), rtol=1e-5, atol=1e-5)


def gather_rows(n, m, r):
    A = te.placeholder((n, m), name="A")
    idx = te.placeholder((r,), name="I", dtype="int32")
    return [A, idx, te.compute((r, m), lambda i, j: A[idx[i], j], name="G")]


def test_a_task_whose_reference_fails_stops_after_one_batch_and_says_how_to_fix_it(tmp_path):
    # The random test integers (1 to 7) index past a 3-row table: the reference fails, and so
    # would every candidate; the run stops after its first batch instead of building the whole
    # budget, and the error says how to give the indices their real values (task_inputs).
    log = str(tmp_path / "gather.json")
    task = SearchTask(gather_rows, (3, 8, 5), target="llvm")
    with pytest.warns(UserWarning, match="the reference of auto/gather_rows failed.*stopped after"):
        search = task.tune(12, log=log, verbose=False, confirm_top=0)
    assert 0 < search.trials_done < 12
    with open(log) as f:
        text = f.read()
    assert "out-of-bounds read of A" in text and "task_inputs={name: array}" in text
