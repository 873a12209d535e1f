"""Loop partitioning against numpy on random padded windows: a 2-D correlation reading its input
through an inlined padding (linear guards on every window row and column), under random tile
sizes (dividing the output or not), loop orders, unrolled loops and a parallel outer loop.
Integer data, so the sums are exact whatever order the partitioned loops add them in."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te

ORDERS = [("yo", "xo", "ry", "rx", "yi", "xi"), ("yo", "ry", "xo", "rx", "xi", "yi"),
          ("ry", "rx", "yo", "xo", "yi", "xi"), ("yo", "xo", "yi", "ry", "xi", "rx")]


@st.composite
def windows(draw: st.DrawFn):
    r, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad_y, pad_x, stride = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.sampled_from([1, 2]))
    h = draw(st.integers(max(1, r - 2 * pad_y), 12))
    w = draw(st.integers(max(1, s - 2 * pad_x), 14))
    sched = dict(fy=draw(st.integers(1, 5)), fx=draw(st.integers(1, 6)), order=draw(st.sampled_from(ORDERS)),
                 unroll=draw(st.sets(st.sampled_from(["ry", "rx", "yi", "xi"]))), parallel=draw(st.booleans()),
                 seed=draw(st.integers(0, 2**32 - 1)))
    return (h, w, r, s, pad_y, pad_x, stride), sched


def _reference(x: np.ndarray, k: np.ndarray, pad_y: int, pad_x: int, stride: int) -> np.ndarray:
    xp = np.pad(x, ((pad_y, pad_y), (pad_x, pad_x)))
    r, s = k.shape
    oh, ow = (xp.shape[0] - r) // stride + 1, (xp.shape[1] - s) // stride + 1
    out = np.zeros((oh, ow), np.int32)
    for dy in range(r):
        for dx in range(s):
            out += xp[dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride] * k[dy, dx]
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(windows())
def test_partitioned_padded_windows_match_numpy(case):
    (h, w, r, s, pad_y, pad_x, stride), sched = case
    X = te.placeholder((h, w), "int32", name="X")
    K = te.placeholder((r, s), "int32", name="K")
    P = te.compute((h + 2 * pad_y, w + 2 * pad_x), lambda y, x: te.if_then_else(
        te.all(y >= pad_y, y < h + pad_y, x >= pad_x, x < w + pad_x), X[y - pad_y, x - pad_x], 0), name="P")
    oh, ow = (h + 2 * pad_y - r) // stride + 1, (w + 2 * pad_x - s) // stride + 1
    ry, rx = te.reduce_axis((0, r), name="ry"), te.reduce_axis((0, s), name="rx")
    Y = te.compute((oh, ow), lambda y, x: te.sum(P[y * stride + ry, x * stride + rx] * K[ry, rx], axis=[ry, rx]),
                   name="Y")
    sch = te.create_schedule(Y.op)
    sch[P].compute_inline()
    y, x = Y.op.axis
    yo, yi = sch[Y].split(y, factor=sched["fy"])
    xo, xi = sch[Y].split(x, factor=sched["fx"])
    loops = {"yo": yo, "yi": yi, "xo": xo, "xi": xi, "ry": ry, "rx": rx}
    sch[Y].reorder(*(loops[n] for n in sched["order"]))
    for name in sched["unroll"]:
        sch[Y].unroll(loops[name])
    if sched["parallel"] and sched["order"][0] == "yo":
        sch[Y].parallel(yo)
    f = tl.build(sch, [X, K, Y])
    rng = np.random.default_rng(sched["seed"])
    xv = rng.integers(-50, 50, (h, w), dtype=np.int32)
    kv = rng.integers(-5, 5, (r, s), dtype=np.int32)
    out = np.full((oh, ow), -12345, np.int32)
    f(xv, kv, out)
    np.testing.assert_array_equal(out, _reference(xv, kv, pad_y, pad_x, stride), err_msg=str(case))
