"""From TVM 0.12's tests/python/topi/python/test_topi_dense.py as a TVM user runs it (imports changed;
its test_dense_cuda_int8 with the test_dense body and ref_data fixture written out, smaller dims, on
``cuda -emulate``; common.py's Int8Fallback as the file imports it): it calls
``topi.cuda.dense_int8``/``schedule_dense_int8``, which tensorlang lacked."""

import numpy as np
from tensorlang.autotvm.task.space import FallbackConfigEntity

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import autotvm, te, topi
from tensorlang.topi.utils import get_const_tuple

# the emulator; an explicit -arch spares the target a probe of the machine's GPU (a subprocess)
EMU = "cuda -emulate -arch=sm_90"


class Int8Fallback(autotvm.FallbackContext):
    def _query_inside(self, target, workload):
        key = (target, workload)
        if key in self.memory:
            return self.memory[key]
        cfg = FallbackConfigEntity()
        self.memory[key] = cfg
        cfg.is_fallback = False
        return cfg


def test_dense_cuda_int8():
    target, dev = EMU, tvm.device(EMU, 0)
    batch_size, in_dim, out_dim, use_bias = 2, 32, 24, True
    in_dtype, out_dtype = "int8", "int32"
    implementations = [(topi.cuda.dense_int8, topi.cuda.schedule_dense_int8)]

    # ref_data (fresh data, no seed)
    a_np = np.random.randint(low=-128, high=127, size=(batch_size, in_dim)).astype(in_dtype)
    b_np = np.random.randint(low=-128, high=127, size=(out_dim, in_dim)).astype(in_dtype)
    c_np = np.random.randint(low=-128, high=127, size=(out_dim,)).astype(out_dtype)
    d_np = np.dot(a_np.astype(out_dtype), b_np.T.astype(out_dtype)) + c_np
    d_np = np.maximum(d_np, 0.0).astype(out_dtype)

    # test_dense
    A = te.placeholder((batch_size, in_dim), name="A", dtype=in_dtype)
    B = te.placeholder((out_dim, in_dim), name="B", dtype=in_dtype)
    C = te.placeholder((out_dim,), name="C", dtype=out_dtype)
    with Int8Fallback():
        for fcompute, fschedule in implementations:
            with tvm.target.Target(target):
                D = fcompute(A, B, C if use_bias else None, out_dtype)
                D = topi.nn.relu(D)
                s = fschedule([D])
            a = tvm.nd.array(a_np, dev)
            b = tvm.nd.array(b_np, dev)
            c = tvm.nd.array(c_np, dev)
            d = tvm.nd.array(np.zeros(get_const_tuple(D.shape), dtype=out_dtype), dev)
            f = tvm.build(s, [A, B, C, D], target, name="dense")
            f(a, b, c, d)
            tvm.testing.assert_allclose(d.numpy(), d_np, atol=0, rtol=0)
