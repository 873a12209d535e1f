"""Misused schedule primitives get a tensorlang error naming the stage and what is wrong, and leave
the schedule as it was; the legal use next to each keeps giving numpy's answer."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import LoweringError, ScheduleError


def _chain(n=8):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    C = te.compute((n,), lambda i: B[i] * 2.0, name="C")
    return A, B, C, te.create_schedule(C.op)


def test_compute_at_into_a_stage_it_reads_says_so():
    # It said only that the attachments "form a cycle", though only one stage was attached.
    A, B, C, s = _chain()
    s[C].compute_at(s[B], B.op.axis[0])
    with pytest.raises(LoweringError, match=r"form a cycle: stage C is computed at B\.i, but C reads B's output"):
        tl.lower(s, [A, C])


def test_tile_with_a_bad_factor_leaves_the_stage_unchanged():
    A = te.placeholder((8, 8), name="A")
    B = te.compute((8, 8), lambda i, j: A[i, j] * 3.0, name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(ScheduleError, match="stage B: split of j: factor must be a positive integer, got 0"):
        s[B].tile(B.op.axis[0], B.op.axis[1], 2, 0)
    assert [iv.name for iv in s[B].leaf_iter_vars] == ["i", "j"]  # i was left split before
    s[B].tile(B.op.axis[0], B.op.axis[1], 2, 4)
    f = tl.build(s, [A, B])
    a, b = np.random.default_rng().random((8, 8), dtype="float32"), np.zeros((8, 8), "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 3, rtol=1e-6)


def _transposed_copy():
    A = te.placeholder((16, 16), name="A")
    B = te.compute((16, 16), lambda i, j: A[i, j] + 1.0, name="B")
    C = te.compute((16, 16), lambda i, j: B[j, i] * 2.0, name="C")
    return A, B, C, te.create_schedule(C.op)


def test_storage_align_past_32_bit_indexing_is_refused():
    # Rows padded to 2**30 elements: the storage size wrapped to 0 and the offsets overflowed.
    A, B, C, s = _transposed_copy()
    with pytest.raises(ScheduleError, match=r"stage B: storage_align with factor 1073741824 pads B's storage to "
                                            r"17179869184 elements, past the 2\*\*31 - 1"):
        s[B].storage_align(B.op.axis[0], 2**30, 0)
    assert s[B].storage_aligns == {}


def test_storage_align_of_a_few_elements_keeps_numpys_answer():
    A, B, C, s = _transposed_copy()
    s[B].storage_align(B.op.axis[0], 32, 3)
    f = tl.build(s, [A, C])
    a, c = np.random.default_rng().random((16, 16), dtype="float32"), np.zeros((16, 16), "float32")
    f(a, c)
    np.testing.assert_allclose(c, ((a + 1) * 2).T, rtol=1e-6)
