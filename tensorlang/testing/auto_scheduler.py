"""TVM's ``tvm.testing.auto_scheduler``: the small ``te`` computations TVM's auto-scheduler tests
tune, each registered as a workload under its function's name (so ``SearchTask(func=
"matmul_auto_scheduler_test", args=...)`` and workload keys name them, as in TVM).

Each returns the computation's tensors, inputs then outputs, in the order the built function
takes them.  ``get_tiled_matmul`` gives a 512^3 matmul's DAG and a loop state tiled by
Ansor's loop-state API (``tensorlang.autoschedule.loop_state``).
"""

from __future__ import annotations

from typing import Any

from .. import autoschedule as auto_scheduler
from .. import te, topi
from ..errors import TensorLangError
from ..topi.nn.winograd import winograd_transform_matrices
from ..topi.utils import get_const_tuple


def _matmul(a: Any, b: Any, name: str, **kw: Any) -> Any:
    """``a @ b`` over their shared axis."""
    k = te.reduce_axis((0, a.shape[1]), name="k")
    return te.compute((a.shape[0], b.shape[1]), lambda i, j: te.sum(a[i][k] * b[k][j], axis=[k]), name=name, **kw)


@auto_scheduler.register_workload
def matmul_auto_scheduler_test(N: int, M: int, K: int) -> list[Any]:  # noqa: N803 - TVM's argument names
    """C[N, M] = A[N, K] @ B[K, M], B marked layout-free (a weight the scheduler may repack)."""
    A = te.placeholder((N, K), name="A")
    B = te.placeholder((K, M), name="B")
    return [A, B, _matmul(A, B, "C", attrs={"layout_free_placeholders": [B]})]


@auto_scheduler.register_workload
def double_matmul_auto_scheduler_test(N: int) -> list[Any]:  # noqa: N803
    """E = (A @ B) @ C, all N x N: a reduction feeding another."""
    A, B, C = (te.placeholder((N, N), name=n, dtype="float32") for n in "ABC")
    return [A, B, C, _matmul(_matmul(A, B, "D"), C, "E")]


@auto_scheduler.register_workload
def parallel_matmul_auto_scheduler_test(N: int) -> list[Any]:  # noqa: N803
    """D = A @ B and E = A @ C: two outputs sharing an input."""
    A, B, C = (te.placeholder((N, N), name=n, dtype="float32") for n in "ABC")
    return [A, B, C, _matmul(A, B, "D"), _matmul(A, C, "E")]


@auto_scheduler.register_workload("matmul_auto_scheduler_test_rename_1")
def matmul_auto_scheduler_test_rename_0(N: int, M: int, K: int) -> list[Any]:  # noqa: N803
    """A plain matmul registered under another name than its function's."""
    A = te.placeholder((N, K), name="A")
    B = te.placeholder((K, M), name="B")
    return [A, B, _matmul(A, B, "C")]


@auto_scheduler.register_workload
def conv2d_nchw_bn_relu_auto_scheduler_test(N: int, H: int, W: int, CI: int, CO: int, kernel_size: int,  # noqa: N803
                                            strides: int, padding: int, dilation: int = 1) -> list[Any]:
    """relu((conv2d_nchw(Data, Kernel) + Bias) * Bn_scale + Bn_offset): a convolution with the
    elementwise tail of a batch-normalized layer."""
    data = te.placeholder((N, CI, H, W), name="Data")
    kernel = te.placeholder((CO, CI, kernel_size, kernel_size), name="Kernel")
    bias, bn_scale, bn_offset = (te.placeholder((CO, 1, 1), name=n) for n in ("Bias", "Bn_scale", "Bn_offset"))
    out_h = (H + 2 * padding - (kernel_size - 1) * dilation - 1) // strides + 1
    out_w = (W + 2 * padding - (kernel_size - 1) * dilation - 1) // strides + 1
    shape = (N, CO, out_h, out_w)
    y = topi.nn.conv2d_nchw(data, kernel, strides, padding, dilation)
    y = te.compute(shape, lambda n, c, h, w: y[n, c, h, w] + bias[c, 0, 0], name="Bias_add")
    y = te.compute(shape, lambda n, c, h, w: y[n, c, h, w] * bn_scale[c, 0, 0], name="Bn_mul")
    y = te.compute(shape, lambda n, c, h, w: y[n, c, h, w] + bn_offset[c, 0, 0], name="Bn_add")
    # TVM's argument order: bn_offset before bn_scale
    return [data, kernel, bias, bn_offset, bn_scale, topi.nn.relu(y)]


@auto_scheduler.register_workload
def max_pool2d_auto_scheduler_test(N: int, H: int, W: int, CI: int, padding: int) -> list[Any]:  # noqa: N803
    """2x2 max pooling, stride 1, ``padding`` on every side."""
    data = te.placeholder((N, CI, H, W), name="Data")
    return [data, topi.nn.pool2d(data, [2, 2], [1, 1], [1, 1], [padding] * 4, "max")]


@auto_scheduler.register_workload
def min_nm_auto_scheduler_test(N: int, M: int) -> list[Any]:  # noqa: N803
    """The minimum of each row."""
    A = te.placeholder((N, M), name="A")
    return [A, topi.min(A, axis=-1)]


@auto_scheduler.register_workload
def softmax_nm_auto_scheduler_test(N: int, M: int) -> list[Any]:  # noqa: N803
    """Softmax over the rows of an N x M matrix."""
    A = te.placeholder((N, M), name="A")
    return [A, topi.nn.softmax(A, axis=1)]


@auto_scheduler.register_workload
def softmax_abcd_auto_scheduler_test(a: int, b: int, c: int, d: int) -> list[Any]:
    """Softmax over the last axis of a 4-d tensor."""
    A = te.placeholder((a, b, c, d), name="A")
    return [A, topi.nn.softmax(A, axis=-1)]


@auto_scheduler.register_workload
def invalid_compute_definition() -> list[Any]:
    """A reduction over two axes that share a name: TVM rejects it when it builds the DAG."""
    A = te.placeholder((10, 10), name="A")
    r1 = te.reduce_axis((0, 2), name="r1")
    r2 = te.reduce_axis((0, 2), name="r1")  # deliberately the same name
    return [A, te.compute((10,), lambda i: te.sum(A[i][r1 + r2], axis=[r1, r2]), name="B")]


@auto_scheduler.register_workload
def zero_rank_reduce_auto_scheduler_test(N: int) -> list[Any]:  # noqa: N803
    """The sum of a vector, as a 0-d tensor."""
    A = te.placeholder((N,), name="A")
    k = te.reduce_axis((0, N), name="k")
    return [A, te.compute((), lambda: te.sum(A[k], k), name="B")]


@auto_scheduler.register_workload
def zero_rank_compute_auto_scheduler_test(N: int) -> list[Any]:  # noqa: N803
    """The first element of a vector, as a 0-d tensor."""
    A = te.placeholder((N,), name="A")
    return [A, te.compute((), lambda: A[0], name="B")]


@auto_scheduler.register_workload
def conv2d_winograd_nhwc_auto_scheduler_test(N: int, H: int, W: int, CI: int, CO: int,  # noqa: N803
                                             kernel_size: int = 3, stride: int = 1, padding: int = 0,
                                             dilation: int = 1) -> list[Any]:
    """An NHWC convolution by Winograd F(4x4, 3x3), the kernel given pre-transformed
    (``weight``: alpha x alpha x CI x CO): tile the padded input, transform the tiles, batched
    matmul with the weight per tile point, inverse-transform, scatter to the output.  The output's
    height and width must be multiples of 4: the last tiles would read past the padding otherwise
    (TVM's unchecked reads; tensorlang's lowering rejects them)."""
    if (dilation if isinstance(dilation, int) else tuple(dilation)) not in (1, (1, 1)):
        raise TensorLangError("conv2d_winograd_nhwc_auto_scheduler_test: dilation must be 1")
    if (stride if isinstance(stride, int) else tuple(stride)) not in (1, (1, 1)):
        raise TensorLangError("conv2d_winograd_nhwc_auto_scheduler_test: stride must be 1")
    m, r = 4, kernel_size
    alpha = m + r - 1
    inputs = te.placeholder((N, H, W, CI), name="inputs")
    N, H, W, CI = get_const_tuple(inputs.shape)
    pad_h, pad_w, _, _ = topi.nn.get_pad_tuple(padding, (r, r))
    padded = topi.nn.pad(inputs, (0, pad_h, pad_w, 0), (0, pad_h, pad_w, 0), name="data_pad")
    A, B, _ = winograd_transform_matrices(m, r, "float32")
    out_h, out_w = H + 2 * pad_h - r + 1, W + 2 * pad_w - r + 1
    tiles_h, tiles_w = (out_h + m - 1) // m, (out_w + m - 1) // m
    P = N * tiles_h * tiles_w
    weight = te.placeholder((alpha, alpha, CI, CO), inputs.dtype, name="weight")
    div, mod = te.indexdiv, te.indexmod

    def tile_of(p: Any) -> tuple[Any, Any, Any]:
        """(image, first row, first column) of tile ``p``."""
        return div(p, tiles_h * tiles_w), mod(div(p, tiles_w), tiles_h) * m, mod(p, tiles_w) * m

    def tile_value(eps: Any, nu: Any, p: Any, ci: Any) -> Any:
        n, y, x = tile_of(p)
        return padded[n][y + eps][x + nu][ci]

    input_tile = te.compute((alpha, alpha, P, CI), tile_value, name="input_tile")
    ra, rb = te.reduce_axis((0, alpha), "r_a"), te.reduce_axis((0, alpha), "r_b")
    data_pack = te.compute(
        (alpha, alpha, P, CI),
        lambda eps, nu, p, ci: te.sum(input_tile[ra][rb][p][ci] * B[ra][eps] * B[rb][nu], axis=[ra, rb]),
        name="data_pack", attrs={"auto_scheduler_simplify_const_tensor_indices": ["eps", "nu", "r_a", "r_b"]})
    ci = te.reduce_axis((0, CI), name="ci")
    bgemm = te.compute((alpha, alpha, P, CO),
                       lambda eps, nu, p, co: te.sum(data_pack[eps][nu][p][ci] * weight[eps][nu][ci][co], axis=[ci]),
                       name="bgemm")
    ra, rb = te.reduce_axis((0, alpha), "r_a"), te.reduce_axis((0, alpha), "r_b")
    inverse = te.compute(
        (m, m, P, CO),
        lambda vh, vw, p, co: te.sum(bgemm[ra][rb][p][co] * A[ra][vh] * A[rb][vw], axis=[ra, rb]),
        name="inverse", attrs={"auto_scheduler_simplify_const_tensor_indices": ["vh", "vw", "r_a", "r_b"]})
    output = te.compute(
        (N, out_h, out_w, CO),
        lambda n, h, w, co: inverse[mod(h, m), mod(w, m), n * tiles_h * tiles_w + div(h, m) * tiles_w + div(w, m), co],
        name="conv2d_winograd")
    return [inputs, weight, output]


def get_tiled_matmul() -> tuple[Any, Any]:
    """A 512^3 matmul's ComputeDAG and a state that tiles C's two spatial loops 4 levels deep
    (factors 4, 8, 8 and 8, 4, 4) and interleaves the tiles, its reduction innermost."""
    dag = auto_scheduler.ComputeDAG(matmul_auto_scheduler_test(512, 512, 512))
    C = dag.tensors[-1]
    state = dag.get_init_state()
    rows = state.split(C, state[C].iters[0], [4, 8, 8])
    cols = state.split(C, state[C].iters[4], [8, 4, 4])
    order = [it for pair in zip(rows, cols) for it in pair]
    state.reorder(C, [*order, state[C].iters[8]])
    return dag, state


__all__ = ["get_tiled_matmul",
           "matmul_auto_scheduler_test", "double_matmul_auto_scheduler_test", "parallel_matmul_auto_scheduler_test",
           "matmul_auto_scheduler_test_rename_0", "conv2d_nchw_bn_relu_auto_scheduler_test",
           "max_pool2d_auto_scheduler_test", "min_nm_auto_scheduler_test", "softmax_nm_auto_scheduler_test",
           "softmax_abcd_auto_scheduler_test", "invalid_compute_definition", "zero_rank_reduce_auto_scheduler_test",
           "zero_rank_compute_auto_scheduler_test", "conv2d_winograd_nhwc_auto_scheduler_test"]
