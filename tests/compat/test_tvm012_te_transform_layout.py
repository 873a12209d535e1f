"""TVM 0.12's ``Stage.transform_layout`` tests (tests/python/unittest/test_transform_layout.py,
the only stored version of TVM's file) as a TVM user's code reads after ``import tensorlang as
tvm; from tensorlang import te``; class and test names kept.

Where TVM checked only the lowered IR, the port also runs the function against numpy on random
data (TVM's copy tests used ``np.arange``).  Differences by design:

* tensorlang applies the layout when the schedule is made (the stage computes the transformed
  tensor), not in TVM's later ApplyLayoutTransforms pass, so test_internal_reshape checks the
  physical shape in the loop nest before flattening (``lower_schedule(..., until=
  "schedule_ops")``) instead of before and after that pass;
* ``te.AXIS_SEPARATOR`` (2-D physical buffers, for texture memory) is refused with a
  ScheduleError, so Test2DPhysicalLayout expects that error where TVM checked 2-D indices;
* TestTransformCache.test_execute runs on llvm (TVM's schedule binds no GPU threads).
"""

import functools

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te
from tensorlang.errors import ScheduleError
from tensorlang.lowering.pipeline import lower_schedule

post_order_visit = tvm.tir.stmt_functor.post_order_visit  # TVM: from tvm.tir.stmt_functor import ...

dtype = tvm.testing.parameter("int32")


def flatten_all_indices(preflatten_shape):
    def mapping(*indices):
        output = 0
        for index, size in zip(indices, preflatten_shape):
            output = output * size + index
        return [output]

    return mapping


def unpack_flattened_indices(preflatten_shape):
    def mapping(i):
        output = []
        for dim in reversed(preflatten_shape):
            output.append(i % dim)
            i //= dim
        return output[::-1]

    return mapping


def traverse(s, op, callback):
    visited = set()

    def _traverse(op):
        if op in visited:
            return
        visited.add(op)
        for tensor in op.input_tensors:
            _traverse(tensor.op)
        callback(op)

    _traverse(op)


def _random(shape, dtype):
    return np.random.default_rng().integers(-1000, 1000, size=shape).astype(dtype)


class TestCompareAgainstExplicitReshape:
    A_definition_style = tvm.testing.parameter(
        "explicit_reshape",
        "transform_layout",
    )
    B_definition_style = tvm.testing.parameter(
        "explicit_reshape",
        "transform_layout",
    )

    reordered_shape = tvm.testing.parameter((2, 3, 4))

    @tvm.testing.fixture
    def n_items(self, reordered_shape):
        return functools.reduce(lambda x, y: x * y, reordered_shape, 1)

    @tvm.testing.fixture
    def fphysical_layout(self, reordered_shape):
        return unpack_flattened_indices(reordered_shape)

    @tvm.testing.fixture
    def fcompute(self, A_definition_style, B_definition_style, reordered_shape, n_items, dtype):
        assert A_definition_style in ["explicit_reshape", "transform_layout"]
        assert B_definition_style in ["explicit_reshape", "transform_layout"]

        def func():
            if A_definition_style == "explicit_reshape":
                A_input = te.placeholder(shape=reordered_shape, name="A_input", dtype=dtype)
                A = te.compute(
                    shape=(n_items,),
                    fcompute=lambda i: A_input[
                        i // (reordered_shape[1] * reordered_shape[2]),
                        (i // reordered_shape[2]) % reordered_shape[1],
                        i % reordered_shape[2],
                    ],
                    name="A",
                )

            elif A_definition_style == "transform_layout":
                A = te.placeholder(shape=(n_items,), name="A", dtype=dtype)
                A_input = A

            B = te.compute(shape=A.shape, fcompute=lambda i: A[i], name="B")

            if B_definition_style == "explicit_reshape":
                B_output = te.compute(
                    shape=reordered_shape,
                    fcompute=lambda i, j, k: B[
                        i * reordered_shape[1] * reordered_shape[2] + j * reordered_shape[2] + k
                    ],
                    name="B_output",
                )
            elif B_definition_style == "transform_layout":
                B_output = B

            return A_input, B_output

        return func

    @tvm.testing.fixture
    def fschedule(self, A_definition_style, B_definition_style, fphysical_layout):
        def func(outs):
            outs = [outs] if isinstance(outs, te.tensor.Tensor) else outs
            s = te.create_schedule([x.op for x in outs])

            def callback(op):
                if (op.name == "A" and A_definition_style == "transform_layout") or (
                    op.name == "B" and B_definition_style == "transform_layout"
                ):
                    s[op].transform_layout(fphysical_layout)

            traverse(s, outs[0].op, callback)
            return s

        return func

    @tvm.testing.parametrize_targets("llvm")
    def test_external_reshape(
        self, target, dev, fcompute, fschedule, n_items, reordered_shape, dtype
    ):
        A, B = fcompute()
        s = fschedule(B)

        func = tvm.build(s, [A, B], target=target, name="copy_reshape")

        a_np = _random(reordered_shape, dtype)  # TVM: np.arange(n_items)
        b_np = a_np
        a = tvm.nd.array(a_np, dev)
        b = tvm.nd.empty(b_np.shape, dtype=dtype, device=dev)

        func(a, b)

        tvm.testing.assert_allclose(b.numpy(), b_np)

    @tvm.testing.parametrize_targets("llvm")
    def test_internal_reshape(self, target, dev, n_items, reordered_shape, dtype, fphysical_layout):
        logical_shape = (n_items,)
        A = te.placeholder(logical_shape, name="A", dtype=dtype)
        B = te.compute(shape=logical_shape, fcompute=lambda i: A[i], name="B")
        C = te.compute(shape=logical_shape, fcompute=lambda i: B[i], name="C")

        s = te.create_schedule(C.op)
        s[B].transform_layout(fphysical_layout)

        # TVM walks BufferLoad/BufferStore/BufferRealize of B before and after its
        # ApplyLayoutTransforms pass; here B is realized, written and read in the physical
        # shape from the start (the loop nest before storage flattening).
        body = lower_schedule(s, [A, C], until="schedule_ops").body
        seen = []

        def inner(node):
            if isinstance(node, tvm.ir.stmt.Realize) and node.tensor.name == "B":
                seen.append(("realize", tuple(int(e) for e in node.extents)))
            elif isinstance(node, tvm.ir.stmt.Provide) and node.tensor.name == "B":
                seen.append(("store", len(node.indices)))
            elif isinstance(node, tvm.tir.ProducerLoad) and node.producer.name == "B":
                seen.append(("load", len(node.indices)))

        post_order_visit(body, inner)
        assert sorted(seen) == [("load", 3), ("realize", reordered_shape), ("store", 3)]

        func = tvm.build(s, [A, C], target=target)
        a_np = _random(logical_shape, dtype)
        c = tvm.nd.empty(logical_shape, dtype=dtype, device=dev)
        func(tvm.nd.array(a_np, dev), c)
        np.testing.assert_array_equal(c.numpy(), a_np)


class Test2DPhysicalLayout:
    # TVM: tvm.testing.parameter(by_dict={"2d_A": True, "1d_A": False}), here values and ids
    transform_A = tvm.testing.parameter(True, False, ids=["2d_A", "1d_A"])
    transform_B = tvm.testing.parameter(True, False, ids=["2d_B", "1d_B"])

    @staticmethod
    def extract_loop_vars(stmt):
        output = []

        def callback(node):
            if isinstance(node, tvm.tir.For):
                output.append(node.loop_var)

        post_order_visit(stmt, callback)
        return output[::-1]

    def test_2d_physical(self, dtype, transform_A, transform_B):
        logical_shape = (2, 3, 4)
        A = te.placeholder(shape=logical_shape, dtype=dtype, name="A")
        B = te.compute(shape=A.shape, fcompute=lambda i, j, k: A[i, j, k], name="B")

        s = te.create_schedule(B.op)

        if transform_A:
            with pytest.raises(ScheduleError, match="AXIS_SEPARATOR"):
                s[A].transform_layout(lambda i, j, k: [i, j, te.AXIS_SEPARATOR, k])

        if transform_B:
            with pytest.raises(ScheduleError, match="AXIS_SEPARATOR"):
                s[B].transform_layout(lambda i, j, k: [i, j, te.AXIS_SEPARATOR, k])

        # What is left is TVM's 1-D case: every access is the flat row-major index.
        mod = tvm.lower(s, [A, B])

        i, j, k = self.extract_loop_vars(mod["main"].body)
        indices_1d = [i * (logical_shape[1] * logical_shape[2]) + j * logical_shape[2] + k]

        def callback(node):
            if isinstance(node, (tvm.tir.BufferLoad, tvm.tir.BufferStore)):
                assert node.buffer.name in ("A", "B")
                tvm.ir.assert_structural_equal(indices_1d, node.indices)

        post_order_visit(mod["main"].body, callback)


class TestTransformedSchedules:
    logical_shape = tvm.testing.parameter((4, 6, 40))

    transform_names = [
        None,
        "reverse",
        "flatten_all",
        "factor_last_by_4",
    ]

    transform_A = tvm.testing.parameter(*transform_names, ids=[f"A_{t}" for t in transform_names])
    transform_B = tvm.testing.parameter(*transform_names[1:], ids=[f"B_{t}" for t in transform_names[1:]])

    after_transform = tvm.testing.parameter(None)

    def make_transform(self, logical_shape, transform_name):
        if transform_name is None:
            return lambda *indices: indices
        elif transform_name == "reverse":
            return lambda *indices: indices[::-1]
        elif transform_name == "flatten_all":
            return flatten_all_indices(logical_shape)
        elif transform_name == "factor_last_by_4":
            return lambda *indices, n: [*indices, n // 4, n % 4]
        else:
            raise NotImplementedError(f"Unknown transformation {transform_name}")

    def make_transformed_shape(self, logical_shape, transform_name):
        if transform_name is None:
            return logical_shape
        elif transform_name == "reverse":
            return logical_shape[::-1]
        elif transform_name == "flatten_all":
            num_elements = functools.reduce(lambda x, y: x * y, logical_shape, 1)
            return [num_elements]
        elif transform_name == "factor_last_by_4":
            *indices, n = logical_shape
            return [*indices, n // 4, 4]
        else:
            raise NotImplementedError(f"Unknown transformation {transform_name}")

    def to_physical(self, array, transform_name):
        """The array a caller passes for a tensor stored in this layout (numpy's view of it)."""
        if transform_name == "reverse":
            return np.ascontiguousarray(array.transpose(*reversed(range(array.ndim))))
        return array.reshape(self.make_transformed_shape(array.shape, transform_name))

    @tvm.testing.fixture
    def expected_loop_order(self, logical_shape, transform_B, after_transform):
        shape = self.make_transformed_shape(logical_shape, transform_B)

        if after_transform == "reorder":
            shape = shape[::-1]

        elif after_transform == "split":
            shape = [
                *shape[:-1],
                2,
                shape[-1] // 2,
            ]

        elif after_transform == "fuse":
            fused_size = shape[0] if transform_B == "flatten_all" else shape[0] * shape[1]
            shape = [fused_size, *shape[2:]]

        return shape

    @tvm.testing.fixture
    def schedule(self, logical_shape, dtype, transform_A, transform_B, after_transform):
        A = te.placeholder(shape=logical_shape, dtype=dtype, name="A")
        B = te.compute(shape=A.shape, fcompute=lambda i, j, k: A[i, j, k], name="B")

        s = te.create_schedule(B.op)

        if transform_A:
            s[A].transform_layout(self.make_transform(logical_shape, transform_A))

        iter_vars = s[B].transform_layout(self.make_transform(logical_shape, transform_B))
        iter_vars = list(iter_vars)

        if after_transform == "reorder":
            s[B].reorder(*iter_vars[::-1])

        elif after_transform == "split":
            s[B].split(iter_vars[-1], nparts=2)

        elif after_transform == "fuse":
            s[B].fuse(*iter_vars[:2])

        return {
            "schedule": s,
            "tensors": [A, B],
            "iter_vars": iter_vars,
        }

    def compare_tir_loop_order(self, stmt, expected_loop_order):
        def collect_loops(node):
            output = []

            def callback(node):
                if isinstance(node, tvm.tir.For):
                    output.append(node)

            post_order_visit(node, callback)
            return output[::-1]

        loops = collect_loops(stmt)
        loop_order = [loop.extent for loop in loops]

        np.testing.assert_array_equal(loop_order, expected_loop_order)

    def test_tir_loop_order(self, schedule, expected_loop_order):
        func = tvm.lower(schedule["schedule"], schedule["tensors"])["main"]
        self.compare_tir_loop_order(func.body, expected_loop_order)

    def test_te_loop_order(self, schedule, expected_loop_order):
        s = schedule["schedule"]
        A, B = schedule["tensors"]
        iter_vars = schedule["iter_vars"]

        # No reduction axis, so all leaf_iter_vars are over the data
        # array, and should have the new iteration variables.
        extents = [int(iter_var.dom.extent) for iter_var in s[B].leaf_iter_vars]
        np.testing.assert_array_equal(extents, expected_loop_order)

        # layout_transform should return the new iteration variables.
        extents = [int(iter_var.dom.extent) for iter_var in iter_vars]
        np.testing.assert_array_equal(extents, expected_loop_order)

    @pytest.mark.parametrize("after_transform", ["reorder", "split", "fuse"])
    def test_use_transformed_axes(
        self, schedule, expected_loop_order, transform_A, transform_B, after_transform
    ):
        s = schedule["schedule"]
        A, B = schedule["tensors"]

        func = tvm.lower(s, [A, B])["main"]
        self.compare_tir_loop_order(func.body, expected_loop_order)

    @pytest.mark.parametrize("after_transform", ["split"])
    def test_results_match_numpy(self, schedule, logical_shape, dtype, transform_A, transform_B):
        # not in TVM: the layouts built and run, each argument passed in its physical layout
        A, B = schedule["tensors"]
        func = tvm.build(schedule["schedule"], [A, B], target="llvm")
        a_np = _random(logical_shape, dtype)
        b = np.zeros(self.make_transformed_shape(logical_shape, transform_B), dtype)
        func(self.to_physical(a_np, transform_A), b)
        np.testing.assert_array_equal(b, self.to_physical(a_np, transform_B))


class TestTransformCache:
    A_size = tvm.testing.parameter(16)

    transform_A = tvm.testing.parameter(True, False, ids=["transformA", ""])
    transform_B = tvm.testing.parameter(True, False, ids=["transformB", ""])
    cache_A = tvm.testing.parameter(True, False, ids=["cacheA", ""])
    cache_B = tvm.testing.parameter(True, False, ids=["cacheB", ""])

    @tvm.testing.fixture
    def schedule_args(self, A_size, transform_A, transform_B, cache_A, cache_B, dtype):
        A = te.placeholder(shape=[A_size], dtype=dtype, name="A")
        B = te.compute(A.shape, lambda i: A[i], name="B")
        s = te.create_schedule(B.op)

        if transform_A:
            s[A].transform_layout(lambda i: [i // 4, i % 4])

        if transform_B:
            s[B].transform_layout(lambda i: [i // 4, i % 4])

        if cache_A:
            s.cache_read(A, "shared", [B])

        if cache_B:
            s.cache_write(B, "shared")

        return [s, [A, B]]

    @tvm.testing.fixture
    def ref_data(self, A_size, dtype, transform_A, transform_B):
        a_np = (100 * np.random.uniform(size=A_size)).astype(dtype)
        b_np = a_np

        if transform_A:
            a_np = a_np.reshape((-1, 4))

        if transform_B:
            b_np = b_np.reshape((-1, 4))

        return a_np, b_np

    def test_lower(self, schedule_args):
        tvm.lower(*schedule_args)

    @tvm.testing.parametrize_targets("llvm")
    def test_execute(self, target, dev, schedule_args, ref_data, dtype):
        func = tvm.build(*schedule_args, target=target)

        a_np, b_np = ref_data
        a = tvm.nd.array(a_np, dev)
        b = tvm.nd.empty(b_np.shape, dtype=dtype, device=dev)

        func(a, b)

        if "int" in dtype:
            np.testing.assert_equal(b.numpy(), b_np)
        else:
            tvm.testing.assert_allclose(b.numpy(), b_np)
