"""TVM 0.12's loop-state unit tests (test_auto_scheduler_loop_state.py, stored commit c4a8a9c7) as
a TVM user's code reads after ``import tensorlang as tvm; from tensorlang import autoschedule as
auto_scheduler``, test names kept, workloads from ``tensorlang.testing.auto_scheduler``.

Where TVM only inspects a state, the port also builds it: the state's steps are replayed on a
small DAG of the same structure (``apply_steps_from_state`` takes any DAG the steps fit), built,
and run against numpy on fresh random data."""

import numpy as np

import tensorlang as tvm
from tensorlang import autoschedule as auto_scheduler
from tensorlang import te, topi
from tensorlang.testing.auto_scheduler import conv2d_nchw_bn_relu_auto_scheduler_test, matmul_auto_scheduler_test
from tensorlang.topi.testing import conv2d_nchw_python


def _run(dag, state, target, inputs):
    """Build ``state``'s steps on ``dag`` for ``target``, run them on ``inputs`` (numpy arrays of
    the DAG's placeholders, in order) and return the outputs."""
    sch, args = dag.apply_steps_from_state(state)
    func = tvm.build(sch, args, target)
    dev = tvm.device(target.split()[0], 0)
    arrays = [tvm.nd.array(x, dev) for x in inputs]
    outs = [tvm.nd.empty([int(d) for d in t.shape], t.dtype, dev) for t in args[len(inputs):]]
    func(*arrays, *outs)
    return [o.numpy() for o in outs]


def _check_matmul(state, n, target="llvm", k=None):
    """``state`` (of a matmul DAG) replayed on an n x n (x k) matmul, against numpy."""
    k = k or n
    rng = np.random.default_rng()
    a = rng.standard_normal((n, k)).astype("float32")
    b = rng.standard_normal((k, n)).astype("float32")
    dag = auto_scheduler.ComputeDAG(matmul_auto_scheduler_test(n, n, k))
    (c,) = _run(dag, state, target, [a, b])
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_split_fuse_reorder_annotation():
    A, B, C = matmul_auto_scheduler_test(N=512, M=512, K=512)
    dag = auto_scheduler.ComputeDAG([A, B, C])
    s0 = dag.get_init_state()
    i, j, k = s0[C].iters

    assert i.range.extent == 512

    io, ii = s0.split(C, i, [16])
    assert s0[C].iters[0] == io
    assert s0[C].iters[1] == ii
    assert io.range.extent == 32
    assert ii.range.extent == 16

    jo, ji = s0.split(C, j, [8])
    assert jo.range.extent == 64
    assert ji.range.extent == 8

    s0.reorder(C, [io, jo, k, ji, ii])
    assert s0[C].iters[2].range.extent == 512

    fused_it = s0.fuse(C, [io, jo])
    assert fused_it.range.extent == 2048

    s1 = dag.get_init_state()
    i, j, _ = s1[C].iters
    i1, i2, i3 = s1.split(C, i, [8, 2])
    j1, j2, j3 = s1.split(C, j, [32, 8], False)
    assert s1[C].iters[0].range.extent == 32
    assert s1[C].iters[1].range.extent == 8
    assert s1[C].iters[2].range.extent == 2
    assert s1[C].iters[3].range.extent == 32
    assert s1[C].iters[4].range.extent == 8
    assert s1[C].iters[5].range.extent == 2

    res = s1.bind(C, i1, "blockIdx.x")
    assert res == s1[C].iters[0]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["blockIdx.x"]

    res = s1.bind(C, i2, "vthread")
    assert res == s1[C].iters[1]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["vthread"]

    res = s1.bind(C, i3, "threadIdx.y")
    assert res == s1[C].iters[2]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["threadIdx.y"]

    res = s1.parallel(C, j1)
    assert res == s1[C].iters[3]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["parallel"]

    res = s1.unroll(C, j2)
    assert res == s1[C].iters[4]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["unroll"]

    res = s1.vectorize(C, j3)
    assert res == s1[C].iters[5]
    assert res.annotation == auto_scheduler.loop_state.State.ANNOTATION_TRANS_TABLE["vectorize"]

    # tensorlang: both states build and compute the product
    _check_matmul(s0, 64)
    _check_matmul(s1, 16, "cuda -emulate")


def test_compute_at_root_inline():
    dag = auto_scheduler.ComputeDAG(
        conv2d_nchw_bn_relu_auto_scheduler_test(
            N=1, H=224, W=224, CI=3, CO=64, kernel_size=7, strides=2, padding=3
        )
    )
    s0 = dag.get_init_state()

    # data, padding, kernel = 0, 1, 2
    conv = s0.stage_ops[3]
    # bias = 4
    bias_add = s0.stage_ops[5]
    # bn_scale = 6
    bn_mul = s0.stage_ops[7]
    # bn_offset = 8
    bn_add = s0.stage_ops[9]
    relu = s0.stage_ops[10]

    s0.compute_inline(bn_add)
    assert s0[bn_add].compute_at == 1

    s0.compute_inline(bn_mul)
    assert s0[bn_mul].compute_at == 1

    s0.compute_inline(bias_add)
    assert s0[bias_add].compute_at == 1

    assert s0[conv].iters[0].range.extent == 1
    assert s0[conv].iters[1].range.extent == 64
    assert s0[conv].iters[2].range.extent == 112
    assert s0[conv].iters[3].range.extent == 112
    assert s0[conv].iters[4].range.extent == 3
    assert s0[conv].iters[5].range.extent == 7
    assert s0[conv].iters[6].range.extent == 7
    s0.compute_at(conv, relu, s0[relu].iters[2])
    assert s0[conv].compute_at == 2
    s0 = dag.infer_bound_from_state(s0)
    assert s0[conv].iters[0].range.extent == 1
    assert s0[conv].iters[1].range.extent == 1
    assert s0[conv].iters[2].range.extent == 1
    assert s0[conv].iters[3].range.extent == 112
    assert s0[conv].iters[4].range.extent == 3
    assert s0[conv].iters[5].range.extent == 7
    assert s0[conv].iters[6].range.extent == 7
    attached = s0.copy()

    s0.compute_root(bn_mul)
    assert s0[bn_mul].compute_at == 0

    s0.compute_root(conv)
    assert s0[conv].compute_at == 0
    s0 = dag.infer_bound_from_state(s0)
    assert s0[conv].iters[0].range.extent == 1
    assert s0[conv].iters[1].range.extent == 64
    assert s0[conv].iters[2].range.extent == 112
    assert s0[conv].iters[3].range.extent == 112
    assert s0[conv].iters[4].range.extent == 3
    assert s0[conv].iters[5].range.extent == 7
    assert s0[conv].iters[6].range.extent == 7

    # tensorlang: both states build, on a smaller image, and compute the layer
    small = auto_scheduler.ComputeDAG(conv2d_nchw_bn_relu_auto_scheduler_test(
        N=1, H=16, W=16, CI=3, CO=8, kernel_size=7, strides=2, padding=3))
    rng = np.random.default_rng()
    data = rng.standard_normal((1, 3, 16, 16)).astype("float32")
    kernel = rng.standard_normal((8, 3, 7, 7)).astype("float32")
    bias, bn_offset, bn_scale = (rng.standard_normal((8, 1, 1)).astype("float32") for _ in range(3))
    want = np.maximum((conv2d_nchw_python(data, kernel, 2, 3) + bias) * bn_scale + bn_offset, 0)
    for state in (attached, s0):
        (got,) = _run(small, state, "llvm", [data, kernel, bias, bn_offset, bn_scale])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_cache_read_write():
    N, H, W, CO, CI, KH, KW, strides, padding = 4, 7, 7, 512, 512, 3, 3, (1, 1), (1, 1)

    def computation(N, CI, CO):  # tensorlang: the same computation at other sizes, to build it
        data = te.placeholder((N, CI, H, W), name="Data")
        kernel_data = te.placeholder((CO, CI, KH, KW), name="Kernel_data")
        k0, k1 = te.compute(
            kernel_data.shape,
            lambda *i: (kernel_data(*i) + 1, kernel_data(*i) / 2),
            name="Kernel_split",
        )
        kernel = te.compute(kernel_data.shape, lambda *i: k0(*i) + k1(*i), name="Kernel")
        conv = topi.nn.conv2d_nchw(data, kernel, strides, padding, dilation=1)
        relu = topi.nn.relu(conv)
        add = topi.add(data, relu)
        return data, kernel_data, k0, kernel, conv, relu, add

    data, kernel_data, k0, kernel, conv, relu, add = computation(N, CI, CO)

    dag = auto_scheduler.ComputeDAG([data, kernel_data, add])
    s0 = dag.get_init_state()

    pad_temp = s0.stage_ops[1]
    kernel_split = s0.stage_ops[3]

    # 0: init state
    ori_its = s0[add].iters
    its = s0.split(add, s0[add].iters[0], [2])
    s0.reorder(add, [its[0], ori_its[1], its[1], ori_its[2], ori_its[3]])
    s0.compute_inline(relu)

    # 1: simple cache_write with compute_at
    conv_global = s0.cache_write(conv, "global")
    s0.compute_at(conv_global, conv, s0[conv].iters[3])

    # 2: simple cache_read with compute_at
    kernel_global = s0.cache_read(kernel, "global", [conv_global])
    s0.compute_at(kernel_global, conv_global, s0[conv_global].iters[4])
    s1 = dag.infer_bound_from_state(s0)
    assert s1[conv].iters[0].range.extent == 4
    assert s1[conv].iters[1].range.extent == 512
    assert s1[conv].iters[2].range.extent == 7
    assert s1[conv].iters[3].range.extent == 7
    assert s1[kernel_global].iters[0].range.extent == 1
    assert s1[kernel_global].iters[1].range.extent == 1
    assert s1[kernel_global].iters[2].range.extent == 3
    assert s1[kernel_global].iters[3].range.extent == 3
    assert s1[conv_global].iters[0].range.extent == 1
    assert s1[conv_global].iters[1].range.extent == 1
    assert s1[conv_global].iters[2].range.extent == 1
    assert s1[conv_global].iters[3].range.extent == 1
    assert s1[conv_global].iters[4].range.extent == 512
    assert s1[conv_global].iters[5].range.extent == 3
    assert s1[conv_global].iters[6].range.extent == 3
    step2 = s1.copy()

    # 3: two level cache_read with compute_at
    #    preparing for GPU's shared memory & local memory
    pad_temp_global = s0.cache_read(pad_temp, "global", [conv_global])
    pad_temp_shared = s0.cache_read(pad_temp_global, "shared", [conv_global])
    s0.compute_at(pad_temp_global, conv_global, s0[conv_global].iters[2])
    s0.compute_at(pad_temp_shared, conv_global, s0[conv_global].iters[4])

    # 4: cache_read with multi readers
    #    This stage cannot be compute at to its consumer
    s0.cache_read(data, "global", [pad_temp, add])
    s1 = dag.infer_bound_from_state(s0)
    assert s1[conv].iters[0].range.extent == 4
    assert s1[conv].iters[1].range.extent == 512
    assert s1[conv].iters[2].range.extent == 7
    assert s1[conv].iters[3].range.extent == 7
    assert s1[kernel_global].iters[0].range.extent == 1
    assert s1[kernel_global].iters[1].range.extent == 1
    assert s1[kernel_global].iters[2].range.extent == 3
    assert s1[kernel_global].iters[3].range.extent == 3
    assert s1[conv_global].iters[0].range.extent == 1
    assert s1[conv_global].iters[1].range.extent == 1
    assert s1[conv_global].iters[2].range.extent == 1
    assert s1[conv_global].iters[3].range.extent == 1
    assert s1[conv_global].iters[4].range.extent == 512
    assert s1[conv_global].iters[5].range.extent == 3
    assert s1[conv_global].iters[6].range.extent == 3
    assert s1[pad_temp_global].iters[0].range.extent == 1
    assert s1[pad_temp_global].iters[1].range.extent == 512
    assert s1[pad_temp_global].iters[2].range.extent == 3
    assert s1[pad_temp_global].iters[3].range.extent == 3
    assert s1[pad_temp_shared].iters[0].range.extent == 1
    assert s1[pad_temp_shared].iters[1].range.extent == 1
    assert s1[pad_temp_shared].iters[2].range.extent == 3
    assert s1[pad_temp_shared].iters[3].range.extent == 3

    # 5: cache_write with multi outputs
    # (TVM's comment: its cache_write of a multi-output stage leaves two kernel_split stages in
    # the lowered code; tensorlang's does not)
    kernel_split_global = s0.cache_write(kernel_split, "global")
    assert len(s0[kernel_split].iters) == len(s0[kernel_split_global].iters)
    for it0, it1 in zip(s0[kernel_split].iters, s0[kernel_split_global].iters):
        assert it0.range == it1.range

    # tensorlang: the states build, with 8 channels and a batch of 2, and compute the layer
    small = auto_scheduler.ComputeDAG([t for k, t in enumerate(computation(2, 8, 8)) if k in (0, 1, 6)])
    rng = np.random.default_rng()
    x = rng.standard_normal((2, 8, H, W)).astype("float32")
    w = rng.standard_normal((8, 8, KH, KW)).astype("float32")
    want = x + np.maximum(conv2d_nchw_python(x, (w + 1) + w / 2, 1, 1), 0)
    for state in (step2, s0):
        (got,) = _run(small, state, "llvm", [x, w])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_follow_split_follow_fused_split():
    A, B, C = matmul_auto_scheduler_test(512, 512, 512)
    dag = auto_scheduler.ComputeDAG([A, B, C])
    s0 = dag.get_init_state()

    C_global = s0.cache_write(C, "global")
    its0 = s0.split(C, s0[C].iters[0], [4, 2, 8, 4], True)
    split_step0 = len(s0.transform_steps) - 1
    for level in range(1, 6):
        tmp = s0.copy()
        tmp.follow_split(C_global, tmp[C_global].iters[0], split_step0, level)
        for i in range(0, level):
            assert tmp[C].iters[i].range.extent == tmp[C_global].iters[i].range.extent
    followed = tmp

    its1 = s0.split(C, s0[C].iters[5], [2, 2, 4, 8])
    split_step1 = len(s0.transform_steps) - 1
    its = []
    for i0, i1 in zip(its0, its1):
        its.append(i0)
        its.append(i1)
    s0.reorder(C, its)
    for i in range(0, 5):
        s0.fuse(C, [s0[C].iters[i], s0[C].iters[i + 1]])

    for level in range(0, 4):
        tmp = s0.copy()
        tmp.follow_fused_split(
            C_global, tmp[C_global].iters[0], [split_step0, split_step1], level, False
        )
        assert tmp[C].iters[level + 1].range.extent == tmp[C_global].iters[0].range.extent

    for level in range(0, 4):
        tmp = s0.copy()
        tmp.follow_fused_split(
            C_global, tmp[C_global].iters[0], [split_step0, split_step1], level, True
        )
        assert tmp[C].iters[level + 1].range.extent == tmp[C_global].iters[1].range.extent

    # tensorlang: the states build; the cache is computed inside the tiles it follows
    for state in (followed, tmp):
        state.compute_at(C_global, C, state[C].iters[0])
        _check_matmul(state, 512, k=16)


def test_rfactor():
    A, B, C = matmul_auto_scheduler_test(8, 8, 512)
    dag = auto_scheduler.ComputeDAG([A, B, C])
    s0 = dag.get_init_state()

    ko, ki = s0.split(C, s0[C].iters[2], [16])

    s1 = s0.copy()
    C_r = s1.rfactor(C, ko, 2)
    assert s1[C_r].iters[0].range.extent == 8
    assert s1[C_r].iters[1].range.extent == 8
    assert s1[C_r].iters[2].range.extent == 32
    assert s1[C_r].iters[3].range.extent == 16
    assert s1[C].iters[0].range.extent == 8
    assert s1[C].iters[1].range.extent == 8
    assert s1[C].iters[2].range.extent == 32

    s2 = s0.copy()
    C_r = s2.rfactor(C, ki, 2)
    assert s2[C_r].iters[0].range.extent == 8
    assert s2[C_r].iters[1].range.extent == 8
    assert s2[C_r].iters[2].range.extent == 16
    assert s2[C_r].iters[3].range.extent == 32
    assert s2[C].iters[0].range.extent == 8
    assert s2[C].iters[1].range.extent == 8
    assert s2[C].iters[2].range.extent == 16

    # tensorlang: both states build and compute the product
    for state in (s1, s2):
        _check_matmul(state, 8, k=512)
