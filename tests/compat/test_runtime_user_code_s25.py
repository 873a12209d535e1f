"""TVM 0.8-0.12 user code around the compiler, imports changed only: exporting and loading
modules, timing them, NDArrays and DLPack, the packed-function registry, PassContext configs,
the low-level custom pass tutorial, tir.transform passes on tvm.lower's output, targets, and
what each does with bad input.  Every computed result is checked against numpy on fresh data."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.contrib import cc, utils
from tensorlang.errors import ArgumentError, TensorLangError

rng = np.random.default_rng()


def _vadd(name="myadd"):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    return tvm.build(s, [A, B, C], tvm.target.Target("llvm", host="llvm"), name=name)


def test_get_started_save_link_export_load_and_time():
    """tensor_expr_get_started: save .o, link with cc.create_shared, export_library, load_module,
    time_evaluator; then the module API TVM 0.12 code asks of the loaded library."""
    fadd = _vadd()
    dev = tvm.device("llvm", 0)
    n = 257
    a = tvm.nd.array(rng.uniform(size=n).astype("float32"), dev)
    b = tvm.nd.array(rng.uniform(size=n).astype("float32"), dev)
    temp = utils.tempdir()
    fadd.save(temp.relpath("myadd.o"))
    cc.create_shared(temp.relpath("myadd.so"), [temp.relpath("myadd.o")])
    fadd.export_library(temp.relpath("myadd_pack.so"))
    for path in ("myadd.so", "myadd_pack.so"):
        m = tvm.runtime.load_module(temp.relpath(path))
        c = tvm.nd.empty((n,), "float32", dev)
        m["myadd"](a, b, c)
        np.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy(), rtol=1e-6, atol=1e-5)
        assert m.entry_func is m["myadd"] or callable(m.entry_func)
        assert m.implements_function("myadd") and not m.implements_function("nosuch")
    # TVM's optional format argument; "o" links an object file of any name first
    m = tvm.runtime.load_module(temp.relpath("myadd_pack.so"), "so")
    c = tvm.nd.empty((n,), "float32", dev)
    m.entry_func(a, b, c)
    np.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy(), rtol=1e-6, atol=1e-5)
    r = fadd.time_evaluator(fadd.entry_name, dev, number=3, repeat=4, min_repeat_ms=1)(a, b, c)
    assert len(r.results) == 4 and r.mean > 0 and r.min <= r.median <= r.max and r.std >= 0
    assert "define" in fadd.get_source() and fadd.imported_modules == []
    assert isinstance(tvm.runtime.num_threads(), int) and tvm.runtime.num_threads() >= 1


def test_export_again_to_the_same_path_loads_the_new_library():
    """A notebook re-exports "deploy.so" after changing the kernel and loads it again while the
    first load is alive: the second load runs the new code (the dynamic loader would hand back
    the library it holds for that path: stale code, with its stale argument list)."""
    temp = utils.tempdir()
    path = temp.relpath("deploy.so")
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1.0, name="B")
    tvm.build(te.create_schedule(B.op), [A, B], "llvm", name="kernel").export_library(path)
    first = tvm.runtime.load_module(path)
    a = rng.standard_normal(8).astype("float32")
    b = np.zeros(8, "float32")
    first(a, b)
    np.testing.assert_allclose(b, a + 1, rtol=1e-6, atol=1e-5)
    C = te.compute((8,), lambda i: A[i] * 3.0 - 2.0, name="C")  # same arguments, new code
    tvm.build(te.create_schedule(C.op), [A, C], "llvm", name="kernel").export_library(path)
    second = tvm.runtime.load_module(path)
    second(a, b)
    np.testing.assert_allclose(b, a * 3 - 2, rtol=1e-6, atol=1e-5)
    X, Y = te.placeholder((5, 3), name="X"), te.placeholder((5, 3), name="Y")
    Z = te.compute((5, 3), lambda i, j: X[i, j] * Y[i, j], name="Z")  # new arguments
    tvm.build(te.create_schedule(Z.op), [X, Y, Z], "llvm", name="kernel").export_library(path)
    x, y = rng.standard_normal((2, 5, 3)).astype("float32")
    z = np.zeros((5, 3), "float32")
    tvm.runtime.load_module(path)(x, y, z)
    np.testing.assert_allclose(z, x * y, rtol=1e-6, atol=1e-5)
    first(a, b)  # the first load still runs its own code
    np.testing.assert_allclose(b, a + 1, rtol=1e-6, atol=1e-5)
    # a "current.so" symlink moved from one export to another
    import os
    tvm.build(te.create_schedule(B.op), [A, B], "llvm", name="k").export_library(temp.relpath("v1.so"))
    tvm.build(te.create_schedule(C.op), [A, C], "llvm", name="k").export_library(temp.relpath("v2.so"))
    os.symlink(temp.relpath("v1.so"), temp.relpath("current.so"))
    tvm.runtime.load_module(temp.relpath("current.so"))(a, b)
    np.testing.assert_allclose(b, a + 1, rtol=1e-6, atol=1e-5)
    os.remove(temp.relpath("current.so"))
    os.symlink(temp.relpath("v2.so"), temp.relpath("current.so"))
    tvm.runtime.load_module(temp.relpath("current.so"))(a, b)
    np.testing.assert_allclose(b, a * 3 - 2, rtol=1e-6, atol=1e-5)


def test_loading_an_object_file_leaves_no_folder_behind(tmp_path, monkeypatch):
    """load_module("x.o") links the object into a library in a temporary folder: the folder goes
    when the module does (it was left in $TMPDIR for good, one per load)."""
    import gc
    import tempfile
    fadd = _vadd("vadd")
    fadd.save(str(tmp_path / "vadd.o"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    m = tvm.runtime.load_module(str(tmp_path / "vadd.o"))
    a, b = rng.standard_normal((2, 5)).astype("float32")
    c = np.zeros(5, "float32")
    m(a, b, c)
    np.testing.assert_allclose(c, a + b, rtol=1e-6, atol=1e-5)
    assert len(list(scratch.iterdir())) == 1
    del m
    gc.collect()
    assert list(scratch.iterdir()) == []


def test_module_bad_input_is_named():
    fadd = _vadd("vadd")
    a = rng.standard_normal(6).astype("float32")
    with pytest.raises(ArgumentError, match="expects 3 arguments"):
        fadd(a, a)
    with pytest.raises(ArgumentError, match="argument A: expected float32, got float64"):
        fadd(a.astype("float64"), a, a.copy())
    with pytest.raises(ArgumentError, match="argument B: dimension 0 is 3, but n = 6"):
        fadd(a, a[:3], a.copy())
    with pytest.raises(ArgumentError, match="read-only"):
        out = np.zeros(6, "float32")
        out.setflags(write=False)
        fadd(a, a, out)
    with pytest.raises(tvm.errors.FunctionNotFoundError, match="holds 'vadd'"):
        fadd.time_evaluator("nosuch", tvm.cpu())
    with pytest.raises(ArgumentError, match="number >= 1"):
        fadd.time_evaluator("vadd", tvm.cpu(), number=0)(a, a, a.copy())
    with pytest.raises(ArgumentError, match="function name"):
        fadd.implements_function(3)
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] + 1.0, name="B")
    with pytest.raises(tvm.errors.TargetError, match="symbols of tensorlang's runtime"):
        tvm.build(te.create_schedule(B.op), [A, B], "llvm", name="__tl_num_threads")  # was llvmlite's own error
    with pytest.raises(tvm.errors.BuildError, match="fmt must be"):
        tvm.runtime.load_module("x.so", 3)
    temp = utils.tempdir()
    with open(temp.relpath("garbage.so"), "wb") as f:
        f.write(b"\x7fELF" + rng.bytes(64))
    with pytest.raises(tvm.errors.BuildError, match="not written by tensorlang's export_library"):
        tvm.runtime.load_module(temp.relpath("garbage.so"))


def test_ndarray_dtypes_copies_and_dlpack():
    for dt in ("float16", "float64", "int8", "uint16", "int64", "bool"):
        a = (rng.standard_normal((3, 5)) * 40).astype(dt)
        x = tvm.nd.array(a, tvm.cpu(0))
        assert (x.dtype, x.shape, str(x.device)) == (dt, (3, 5), "cpu(0)")
        np.testing.assert_array_equal(x.asnumpy(), a)
        np.testing.assert_array_equal(np.from_dlpack(x), a)
        np.testing.assert_array_equal(tvm.nd.from_dlpack(x.to_dlpack()).numpy(), a)
    a = rng.standard_normal((4, 3)).astype("float32")
    y = tvm.nd.empty((4, 3), "float32").copyfrom(a)
    z = tvm.nd.empty((4, 3), "float32")
    y.copyto(z)
    np.testing.assert_array_equal(z.numpy(), a)
    shared = a.copy()
    view = tvm.nd.from_dlpack(shared)  # zero-copy, as TVM's
    shared[1, 2] = 7.5
    assert view.numpy()[1, 2] == 7.5
    with pytest.raises(ArgumentError, match="shape"):
        z.copyfrom(np.zeros((3, 4), "float32"))
    with pytest.raises(ArgumentError, match="complex128"):
        tvm.nd.array(np.array([1j]))


def test_register_func_and_call_packed_from_generated_code():
    @tvm.register_func("s25.addone", override=True)
    def addone(x, y):
        tvm.nd.array(x.numpy() + 1).copyto(y)

    assert tvm.get_global_func("s25.addone") is not None
    assert tvm.get_global_func("s25.nosuch", allow_missing=True) is None
    with pytest.raises(TensorLangError, match="already registered"):
        tvm.register_func("s25.addone", lambda x, y: None)
    A = te.placeholder((9,), name="A")
    B = te.extern(A.shape, [A], lambda ins, outs: tvm.tir.call_packed("s25.addone", ins[0], outs[0]), name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B], "llvm")
    a = rng.standard_normal(9).astype("float32")
    b = tvm.nd.empty((9,), "float32")
    f(tvm.nd.array(a), b)
    np.testing.assert_allclose(b.numpy(), a + 1, rtol=1e-6, atol=1e-5)


def test_low_level_custom_pass_tutorial_and_lower_phases():
    """low_level_custom_pass: post_order_visit + ir_transform + substitute in a prim_func_pass,
    through "tir.add_lower_pass"; and a store-doubling pass at every phase."""
    n = tvm.tir.const(128, "int32")
    a = te.placeholder((n,), name="a")
    b = te.placeholder((n,), name="b")
    c = te.compute((n,), lambda i: a[i] + b[i], name="c")
    sch = te.create_schedule(c.op)
    loops = []

    def find_width8(op):
        if isinstance(op, tvm.tir.For) and isinstance(op.extent, tvm.tir.IntImm) and op.extent.value % 8 == 0:
            loops.append(op)

    def vectorize8(op):
        if op in loops:
            lo, li = te.var(op.loop_var.name + ".outer"), te.var(op.loop_var.name + ".inner")
            body = tvm.tir.stmt_functor.substitute(op.body, {op.loop_var: lo * 8 + li})
            body = tvm.tir.For(li, 0, 8, tvm.tir.ForKind.VECTORIZED, body)
            return tvm.tir.For(lo, 0, op.extent.value // 8, tvm.tir.ForKind.SERIAL, body)
        return None

    @tvm.tir.transform.prim_func_pass(opt_level=0)
    def vectorize(f, mod, ctx):
        tvm.tir.stmt_functor.post_order_visit(f.body, find_width8)
        return f.with_body(tvm.tir.stmt_functor.ir_transform(f.body, None, vectorize8, ["tir.For"]))

    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(1, vectorize)]}):
        f = tvm.build(sch, [a, b, c], "llvm")
    assert "vectorized (i.inner, 0, 8)" in str(vectorize(tvm.lower(sch, [a, b, c])))
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(1, vectorize)]}):
        assert "ramp(i.outer * 8, 1, 8)" in str(tvm.lower(sch, [a, b, c]))
    x, y = (rng.standard_normal(128).astype("float32") for _ in range(2))
    z = np.zeros(128, "float32")
    f(x, y, z)
    np.testing.assert_allclose(z, x + y, rtol=1e-6, atol=1e-5)

    def dbl(f, mod, ctx):
        return f.with_body(tvm.tir.stmt_functor.ir_transform(
            f.body, None, lambda op: tvm.tir.Store(op.buffer_var, op.value * 2.0, op.index), ["tir.Store"]))
    for phase in (0, 2, 3):
        with tvm.transform.PassContext(config={"tir.add_lower_pass": [(phase, tvm.tir.transform.prim_func_pass(
                dbl, opt_level=0))]}):
            g = tvm.build(sch, [a, b, c], "llvm")
        g(x, y, z)
        np.testing.assert_allclose(z, (x + y) * 2, rtol=1e-6, atol=1e-5)
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(5, vectorize)]}):
        with pytest.raises(tvm.errors.LoweringError, match="phase 5 is not one of"):
            tvm.lower(sch, [a, b, c])


def test_pass_infrastructure_bad_input_is_named():
    """Slips in custom-pass code get tensorlang's errors naming the argument, never a raw
    AttributeError/TypeError/ValueError from inside; a single kind string is one kind."""
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1.0, name="B")
    mod = tvm.lower(te.create_schedule(B.op), [A, B])
    x = te.var("x")
    with pytest.raises(ArgumentError, match="vmap must be a dict"):
        tvm.tir.stmt_functor.substitute(x + 1, lambda v: None)
    with pytest.raises(ArgumentError, match="keys of vmap are variables"):
        tvm.tir.stmt_functor.substitute(x + 1, {"x": 2})
    with pytest.raises(ArgumentError, match="fvisit must be a function"):
        tvm.tir.stmt_functor.post_order_visit(mod["main"].body, 3)
    with pytest.raises(ArgumentError, match="postorder must be a function"):
        tvm.tir.stmt_functor.ir_transform(mod["main"].body, None, 3, ["tir.For"])
    with pytest.raises(tvm.errors.LoweringError, match="opt_level must be a non-negative int"):
        tvm.tir.transform.prim_func_pass(lambda f, m, c: f, opt_level="x")
    with pytest.raises(tvm.errors.LoweringError, match="config=.... must be a dict"):
        tvm.transform.PassContext(config=[("tir.UnrollLoop", {})])
    seen = []
    body = tvm.tir.stmt_functor.ir_transform(mod["main"].body, None, lambda op: seen.append(op.loop_var.name),
                                             "tir.For")
    assert seen == ["i"] and str(body) == str(mod["main"].body)


def test_sequential_opt_level_and_pass_configs():
    A = te.placeholder((32,), name="A")
    B = te.compute((32,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=4)
    s[B].unroll(xi)
    mod = tvm.lower(s, [A, B], name="inc")

    @tvm.tir.transform.prim_func_pass(opt_level=3, name="dbl")
    def dbl(f, m, ctx):
        return f.with_body(tvm.tir.stmt_functor.ir_transform(
            f.body, None, lambda op: tvm.tir.Store(op.buffer_var, op.value * 2.0, op.index), ["tir.Store"]))
    seq = tvm.transform.Sequential([tvm.tir.transform.Simplify(), dbl, tvm.tir.transform.RemoveNoOp()])
    a = rng.standard_normal(32).astype("float32")
    for ctx, want in ((dict(opt_level=2), a + 1), (dict(opt_level=3), (a + 1) * 2),
                      (dict(opt_level=3, disabled_pass=["dbl"]), a + 1), (dict(opt_level=0, required_pass=["dbl"]),
                                                                         (a + 1) * 2)):
        with tvm.transform.PassContext(**ctx):
            out = seq(mod)
        b = np.zeros(32, "float32")
        tvm.build(out, target="llvm")(a, b)
        np.testing.assert_allclose(b, want, rtol=1e-6, atol=1e-5)
    for p in (tvm.tir.transform.LoopPartition(), tvm.tir.transform.VectorizeLoop(), tvm.tir.transform.UnrollLoop()):
        b = np.zeros(32, "float32")
        tvm.build(p(mod), target="llvm")(a, b)
        np.testing.assert_allclose(b, a + 1, rtol=1e-6, atol=1e-5)
    configs = tvm.transform.PassContext.list_configs()
    assert "tir.add_lower_pass" in configs and "tir.UnrollLoop" in configs and "type" in configs["tir.UnrollLoop"]
    assert "tir.disable_vectorize" in configs
    with pytest.warns(UserWarning, match="tir.disable_assert has no effect"):
        tvm.transform.PassContext(config={"tir.disable_assert": True})
    # "tir.disable_vectorize": vectorized loops are lowered as serial loops, with the same values
    s2 = te.create_schedule(B.op)
    _, inner = s2[B].split(B.op.axis[0], factor=8)
    s2[B].vectorize(inner)
    assert "ramp(" in str(tvm.lower(s2, [A, B]))
    with tvm.transform.PassContext(config={"tir.disable_vectorize": True}):
        text = str(tvm.lower(s2, [A, B]))
        f = tvm.build(s2, [A, B], "llvm")
    assert "ramp(" not in text and "for (i.inner, 0, 8)" in text
    b = np.zeros(32, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a + 1, rtol=1e-6, atol=1e-5)


def test_schedule_ops_era_flow_says_what_to_use():
    """0.8-era code lowers by hand: InferBound -> ScheduleOps -> SchedulePostProcToPrimFunc ->
    IRModule.from_expr -> StorageFlatten; the first two work, the rest say to use tvm.lower."""
    A = te.placeholder((16, 12), name="A")
    A1 = te.compute((16, 12), lambda i, j: A[i, j] + 1.0, name="A1")
    A2 = te.compute((16, 12), lambda i, j: A1[i, j] * 2.0, name="A2")
    s = te.create_schedule(A2.op)
    xo, _ = s[A2].split(A2.op.axis[0], 4)
    s[A1].compute_at(s[A2], xo)
    s = s.normalize()
    bounds = tvm.te.schedule.InferBound(s)
    assert bounds[A1.op.axis[0]].extent.value == 4
    stmt = tvm.te.schedule.ScheduleOps(s, bounds)
    with pytest.raises(tvm.errors.ScheduleError, match=r"use tvm.lower\(s, args\)"):
        tvm.te.schedule.SchedulePostProcToPrimFunc([A, A2], stmt, None)
    with pytest.raises(ArgumentError, match="got NoneType None for 'main'"):
        tvm.IRModule.from_expr(None)
    with pytest.raises(tvm.errors.LoweringError, match="already flat"):
        tvm.tir.transform.StorageFlatten(64)
    mod = tvm.tir.transform.Simplify()(tvm.IRModule.from_expr(tvm.lower(s, [A, A2])["main"]))
    a = rng.standard_normal((16, 12)).astype("float32")
    out = np.zeros((16, 12), "float32")
    tvm.build(mod, target="llvm")(a, out)
    np.testing.assert_allclose(out, (a + 1) * 2, rtol=1e-6, atol=1e-5)


def test_targets_current_and_build_forms():
    t = tvm.target.Target("llvm -mcpu=skylake-avx512")
    assert (t.kind.name, list(t.keys), t.attrs["mcpu"]) == ("llvm", ["cpu"], "skylake-avx512")
    assert tvm.target.Target.current() is None
    with tvm.target.Target("llvm") as tgt:
        assert tvm.target.Target.current() is tgt
    A = te.placeholder((16,), name="A")
    B = te.compute((16,), lambda i: A[i] * 3.0, name="B")
    s = te.create_schedule(B.op)
    a = rng.standard_normal(16).astype("float32")
    for m, name in ((tvm.build(s, [A, B], "llvm", name="triple"), "triple"),
                    (tvm.build(s, [A, B], target="llvm", target_host="llvm"), "default_function"),
                    (tvm.build({"llvm": tvm.lower(s, [A, B], name="f1")}), "f1"),
                    (tvm.build({tvm.target.Target("llvm"): tvm.lower(s, [A, B], name="f1")}, target_host="llvm"),
                     "f1")):
        b = np.zeros(16, "float32")
        m[name](a, b)
        np.testing.assert_allclose(b, a * 3, rtol=1e-6, atol=1e-5)
    with pytest.raises(tvm.errors.TargetError, match="unknown target 'nosuch'"):
        tvm.build(s, [A, B], "nosuch")
    with pytest.raises(tvm.errors.BuildError, match="cannot run"):
        tvm.build(s, [A, B], "llvm -mtriple=aarch64-linux-gnu")(a, np.zeros(16, "float32"))
