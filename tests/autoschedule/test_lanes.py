"""The lanes sketch: a reduction computed with a weight-like output axis in the vector lanes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.autoschedule import SearchTask
from tensorlang.autoschedule.layout import lane_blocks, lane_read, lanes_rewrite
from tensorlang.autoschedule.prior import seed_decisions
from tensorlang.autoschedule.records import from_config, to_config
from tensorlang.autoschedule.search import SketchSearch
from tensorlang.autoschedule.sketch import Sketch
from tensorlang.autotune import record
from tensorlang.autotune.measure.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.space import InstantiationError
from tests.autoschedule.test_sketches import best_by_prior
from tests.autoschedule.workloads import WORKLOADS, conv2d


def conv_ref(x, w, pad, stride):
    r = w.shape[2]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (xp.shape[2] - r) // stride + 1, (xp.shape[3] - r) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for dy in range(r):
        for dx in range(r):
            win = xp[:, :, dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride]
            out += np.einsum("nchw,kc->nkhw", win, w[:, :, dy, dx])
    return out


LANES = Sketch.parse("Xpad=root;Y=lanes")
# The padding inlined: not a sketch of the search (it doubles the build), only a finishing variant.
INLINE_LANES = Sketch.parse("Xpad=inline;Y=lanes")


def _run(task, decisions, pad, stride, rng):
    sch, args = task.instantiate(to_config(LANES, decisions))
    assert [t.name for t in args] == ["X", "W", "Y"]
    f = tl.build(sch, args)
    x, w = (rng.uniform(-1, 1, [int(d) for d in t.shape]).astype("float32") for t in args[:2])
    y = np.full([int(d) for d in args[2].shape], np.nan, "float32")
    f(x, w, y)
    np.testing.assert_allclose(y, conv_ref(x, w, pad, stride), rtol=1e-4, atol=1e-4, err_msg=str(decisions))


@pytest.mark.parametrize("shape", [(2, 8, 10, 13, 32, 3, 1, 1), (1, 8, 11, 11, 16, 3, 1, 2), (1, 6, 9, 9, 24, 3, 1, 1)],
                         ids=["pad", "stride2", "k24"])
def test_lanes_sketch_matches_numpy(shape):
    *args, pad, stride = shape
    task = SearchTask(conv2d, (*args, pad, stride), "llvm", name="conv")
    assert task.sketches[0] == LANES
    slots = {s.name: s for s in task.slots(LANES)}
    k = args[4]
    assert slots["Y.bn"].choices and all(k % bn == 0 for bn in slots["Y.bn"].choices)
    rng = np.random.default_rng()
    base = best_by_prior(task, LANES)
    seeds = seed_decisions(task.dag, LANES, task.slots(LANES), base, task.hardware)
    assert seeds
    # The machine's seed, then other lane blocks, an odd column count, the reduction order,
    # unrolling, the block place and the unpacking, so each choice is built once.
    variants = [seeds[0], {**base, "Y.reg_n": 5, "Y.order": "window", "Y.unroll": 0, "Y.unpack": "pass"},
                {**base, "Y.bn": slots["Y.bn"].choices[-1], "Y.blocks": "outer", "Y.unpack": "row", "Y.reg_n": 3}]
    for d in variants:
        _run(task, d, pad, stride, rng)


# The lane choices depend on the machine's vectors: these tests name an AVX-512 CPU (16 float
# lanes, 32 registers) and an AVX2 one, so they check the same thing on every host (nothing here runs
# code built for them).
AVX512 = "llvm -mcpu=skylake-avx512"
AVX2 = "llvm -mcpu=haswell"


def test_lane_blocks_divide_the_axis_or_no_sketch():
    task = SearchTask(conv2d, (1, 6, 9, 9, 24, 3, 1, 1), AVX512, name="conv")
    assert task.hardware.lanes() == 16
    assert task.slots(LANES)[0].choices == (8, 4)     # 24 channels: no whole 16-lane vector divides them
    avx2 = SearchTask(conv2d, (1, 6, 9, 9, 24, 3, 1, 1), AVX2, name="conv")
    assert avx2.slots(LANES)[0].choices == (8, 24)    # one and three whole 8-lane vectors
    d = best_by_prior(task, LANES)
    with pytest.raises(InstantiationError, match="Y.bn"):
        task.instantiate(to_config(LANES, {**d, "Y.bn": 16}))
    odd = SearchTask(conv2d, (1, 6, 9, 9, 7, 3, 1, 1), "llvm", name="conv")
    assert lane_blocks(odd.dag["Y"].op, 16) == ()
    assert all("lanes" not in s.name for s in odd.sketches)
    with pytest.raises(ValueError, match="does not divide"):
        lanes_rewrite(odd.dag.tensors, odd.dag["Y"].op, 4)


def conv1x1(n, c, h, w, k):
    X = te.placeholder((n, c, h, w), name="X")
    W = te.placeholder((k, c, 1, 1), name="W")
    rc = te.reduce_axis((0, c), name="rc")
    return [X, W, te.compute((n, k, h, w), lambda a, o, y, x: te.sum(X[a, rc, y, x] * W[o, rc, 0, 0], axis=rc),
                             name="Y")]


def test_a_1x1_convolution_gets_lanes_before_image_row_panels():
    task = SearchTask(conv1x1, (2, 16, 7, 9, 32), "llvm", name="conv1x1")
    assert [s.name for s in task.sketches] == ["Y=lanes", "Y=ptile", "Y=tile"]
    sketch = task.sketches[0]
    d = seed_decisions(task.dag, sketch, task.slots(sketch), best_by_prior(task, sketch), task.hardware)[0]
    sch, args = task.instantiate(to_config(sketch, d))
    f = tl.build(sch, args)
    rng = np.random.default_rng()
    x, w = rng.uniform(-1, 1, (2, 16, 7, 9)).astype("float32"), rng.uniform(-1, 1, (32, 16, 1, 1)).astype("float32")
    y = np.full((2, 32, 7, 9), np.nan, "float32")
    f(x, w, y)
    np.testing.assert_allclose(y, np.einsum("nchw,kc->nkhw", x, w[:, :, 0, 0]), rtol=1e-4, atol=1e-4)


def test_lanes_only_where_a_weight_axis_is_broadcast_to_the_others():
    dw = SearchTask(*WORKLOADS["depthwise"][:2], "llvm", name="depthwise")
    assert lane_read(dw.dag["Y"].op) is None                  # the channel axis indexes input and filter
    mm = SearchTask(*WORKLOADS["matmul"][:2], "llvm", name="matmul")
    assert lane_read(mm.dag["C"].op) is not None              # A's rows would fit, but B packs into panels
    bmm = SearchTask(*WORKLOADS["batch_matmul"][:2], "llvm", name="batch_matmul")
    for task in (dw, mm, bmm):
        assert all(kind not in s.name for s in task.sketches for kind in ("lanes", "root"))
    conv = SearchTask(*WORKLOADS["conv2d"][:2], "llvm", name="conv2d")
    read = lane_read(conv.dag["Y"].op)
    assert read.tensor.name == "W" and read.axis == 1 and read.dim == 0
    assert [s.name for s in conv.sketches][:2] == ["Xpad=root;Y=lanes", "Xpad=inline;Y=tile"]


def test_lanes_records_replay_and_old_records_still_do(tmp_path):
    task = SearchTask(*WORKLOADS["conv2d"][:2], "llvm", name="conv2d")
    base = best_by_prior(task, LANES)
    cands = [(LANES, {**base, "Y.bn": 16, "Y.reg_n": 7, "Y.unpack": "pass"}), (LANES, {**base, "Y.unpack": "row"})]
    # A record of the tiled NCHW sketch as logs before the lanes sketch held it.
    old = {"Y.r0": [4, 2], "Y.r1": [3, 1], "Y.r2": [1, 3], "Y.s0": [1, 1, 1, 1], "Y.s1": [2, 2, 1, 4],
           "Y.s2": [6, 1, 2, 1], "Y.s3": [1, 1, 1, 12], "Y.unroll": 16}
    cands.append((Sketch.parse("Xpad=inline;Y=tile"), old))
    cands.append((INLINE_LANES, {**base, "Y.unpack": "row"}))
    log = tmp_path / "log.json"
    res = MeasureResult((1e-3,), MeasureErrorNo.NO_ERROR)
    record.append(log, [(MeasureInput(task.target, task, to_config(sk, d, task.flop)), res) for sk, d in cands])
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["config"]["knobs"]["Y.bn"] == ["ot", 16]      # plain JSON decisions
    fresh = SearchTask(*WORKLOADS["conv2d"][:2], "llvm", name="conv2d")
    for (sk, d), (inp, _) in zip(cands, record.load_from_file(log)):
        assert from_config(inp.config) == (sk, d)
        assert str(tl.lower(*fresh.instantiate(inp.config))) == str(tl.lower(*task.instantiate(to_config(sk, d))))


def test_the_first_batch_of_a_convolution_is_its_lanes_seeds():
    task = SearchTask(conv2d, (1, 64, 56, 56, 64, 3, 1), AVX512, name="conv2d")
    first = [from_config(c) for c in SketchSearch(task, seed=3).next_batch(8)]
    lanes = [d for sk, d in first if sk == LANES]
    assert len(lanes) >= 5
    acc = task.hardware.accumulators
    for d in lanes[:5]:
        vecs = -(-d["Y.bn"] // task.hardware.lanes())
        assert 1.5 * acc <= d["Y.reg_n"] * vecs <= task.hardware.vector_registers - vecs - 1


def conv_bias_relu(n, c, h, w, f, r, pad):
    X, W, Y = conv2d(n, c, h, w, f, r, pad)
    bias = te.placeholder((f,), name="bias")
    return [X, W, bias, te.compute(Y.shape, lambda a, k, y, x: te.max(Y[a, k, y, x] + bias[k], 0.0), name="out")]


def test_lanes_fused_into_an_elementwise_output_matches_numpy():
    task = SearchTask(conv_bias_relu, (1, 8, 10, 13, 32, 3, 1), "llvm", name="conv_bias_relu")
    sketch = task.sketches[0]
    assert dict(sketch.plans) == {"Xpad": "root", "Y": "lanes>out", "out": "outer"}
    rng = np.random.default_rng()
    for d in ({**best_by_prior(task, sketch), "Y.unpack": "row"}, {**best_by_prior(task, sketch), "Y.unpack": "pass"}):
        sch, args = task.instantiate(to_config(sketch, d))
        assert [t.name for t in args] == ["X", "W", "bias", "out"]
        f = tl.build(sch, args)
        x, w = rng.uniform(-1, 1, (1, 8, 10, 13)).astype("float32"), rng.uniform(-1, 1, (32, 8, 3, 3)).astype("float32")
        b = rng.uniform(-1, 1, 32).astype("float32")
        out = np.full((1, 32, 10, 13), np.nan, "float32")
        f(x, w, b, out)
        np.testing.assert_allclose(out, np.maximum(conv_ref(x, w, 1, 1) + b[:, None, None], 0), rtol=1e-4, atol=1e-4)


def test_inlined_padding_leaves_no_select_and_matches_the_padded_copy():
    # Loop partitioning splits the column tiles at each padding border (a tile straddling one
    # becomes a single iteration, its guards folded) and the window rows at the image's top and
    # bottom (where the row guard is False): the kernel has no select left.  Two images, so the
    # parallel row loop (image x rows) is not linear in the row and the tiles are what splits.
    task = SearchTask(conv2d, (2, 16, 12, 14, 32, 3, 1, 1), "llvm", name="conv")
    d = {**best_by_prior(task, LANES), "Y.reg_n": 7, "Y.unpack": "row"}
    inlined = tl.lower(*task.instantiate(to_config(INLINE_LANES, d)))
    assert "select(" not in str(inlined)
    rng = np.random.default_rng()
    x, w = rng.uniform(-1, 1, (2, 16, 12, 14)).astype("float32"), rng.uniform(-1, 1, (32, 16, 3, 3)).astype("float32")
    outs = []
    for sketch in (INLINE_LANES, LANES):
        f = tl.build(*task.instantiate(to_config(sketch, d)))
        y = np.full((2, 32, 12, 14), np.nan, "float32")
        f(x, w, y)
        outs.append(y)
    np.testing.assert_allclose(outs[0], conv_ref(x, w, 1, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(outs[0], outs[1])  # the same sums in the same order
