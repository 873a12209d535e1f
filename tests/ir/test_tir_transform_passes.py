"""TVM 0.12's ``tir.transform`` pass constructors and ``tvm.transform.Sequential`` /
``module_pass`` on what ``tvm.lower`` returns: each pass changes the IR as TVM's does, the
result builds and matches numpy on fresh random data, PassContext's opt_level and
disabled_pass decide what a Sequential runs, and passes tensorlang lacks are named errors."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, tir

N = 64


def _lowered():
    """B = A * 2 + 1 over 64 elements, loops i.outer.outer (4) / i.outer.inner (2) / i.inner (8)."""
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=8)
    s[B].split(xo, factor=2)
    return tvm.lower(s, [A, B])


@tir.transform.prim_func_pass(opt_level=0)
def mark(f, mod, ctx):
    """What a user pass might leave: an UNROLLED loop, a VECTORIZED loop, a guard that always
    holds and a statement without effect."""
    kinds = {"i.outer.inner": tir.ForKind.UNROLLED, "i.inner": tir.ForKind.VECTORIZED}

    def post(op):
        if isinstance(op, tir.For) and op.loop_var.name in kinds:
            return op.with_fields(kind=kinds[op.loop_var.name])
        if isinstance(op, tir.Store):
            return tir.IfThenElse(op.index < 1000, op, None)
        return None

    body = tir.stmt_functor.ir_transform(f.body, None, post, ["tir.For", "tir.Store"])
    return f.with_body(tir.SeqStmt([body, tir.Evaluate(tir.const(0, "int32"))]))


def _run(mod, expect):
    f = tvm.build(mod, target="llvm")
    rng = np.random.default_rng()
    a = rng.random(N, dtype=np.float32)
    b = np.zeros(N, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, expect(a), rtol=1e-6)


def test_sequential_of_tvm_passes_rewrites_the_lowered_module() -> None:
    mod = _lowered()
    marked = mark(mod)
    text = str(marked)
    assert "unrolled (i.outer.inner" in text and "vectorized (i.inner" in text and "if (" in text
    out = tvm.transform.Sequential([mark, tir.transform.Simplify(), tir.transform.UnrollLoop(),
                                    tir.transform.VectorizeLoop(), tir.transform.RemoveNoOp()])(mod)
    new = str(out)
    assert "unrolled" not in new and "vectorized" not in new and "if (" not in new
    assert "i.outer.inner" not in new and new.count("ramp(") == 4  # 2 unrolled copies x (load, store)
    assert out is not mod and str(mod) == str(_lowered())  # the input is untouched
    _run(out, lambda a: a * 2 + 1)


def test_each_pass_alone_and_vectorize_disabled() -> None:
    marked = mark(_lowered())
    assert "if (" not in str(tir.transform.RemoveNoOp()(tir.transform.Simplify()(marked)))
    assert "unrolled" not in str(tir.transform.UnrollLoop()(marked))
    serial = str(tir.transform.VectorizeLoop(enable_vectorize=False)(marked))
    assert "vectorized" not in serial and "ramp(" not in serial and "for (i.inner" in serial
    assert isinstance(tir.transform.Simplify(), tir.transform.PrimFuncPass)
    assert tir.transform.Simplify().info.name == "tir.Simplify" and tir.transform.Simplify().info.opt_level == 0
    _run(tvm.ir.transform.Sequential([tir.transform.VectorizeLoop(False), tir.transform.UnrollLoop()])(marked),
         lambda a: a * 2 + 1)


def test_loop_partition_splits_where_a_guard_stops_varying() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: A[i] + 1.0, name="B")
    mod = tvm.lower(te.create_schedule(B.op), [A, B])

    @tvm.transform.module_pass(opt_level=0, name="two_halves")
    def two_halves(m, ctx):
        def post(op):
            i = op.index
            return tir.IfThenElse(i < 20, op, tir.Store(op.buffer, op.value * 2.0, i))
        return m.with_body(tir.stmt_functor.ir_transform(m.body, None, post, ["tir.Store"]))

    assert str(two_halves(mod)).count("for (") == 1
    out = tvm.transform.Sequential([two_halves, tir.transform.LoopPartition(), tir.transform.Simplify(),
                                    tir.transform.RemoveNoOp()])(mod)
    text = str(out)
    assert "if (" not in text and text.count("for (") == 2 and "20" in text
    _run(out, lambda a: np.where(np.arange(N) < 20, a + 1, (a + 1) * 2))


def test_pass_context_opt_level_disabled_and_required_passes() -> None:
    ran = []

    @tvm.transform.module_pass(opt_level=3)
    def record(m, ctx):
        ran.append(ctx.opt_level)
        return m

    seq = tvm.transform.Sequential([mark, record, tir.transform.UnrollLoop()])
    assert "unrolled" not in str(seq(_lowered())) and ran == []  # default opt_level 2 < 3
    with tvm.transform.PassContext(opt_level=3, disabled_pass=["tir.UnrollLoop"]):
        kept = seq(_lowered())
    assert ran == [3] and "unrolled (i.outer.inner" in str(kept)
    with tvm.transform.PassContext(disabled_pass=["UnrollLoop"], required_pass=["record"]):
        seq(_lowered())
    assert ran == [3, 2]
    record(_lowered())  # called directly, a pass always runs (as in TVM)
    assert ran == [3, 2, 2]

    needs = tir.transform.prim_func_pass(lambda f, m, c: f, opt_level=0, name="needs", required=["tir.Simplify"])
    assert "if (" not in str(tvm.transform.Sequential([mark, needs, tir.transform.RemoveNoOp()])(_lowered()))
    bad = tir.transform.prim_func_pass(lambda f, m, c: f, opt_level=0, name="bad", required=["tir.Nope"])
    with pytest.raises(tvm.TVMError, match="tir.Nope"):
        tvm.transform.Sequential([bad])(_lowered())


def test_builtin_passes_as_lower_passes() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    s[B].split(s[B].split(B.op.axis[0], factor=8)[0], factor=2)
    # After lowering (phase 3) nothing else unrolls or vectorizes: the Sequential does.
    late = tvm.transform.Sequential([mark, tir.transform.Simplify(), tir.transform.UnrollLoop(),
                                     tir.transform.VectorizeLoop(), tir.transform.RemoveNoOp()])
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(3, late)]}):
        text = str(tvm.lower(s, [A, B]))
        f = tvm.build(s, [A, B], target="llvm")
    assert "ramp(" in text and "unrolled" not in text and "vectorized" not in text
    rng = np.random.default_rng()
    a, b = rng.random(N, dtype=np.float32), np.zeros(N, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)


def test_passes_tensorlang_lacks_are_named_errors() -> None:
    with pytest.raises(tvm.TVMError, match="StorageRewrite: tensorlang has no such pass"):
        tir.transform.StorageRewrite()
    with pytest.raises(tvm.TVMError, match="NarrowDataType.*index types"):
        tir.transform.NarrowDataType(32)
    with pytest.raises(tvm.TVMError, match="StorageFlatten.*already flat"):
        tir.transform.StorageFlatten(64)
    assert not hasattr(tir.transform, "NoSuchPass")


def test_bad_pass_uses_are_named() -> None:
    with pytest.raises(tvm.TVMError, match="entry 0"):
        tvm.transform.Sequential([lambda m: m])
    with pytest.raises(tvm.TVMError, match="opt_level"):
        tvm.transform.module_pass(lambda m, c: m)

    @tvm.transform.module_pass(opt_level=0)
    def wrong(m, ctx):
        return m.body

    with pytest.raises(tvm.TVMError, match="wrong returned"):
        wrong(_lowered())
    with pytest.raises(tvm.TVMError, match="expects a lowered module"):
        tir.transform.Simplify()("not a module")


def test_transform_names_are_tvms() -> None:
    for name in ("PassContext", "Pass", "PassInfo", "ModulePass", "Sequential", "module_pass", "PrintIR"):
        assert getattr(tvm.transform, name) is getattr(tvm.ir.transform, name)
    assert isinstance(tir.transform.Simplify(), tvm.transform.Pass)
    info = tvm.transform.PassInfo(1, "x", None)
    assert info.required == () and info.opt_level == 1


def test_pass_instruments_warn_that_they_do_not_run() -> None:
    import pytest

    import tensorlang as tvm

    with pytest.warns(UserWarning, match="instruments=.*no effect"):
        tvm.transform.PassContext(instruments=[object()])


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_instrument_bound_checkers_config_checks_every_access(target):
    # TVM's PassContext(config={"tir.instrument_bound_checkers": True}): a data-dependent read past
    # the tensor is a BoundsError naming it instead of reading other memory.
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    index = te.placeholder((4,), name="I", dtype="int32")
    B = te.compute((4,), lambda i: A[index[i]], name="B")
    s = te.create_schedule(B.op)
    if target != "llvm":
        s[B].bind(B.op.axis[0], te.thread_axis("threadIdx.x"))
    with tvm.transform.PassContext(config={"tir.instrument_bound_checkers": True}):
        f = tvm.build(s, [A, index, B], target)
    a = np.random.rand(8).astype("float32")
    b = np.empty(4, "float32")
    good = np.random.permutation(8)[:4].astype("int32")
    f(a, good, b)
    np.testing.assert_array_equal(b, a[good])
    with pytest.raises(tvm.errors.BoundsError, match=r"A\[8\]"):
        f(a, np.array([0, 8, 3, 1], "int32"), b)


def test_cuda_kernels_output_dir_writes_the_cuda_c_and_ptx(tmp_path):
    # TVM's test_cuda_save_kernels_for_profiling: the config was accepted with a "no effect" warning.
    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    s[B].bind(B.op.axis[0], te.thread_axis("threadIdx.x"))
    with tvm.transform.PassContext(config={"cuda.kernels_output_dir": str(tmp_path)}):
        f = tvm.build(s, [A, B], "cuda -emulate")
    assert (tmp_path / "tvm_kernels.cu").read_text() == f.imported_modules[0].get_source("cuda")
    from tensorlang.target.cuda import nvrtc
    if nvrtc.nvrtc_available():
        assert ".entry" in (tmp_path / "tvm_kernels.ptx").read_text()
    a = np.random.rand(64).astype("float32")
    b = np.empty(64, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 2)
