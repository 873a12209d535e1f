"""TVM 0.12's tests/python/topi/python/test_topi_einsum.py as a TVM user runs it (imports changed, a
subset of its cases), on llvm.  All pass but the last symbolic case: there "ij,jk->ik" takes the
contracted j from K (first operand) while the second operand's K2 is 1 at run time, which numpy
broadcasts and TVM reads out of bounds; tensorlang's argument checks stop the call with an
ArgumentError naming the read, which named pl1[j, j] (the output's axes were i, j whatever their
labels) until the axes took their labels' names."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te, topi


def with_tvm(lam, shapes, ops, out_shape):
    """Take numpy arrays as args, convert them to TVM tensors and call `lam`.
    Result of lambda is converted back to numpy array and returned.
    """
    dev = tvm.cpu(0)
    pls = []  # placeholders
    vals_nd = []  # initial values
    for i, (shape, arg) in enumerate(zip(shapes, ops)):
        pls.append(te.placeholder(shape, name="pl" + str(i)))
        vals_nd.append(tvm.nd.array(arg, dev))

    out = lam(*pls)
    out_nd = tvm.nd.array(np.zeros(out_shape).astype(out.dtype), device=dev)
    s = te.create_schedule([out.op])
    m = tvm.build(s, pls + [out], "llvm")
    m(*(vals_nd + [out_nd]))
    return out_nd.numpy()


def verify_einsum(subscripts, shapes, shape_dict=None):
    if shape_dict is None:
        shape_dict = {}
    ops = []  # ndarrays to be used as inputs
    symbolic_shapes = []  # shapes to declare the placeholders
    name_to_var = {}

    def get_concrete_shape(shape):
        return [shape_dict[s] if isinstance(s, str) else s for s in shape]

    def get_symblic_shape_var(name, dtype="int32"):
        if name not in name_to_var:
            name_to_var[name] = te.var(name, dtype=dtype)
        return name_to_var[name]

    def get_symbolic_shape(shape):
        return [get_symblic_shape_var(s) if isinstance(s, str) else s for s in shape]

    for shape in shapes:
        concrete_shape = get_concrete_shape(shape)
        tmp = np.random.uniform(low=-1.0, high=1.0, size=concrete_shape).astype(np.float32)
        ops.append(tmp)
        symbolic_shape = get_symbolic_shape(shape)
        symbolic_shapes.append(symbolic_shape)

    c1 = np.einsum(subscripts, *ops)
    out_shape = c1.shape

    if len(ops) == 1:
        c2 = with_tvm(lambda A: topi.einsum(subscripts, A), symbolic_shapes, ops, out_shape)
    elif len(ops) == 2:
        c2 = with_tvm(lambda A, B: topi.einsum(subscripts, A, B), symbolic_shapes, ops, out_shape)
    elif len(ops) == 3:
        c2 = with_tvm(
            lambda A, B, C: topi.einsum(subscripts, A, B, C), symbolic_shapes, ops, out_shape
        )

    tvm.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "equation,inputs",
    [
        ("...j, j", [(5, 5), (5,)]),
        ("..., ...", [(), (2, 3)]),
        ("ijk, jil->kl", [(3, 4, 5), (4, 3, 2)]),
        ("...ik, ...jk, ...hk -> i...jh", [(3, 4, 4), (1, 5, 3, 8, 4), (2, 5, 3, 6, 4)]),
    ],
)
def test_einsum(equation, inputs):
    verify_einsum(equation, inputs)


@pytest.mark.parametrize(
    "equation,inputs,shape_dict",
    [
        ("ij,jk->ik", [(2, "K"), (1, "N")], {"K": 3, "N": 4}),
        ("ij,jk->ik", [(2, "K"), ("K2", "N")], {"K": 3, "N": 4, "K2": 3}),
    ],
)
def test_einsum_symblic_shape(equation, inputs, shape_dict):
    verify_einsum(equation, inputs, shape_dict)


def test_einsum_symbolic_dimension_that_is_1_at_run_time_is_refused_by_name():
    with pytest.raises(tvm.error.ArgumentError, match=r"reads pl1\[j, k\] out of bounds.*K2 = 1"):
        verify_einsum("ij,jk->ik", [(2, "K"), ("K2", "N")], {"K": 3, "N": 4, "K2": 1})
