"""A compute that uses an axis it does not own (a thread axis, another compute's axis in a
reduce_axis range) is refused at te.compute, naming the axis, not at lowering as unbound."""

from __future__ import annotations

import pytest

from tensorlang import te
from tensorlang.errors import ExprError


def test_thread_axis_in_compute_body():
    A = te.placeholder((8,), name="A")
    tx = te.thread_axis("threadIdx.x")
    with pytest.raises(ExprError, match=r"compute 'B': the body uses threadIdx\.x, a te\.thread_axis"):
        te.compute((8,), lambda i: A[i] + tx.var, name="B")


def test_reduce_axis_range_over_another_computes_axis():
    A = te.placeholder((8, 8), name="A")
    C = te.compute((8,), lambda i: A[i, 0], name="C")
    k = te.reduce_axis((0, C.op.axis[0].var + 1), name="k")
    with pytest.raises(ExprError, match=r"compute 'D': the range of reduce_axis k uses i, an index of another"):
        te.compute((8,), lambda i: te.sum(A[i, k], axis=k), name="D")
