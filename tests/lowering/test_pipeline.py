"""The lowering pipeline as a specification: named steps with reasons and invariants, checked
between passes, with per-pass timing under TENSORLANG_DEBUG_IR."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import LoweringError
from tensorlang.ir.verify import INVARIANTS, TREE_INVARIANTS
from tensorlang.lowering import pipeline


def vadd_vectorized(n: int = 64):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    _, xi = s[B].split(B.op.axis[0], factor=16)
    s[B].vectorize(xi)
    return s, [A, B]


def test_every_step_names_real_invariants_and_says_why():
    names = [step.name for step in pipeline.PIPELINE]
    assert names[:2] == ["schedule_ops", "storage_flatten"] and names[-3:] == ["storage_sync", "inject_double_buffer",
                                                                               "hoist_shared_allocations"]
    known = set(INVARIANTS) | set(TREE_INVARIANTS)
    for step in pipeline.PIPELINE:
        assert step.why and set(step.establishes) <= known, step
    assert {inv for step in pipeline.PIPELINE for inv in step.establishes} == known


def test_the_verifier_catches_a_pass_that_does_not_do_its_job(monkeypatch):
    monkeypatch.setenv("TENSORLANG_VERIFY_IR", "1")
    broken = tuple(dataclasses.replace(step, run=lambda s, c: s) if step.name == "vectorize_loops" else step
                   for step in pipeline.PIPELINE)
    monkeypatch.setattr(pipeline, "PIPELINE", broken)
    s, args = vadd_vectorized()
    with pytest.raises(LoweringError, match="after vectorize_loops: invariant 'no_vectorized_loops'"):
        tl.lower(s, args)


def test_verify_last_checks_every_invariant_once_at_the_end(monkeypatch):
    """The tests' mode: the broken pass is still caught (on the last step's output), and a
    correct lowering passes."""
    monkeypatch.setenv("TENSORLANG_VERIFY_IR", "last")
    s, args = vadd_vectorized()
    tl.lower(s, args)
    broken = tuple(dataclasses.replace(step, run=lambda s, c: s) if step.name == "vectorize_loops" else step
                   for step in pipeline.PIPELINE)
    monkeypatch.setattr(pipeline, "PIPELINE", broken)
    last = [st.name for st in broken if st.only_for in (None, "llvm")][-1]
    with pytest.raises(LoweringError, match=f"after {last} .*invariant 'no_vectorized_loops'"):
        tl.lower(s, args)


def test_debug_ir_prints_each_pass_time_and_unchanged(monkeypatch, capsys):
    monkeypatch.setenv("TENSORLANG_DEBUG_IR", "1")
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    f = tl.build(s, [A, B], target="llvm")
    err = capsys.readouterr().err
    steps = [line for line in err.splitlines() if line.startswith("// ")]
    assert [line.split()[1] for line in steps] == [st.name for st in pipeline.PIPELINE
                                                   if st.only_for in (None, "llvm")]
    assert all(" ms)" in line for line in steps)
    assert any(line.endswith("(unchanged)") for line in steps)  # nothing to unroll or vectorize here
    a = np.random.default_rng().standard_normal(8).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a + 1.0)


def test_gpu_lowering_runs_storage_sync(monkeypatch, capsys):
    monkeypatch.setenv("TENSORLANG_DEBUG_IR", "1")
    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] * 3.0, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    tl.lower(s, [A, B])
    assert "// storage_sync (" in capsys.readouterr().err
