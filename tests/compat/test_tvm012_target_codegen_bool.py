"""TVM 0.12 tests/python/unittest/test_target_codegen_bool.py, ported with only the imports changed:
boolean compare / load / store.

TVM's test takes ``target`` and ``dev`` from TVM's pytest plugin (tvm.testing.plugin, which TVM's
conftest.py loads), run once per enabled target: here tensorlang.testing.plugin, imported below as
a conftest would load it; the same test body also runs on llvm and cuda -emulate through
@tvm.testing.parametrize_targets.
"""
import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te

# TVM's conftest.py: pytest_plugins = ["tvm.testing.plugin"]
from tensorlang.testing.plugin import pytest_generate_tests  # noqa: F401

arr_size = tvm.testing.parameter(32)


@tvm.testing.fixture
def compute(arr_size):
    A = te.placeholder((arr_size,), name="A")
    B = te.placeholder((arr_size,), name="B")
    C = te.compute(A.shape, lambda *i: A(*i) > B(*i), name="C")
    D = te.compute(C.shape, lambda *i: tvm.tir.all(C(*i), A(*i) > 1).astype("float32"), name="D")
    return [A, B, C, D]


@tvm.testing.fixture
def schedule(target, compute):
    target = tvm.target.Target(target)
    A, B, C, D = compute
    if target.kind.name == "llvm":
        s = te.create_schedule(D.op)
        xo, xi = s[C].split(C.op.axis[0], factor=4)
        xo1, xo2 = s[C].split(xo, factor=13)
        s[C].parallel(xo2)
    else:
        s = te.create_schedule(D.op)
        for stage in [C, D]:
            xo, xi = s[stage].split(stage.op.axis[0], factor=4)
            s[stage].bind(xo, te.thread_axis("blockIdx.x"))
            s[stage].bind(xi, te.thread_axis("threadIdx.x"))
    return s


@tvm.testing.uses_gpu
def test_cmp_load_store(target, dev, arr_size, compute, schedule):
    _cmp_load_store(target, dev, arr_size, compute, schedule)


@tvm.testing.parametrize_targets("llvm", "cuda -emulate")
def test_cmp_load_store_on_each_target_here(target, dev, arr_size, compute, schedule):
    _cmp_load_store(target, dev, arr_size, compute, schedule)


def _cmp_load_store(target, dev, arr_size, compute, schedule):
    A, B, _, D = compute
    f = tvm.build(schedule, [A, B, D], target)

    a_np = np.random.uniform(size=arr_size).astype(A.dtype)
    b_np = np.random.uniform(size=arr_size).astype(B.dtype)
    a = tvm.nd.array(a_np, dev)
    b = tvm.nd.array(b_np, dev)
    d = tvm.nd.array(np.zeros(arr_size, dtype=D.dtype), dev)
    f(a, b, d)
    np.testing.assert_equal(
        d.numpy(),
        np.logical_and(a_np > b_np, a_np > 1).astype("float32"),
    )


if __name__ == "__main__":
    pytest.main([__file__])
