"""pipeline_rows: a row softmax whose output pass runs one row later, fused with the next row's
prefetching exp loop, still matches numpy: every row (the first and the last included), rows
that do not fill a parallel chunk, row lengths that are not whole vectors, outputs at every
alignment (the streaming stores' scalar head and tail), one and two threads."""

import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tests.autoschedule.workloads import softmax

rng = np.random.default_rng()


def _softmax(n, m, rows_per_chunk=4, pipeline=True, prefetch=True, stream=None):
    X, out = softmax(n, m)  # examples/softmax.py: max, exp, sum, normalize
    stages = {t.op.name: t for t in out.op.input_tensors}
    e, sm = stages["e"], stages["s"]
    mx = next(t for t in e.op.input_tensors if t.op.name == "mx")
    s = te.create_schedule(out.op)
    i, j = s[out].op.axis
    io, ii = s[out].split(i, factor=rows_per_chunk)
    s[out].parallel(io)
    jo, ji = s[out].split(j, factor=32)
    s[out].vectorize(ji)
    if stream is not None:
        s[out].pragma(jo, "nontemporal", stream)
    for red in (mx, sm):
        ko, ki = s[red].split(s[red].op.reduce_axis[0], factor=32)
        rf = s.rfactor(red, ki)
        s[rf].compute_at(s[out], ii)
        s[red].compute_at(s[out], ii)
        rl, ri = s[rf].op.axis
        s[rf].reorder(ri, s[rf].op.reduce_axis[0], rl)
        s[rf].vectorize(rl)
    s[e].compute_at(s[out], ii)
    ejo, eji = s[e].split(s[e].op.axis[1], factor=32)
    s[e].vectorize(eji)
    if prefetch:
        s[e].pragma(ejo, "prefetch", 2 * m)
    if pipeline:
        s[out].pragma(ii, "pipeline_rows")
    return s, [X, out]


def _reference(x):
    ex = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    return ex / ex.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n,m,chunk", [(8, 256, 4), (11, 100, 4), (6, 70, 3), (16, 4096, 8), (5, 80, 5)])
@pytest.mark.parametrize("threads", [1, 2])
def test_pipelined_softmax_matches_numpy(n, m, chunk, threads):
    s, args = _softmax(n, m, chunk, stream=True)
    assert ".pipe" in str(tl.lower(s, args)), "the pass did not apply"
    f = tl.build(s, args, target="llvm")
    f.set_num_threads(threads)
    for offset in (0, 1, 5):  # output views at every alignment: the streaming head and tail
        x = (rng.standard_normal((n, m)) * 4).astype(np.float32)
        base = np.full(n * m + offset + 3, 7.0, np.float32)
        out = base[offset:offset + n * m].reshape(n, m)
        f(x, out)
        np.testing.assert_allclose(out, _reference(x), rtol=2e-6, atol=1e-9)
        assert (base[:offset] == 7).all() and (base[offset + n * m:] == 7).all()


def test_same_results_as_without_the_pragma():
    x = (rng.standard_normal((12, 300)) * 3).astype(np.float32)
    outs = []
    for pipeline in (False, True):
        s, args = _softmax(12, 300, 6, pipeline=pipeline)
        out = np.empty_like(x)
        tl.build(s, args, target="llvm")(x, out)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("case", ["no prefetching loop", "one row a chunk"])
def test_declined_where_it_does_not_apply(case):
    n, m = 8, 64
    if case == "no prefetching loop":
        s, args = _softmax(n, m, 4, prefetch=False)
    else:
        s, args = _softmax(n, m, 1)
    assert ".pipe" not in str(tl.lower(s, args))
    x = rng.standard_normal((n, m)).astype(np.float32)
    out = np.empty_like(x)
    tl.build(s, args, target="llvm")(x, out)
    np.testing.assert_allclose(out, _reference(x), rtol=2e-6, atol=1e-9)


def test_the_two_copies_are_not_a_multiple_of_4k_apart():
    """Row r stores its copy of e at position j while the fused loop loads row r - 1's copy at j:
    copies a multiple of 4 KiB apart alias in the core's store-to-load check and stall every load
    (1.5x the time on a 4096-wide softmax), so the second copy starts a gap past the first."""
    m = 4096
    s, args = _softmax(8, m, 4, stream=True)
    text = str(tl.lower(s, args))
    extent = int(re.search(r"allocate e\[float32 \* (\d+)\]", text).group(1))
    stride = extent - m  # the second copy's start, in elements
    assert stride > m and (stride * 4) % 4096 != 0, text
    assert f"% 2 * {stride}" in text, text
    x = (rng.standard_normal((8, m)) * 4).astype(np.float32)
    out = np.empty_like(x)
    tl.build(s, args, target="llvm")(x, out)
    np.testing.assert_allclose(out, _reference(x), rtol=2e-6, atol=1e-9)
