"""The FLOP counter counts arithmetic on tensor values only: each operator's count is the textbook formula."""

import sys
from pathlib import Path

import pytest

from tensorlang import autotune, te
from tensorlang.autotune.flop import compute_flop

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


def test_matmul_is_2nlm():
    import matmul
    _, _, C = matmul.matmul(24, 40, 56)
    assert compute_flop([C]) == 2 * 24 * 40 * 56


def test_packed_matmul_layout_stage_is_free():
    import matmul
    _, (_, _, C) = matmul.blocked(24, 40, 70, nr=32)  # packs B with bounds checks on j
    assert compute_flop([C]) == 2 * 24 * 40 * 70


def test_conv2d_ignores_padding_and_index_arithmetic():
    import conv2d
    N, C, H, W, K, R, S, pad = 1, 8, 14, 14, 16, 3, 3, 1
    *_, Y = conv2d.conv2d_nchw(N, C, H, W, K, R, S, pad)
    assert compute_flop([Y]) == 2 * N * K * H * W * C * R * S


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_and_pointwise_conv(stride):
    N, C, H, W, R = 2, 8, 12, 12, 3
    X = te.placeholder((N, C, H, W), name="X")
    F = te.placeholder((C, R, R), name="F")
    OH = (H - R) // stride + 1
    ry, rx = te.reduce_axis((0, R), "ry"), te.reduce_axis((0, R), "rx")
    D = te.compute((N, C, OH, OH), lambda n, c, y, x: te.sum(
        X[n, c, y * stride + ry, x * stride + rx] * F[c, ry, rx], axis=[ry, rx]), name="D")
    assert compute_flop([D]) == 2 * N * C * OH * OH * R * R
    K = 24
    Wp = te.placeholder((K, C), name="Wp")
    rc = te.reduce_axis((0, C), "rc")
    P = te.compute((N, K, H, W), lambda n, k, y, x: te.sum(X[n, rc, y, x] * Wp[k, rc], axis=rc), name="P")
    assert compute_flop([P]) == 2 * N * K * H * W * C


def test_elementwise_softmax_pool_and_bias_relu():
    n, m = 33, 70
    A = te.placeholder((n, m), name="A")
    B = te.placeholder((n, m), name="B")
    add = te.compute((n, m), lambda i, j: A[i, j] + B[i, j], name="add")
    assert compute_flop([add]) == n * m
    # softmax: max (1), subtract and exp (2), sum (1), divide (1) per element.
    k = te.reduce_axis((0, m), "k")
    mx = te.compute((n,), lambda i: te.max(A[i, k], axis=k), name="mx")
    e = te.compute((n, m), lambda i, j: te.exp(A[i, j] - mx[i]), name="e")
    k2 = te.reduce_axis((0, m), "k2")
    sm = te.compute((n,), lambda i: te.sum(e[i, k2], axis=k2), name="sm")
    out = te.compute((n, m), lambda i, j: e[i, j] / sm[i], name="out")
    assert compute_flop([out]) == 5 * n * m
    # max pooling 2x2 stride 2: one max per window element.
    ry, rx = te.reduce_axis((0, 2), "ry"), te.reduce_axis((0, 2), "rx")
    pool = te.compute((16, 35), lambda i, j: te.max(A[2 * i + ry, 2 * j + rx], axis=[ry, rx]), name="pool")
    assert compute_flop([pool]) == 16 * 35 * 4
    # bias + relu: one add and one max per element; a select on indices costs nothing.
    bias = te.placeholder((m,), name="bias")
    br = te.compute((n, m), lambda i, j: te.max(A[i, j] + bias[j], te.const(0.0, "float32")), name="br")
    sel = te.compute((n, m), lambda i, j: te.if_then_else(j < 5, br[i, j], te.const(0.0, "float32")), name="sel")
    assert compute_flop([sel]) == 2 * n * m


def test_template_add_flop_wins_over_the_count():
    name = "test_flop/padded_vadd"

    @autotune.template(name)
    def padded(n):
        cfg = autotune.get_config()
        cfg.define_knob("x", [1])
        A = te.placeholder((n + 16,), name="A")
        C = te.compute((n + 16,), lambda i: A[i] * 2.0, name="C")  # computes 16 padding elements too
        cfg.add_flop(n)
        return te.create_schedule(C.op), [A, C]

    assert autotune.task.create(name, (100,), "llvm").flop == 100


def test_example_templates_declare_their_flops():
    import conv2d
    import matmul  # noqa: F401 - registers the template
    assert autotune.task.create("matmul", (64, 32, 48, "float32"), "llvm").flop == 2 * 64 * 32 * 48
    args = (1, 16, 14, 14, 32, 3, 3, 1, "float32")
    for name in ("conv2d_nchw", "conv2d_nchw_cuda"):
        assert autotune.task.create(name, args, "llvm" if "cuda" not in name else "cuda -emulate").flop == \
            2 * 32 * 14 * 14 * 16 * 9
    assert conv2d
