"""TVM 0.12 tests/python/unittest/test_te_schedule_ops.py: the test not yet in
tests/compat/test_tvm_te_schedule_ops.py (test_schedule_bound_condition), ported with the imports
changed.  TVM's last line walks its own statement nesting
(stmt.body.body.first.body.body.then_case, through AttrStmt nodes tensorlang's ScheduleOps does not
emit); the port checks the same property, that the padding guard survives Simplify, by visiting the
statement, and also builds the schedule and compares it against numpy.
"""
import numpy as np

import tensorlang as tvm
from tensorlang import te


def test_schedule_bound_condition():
    A = te.placeholder((64,), name="A", dtype="float32")
    Apad = te.compute(
        (66,),
        lambda i: tvm.tir.if_then_else(
            tvm.tir.all(i > 0, i < 65), A[i - 1], tvm.tir.const(0.0, "float32")
        ),
        name="Apad",
    )
    Apad2 = te.compute((66,), lambda i: Apad[i] * 2, name="Apad2")
    s = te.create_schedule(Apad2.op)
    AL1 = s.cache_read(A, "local", [Apad])  # noqa: F841
    s = s.normalize()
    bounds = tvm.te.schedule.InferBound(s)
    stmt = tvm.te.schedule.ScheduleOps(s, bounds)
    mod = tvm.IRModule.from_expr(tvm.tir.PrimFunc([], stmt))
    mod = tvm.tir.transform.Simplify()(mod)
    stmt = mod["main"].body

    guards = []
    tvm.tir.stmt_functor.post_order_visit(
        stmt, lambda n: guards.append(n) if isinstance(n, (tvm.tir.IfThenElse, tvm.tir.Select)) else None
    )
    assert guards, stmt

    f = tvm.build(s, [A, Apad2], "llvm")
    a = np.random.uniform(-1, 1, 64).astype("float32")
    out = tvm.nd.array(np.zeros(66, "float32"))
    f(tvm.nd.array(a), out)
    np.testing.assert_allclose(out.numpy(), np.pad(a, 1) * 2, rtol=1e-6)
