"""TVM 0.12's tests/python/unittest/test_autotvm_feature.py, as a TVM user's code reads after
``import tensorlang as tvm; from tensorlang import te; from tensorlang.autotvm import feature``
(test names kept).  Changes to test_feature_shape: tensorlang.target has no ``mali()`` or
``arm_cpu()`` (and no OpenCL backend), so ``Target("llvm -device=arm_cpu")`` stands in for
arm_cpu(); for CUDA only the loop orders tensorlang lowers are drawn (a thread-bound data axis
inside the reduction loop is refused by lowering, see test_feature_shape_thread_inside_reduction);
20 samples instead of 100.  Then tensorlang's own checks of the GPU features and names."""

import numpy as np
import pytest
from tensorlang.autotvm import feature

import tensorlang as tvm
from tensorlang import te


def test_iter_feature_gemm():
    N = 128

    k = te.reduce_axis((0, N), "k")
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    C = te.compute(A.shape, lambda y, x: te.sum(A[y, k] * B[k, x], axis=k), name="C")

    s = te.create_schedule(C.op)

    feas = feature.get_itervar_feature(s, [A, B, C], take_log=False)

    expected = [
        {
            "_attr_": [128, 1, 128, 2097152, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            "A_0": [128, -1, 16384, 128, 0, 0],
            "B_0": [0, -1, 16384, 128, 0, 0],
            "C_0": [128, -1, 16384, 128, 0, 0],
            "C_1": [128, -1, 16384, 128, 0, 0],
        },
        {
            "_attr_": [128, 2, 16384, 16384, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            "A_0": [0, -1, 128, 128, 0, 0],
            "B_0": [1, -1, 16384, 1, 0, 0],
            "C_0": [1, -1, 128, 128, 0, 0],
            "C_1": [1, -1, 128, 128, 0, 0],
        },
        {
            "_attr_": [128, 3, 2097152, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            "A_0": [1, -1, 128, 1, 0, 0],
            "B_0": [128, -1, 128, 1, 0, 0],
            "C_1": [0, -1, 1, 128, 0, 0],
            "C_2": [0, -1, 1, 128, 0, 0],
        },
    ]

    for ans, row in zip(expected, feas):
        for pair in row:
            if pair[0] not in ans:
                continue
            assert ans[pair[0]] == pair[1:], f"{pair[0]}: {ans[pair[0]]} vs {pair[1:]}"


def test_curve_feature_gemm():
    N = 128

    k = te.reduce_axis((0, N), "k")
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    C = te.compute(A.shape, lambda y, x: te.sum(A[y, k] * B[k, x], axis=k), name="C")

    s = te.create_schedule(C.op)

    feas = feature.get_buffer_curve_sample_flatten(s, [A, B, C], sample_n=30)
    # sample_n * #buffers * #curves * 2 numbers per curve
    assert len(feas) == 30 * 3 * 4 * 2


def _gemm(N):
    k = te.reduce_axis((0, N), "k")
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    C = te.compute(A.shape, lambda y, x: te.sum(A[y, k] * B[k, x], axis=k), name="C")
    return k, A, B, C


def test_feature_shape():
    """test the dimensions of flatten feature are the same"""

    N = 1024
    n_sample = 20

    def get_gemm_feature(target):
        k, A, B, C = _gemm(N)

        s = te.create_schedule(C.op)

        y, x = s[C].op.axis
        axes = list(s[C].tile(y, x, 8, 8)) + [k]
        perm = np.random.permutation(5)
        if "gpu" in target.keys:
            while list(perm).index(4) < 3:  # k before the third data axis (threadIdx.y): see above
                perm = np.random.permutation(5)
        axes = [axes[x] for x in perm]
        s[C].reorder(*axes)

        if "gpu" in target.keys:
            pick = []
            # filter out reduction axis
            for i in range(len(perm)):
                if perm[i] != 4:
                    pick.append(axes[i])
            s[C].bind(pick[0], te.thread_axis("blockIdx.x"))
            s[C].bind(pick[1], te.thread_axis("vthread"))
            s[C].bind(pick[2], te.thread_axis("threadIdx.y"))

        with target:
            feas = feature.get_itervar_feature(s, [A, B, C])
            feas = feature.flatten_itervar_feature(feas)
        return feas

    targets = [
        tvm.target.cuda(),
        tvm.target.Target("llvm -device=arm_cpu"),
    ]

    for target in targets:
        dim = len(get_gemm_feature(target))
        for i in range(n_sample):
            assert dim == len(get_gemm_feature(target)), (
                "dimensions of feature do not match" " for different configurations"
            )


def test_feature_shape_thread_inside_reduction():
    # a threadIdx-bound data-parallel axis inside the reduction loop was refused as a
    # "cross-thread reduction"; TVM lowers it (each thread runs k for its own x)
    k, A, B, C = _gemm(64)
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    s[C].reorder(k, y, x)
    s[C].bind(x, te.thread_axis("threadIdx.x"))
    with tvm.target.cuda():
        assert len(feature.get_itervar_feature_flatten(s, [A, B, C])) == 3 * 42


# --- tensorlang's own -----------------------------------------------------------------------------

def test_gpu_annotations_and_thread_counts():
    k, A, B, C = _gemm(64)
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    yo, xo, yi, xi = s[C].tile(y, x, 8, 8)
    s[C].reorder(yo, yi, xo, xi, k)
    s[C].bind(yo, te.thread_axis("blockIdx.x"))
    s[C].bind(yi, te.thread_axis("vthread"))
    s[C].bind(xo, te.thread_axis("threadIdx.y"))
    s[C].unroll(xi)
    with tvm.target.cuda():
        rows = feature.get_itervar_feature(s, [A, B, C])
    annotation = {str(row[0][1]): feature.ANNOTATIONS[row[1][5:].index(1)] for row in rows}
    assert annotation == {"y.outer": "blockIdx.x", "y.inner": "vthread", "x.outer": "threadIdx.y",
                          "x.inner": "unrolled", "k": "serial"}
    touch = {str(row[0][1]): {pair[0]: pair[1:] for pair in row[3:]} for row in rows}
    # Inside one thread (x.outer), B moves with x.inner (8 positions) times k (64), each read once.
    assert touch["x.outer"]["B_0"] == [8, -1, 4096, 1, 8, 1]
    assert touch["k"]["B_0"] == [64, -1, 64, 1, 0, 0]
    assert rows[4][2] == ["_arith_", 1, 1, 0]  # one float add and one multiply in the k loop
    names = feature.get_flatten_name(rows)
    flat = feature.get_itervar_feature_flatten(s, [A, B, C], take_log=True)
    assert len(names) == len(flat) == 5 * 42
    assert names[0] == "f0.y.outer._attr_.length" and names[-1] == "f209.k.C_1.T_reuse"
    assert flat[0] == pytest.approx(np.log2(8 + 1))
