"""te.extern with outputs of different shapes and dtypes (TVM allows them): each output is its
own buffer of its own shape, passed whole to the outside code and read by later stages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

_FUNC = "tests.extern_outputs.head_and_stats"


@tl.register_func(_FUNC, override=True)
def _head_and_stats(x, head, stats):
    v = x.numpy()
    head.copyfrom(np.sort(v)[:3])
    stats.copyfrom(np.array([v.size, v.argmax(), v.argmin(), np.count_nonzero(v > 0)], "int64"))


def _declare(n):
    X = te.placeholder((n,), name="X")
    head, stats = te.extern([(3,), (4,)], [X], lambda ins, outs: te.call_packed(_FUNC, ins[0], *outs),
                            dtype=["float32", "int64"], name="head_and_stats")
    return X, head, stats


def test_outputs_keep_their_shapes_and_dtypes():
    X, head, stats = _declare(11)
    assert [tuple(int(d) for d in t.shape) for t in (head, stats)] == [(3,), (4,)]
    assert [str(t.dtype) for t in (head, stats)] == ["float32", "int64"]


def test_both_outputs_as_arguments_and_read_by_a_stage():
    X, head, stats = _declare(11)
    C = te.compute((3,), lambda i: head[i] * 2 + stats[i + 1].astype("float32"), name="C")
    f = tl.build(te.create_schedule(C.op), [X, head, stats, C])
    x = np.random.default_rng().standard_normal(11).astype("float32")
    h, st, c = np.zeros(3, "float32"), np.zeros(4, "int64"), np.zeros(3, "float32")
    f(x, h, st, c)
    np.testing.assert_array_equal(h, np.sort(x)[:3])
    np.testing.assert_array_equal(st, [11, x.argmax(), x.argmin(), np.count_nonzero(x > 0)])
    np.testing.assert_allclose(c, np.sort(x)[:3] * 2 + st[1:].astype("float32"), rtol=1e-6)


def test_outputs_as_intermediate_buffers():
    X, head, stats = _declare(9)
    C = te.compute((3,), lambda i: head[i] + stats[3].astype("float32"), name="C")
    f = tl.build(te.create_schedule(C.op), [X, C])
    x = np.random.default_rng().standard_normal(9).astype("float32")
    c = np.zeros(3, "float32")
    f(x, c)
    np.testing.assert_allclose(c, np.sort(x)[:3] + np.count_nonzero(x > 0), rtol=1e-6)


def test_passing_some_outputs_of_a_stage_is_not_warned_about():
    # Using topk's values without its indices (or an extern's first output alone) is a choice;
    # a stage none of whose outputs is an argument is probably a forgotten one.
    X, head, stats = _declare(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = tl.build(te.create_schedule(head.op), [X, head])
    x = np.random.default_rng().standard_normal(8).astype("float32")
    h = np.zeros(3, "float32")
    f(x, h)
    np.testing.assert_array_equal(h, np.sort(x)[:3])
    Y = te.placeholder((4,), name="Y")
    Z = te.compute((4,), lambda i: Y[i] + 1, name="Z")
    with pytest.warns(UserWarning, match="Z.*not in the argument list"):
        tl.lower(te.create_schedule(Z.op), [Y])
