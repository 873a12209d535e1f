"""Gaps found by porting TVM 0.12 user programs with only the imports changed (each case is what
such a program did; results checked against numpy on fresh random data)."""

from __future__ import annotations

import io
import logging
import re
import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, tir

_SEEN_IN_TUNING: list[bool] = []


@autotvm.template("compat/port_gaps_mm")
def _mm(N):
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    k = te.reduce_axis((0, N), name="k")
    C = te.compute((N, N), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    cfg = autotvm.get_config()
    i, j = s[C].op.axis
    cfg.define_split("ti", i, num_outputs=2)
    cfg.define_split("tj", j, num_outputs=2)
    cfg.multi_filter(filter=lambda e: e["ti"].size[-1] * e["tj"].size[-1] <= 64)
    _SEEN_IN_TUNING.append(autotvm.GLOBAL_SCOPE.in_tuning)
    cfg["ti"].apply(s, C, i)
    cfg["tj"].apply(s, C, j)
    return s, [A, B, C]


@autotvm.template("compat/port_gaps_scale")
def _scale(X, factor):
    Y = te.compute(X.shape, lambda *i: X(*i) * factor, name="Y")
    s = te.create_schedule(Y.op)
    cfg = autotvm.get_config()
    cfg.define_knob("vec", [1, 2])
    return s, [X, Y]


def _tune(task, log, n_trial=3):
    logger = logging.getLogger("autotvm")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        autotvm.tuner.RandomTuner(task).tune(
            n_trial=n_trial, measure_option=autotvm.measure_option(builder="local",
                                                                   runner=autotvm.LocalRunner(number=1, repeat=1)),
            callbacks=[autotvm.callback.log_to_file(log)])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    return stream.getvalue()


def test_multi_filter_template_tunes_and_builds(tmp_path) -> None:
    N = 32
    task = autotvm.task.create("compat/port_gaps_mm", args=(N,), target="llvm")
    assert all(e["ti"].size[-1] * e["tj"].size[-1] <= 64 for e in task.config_space)
    log = str(tmp_path / "mm.log")
    text = _tune(task, log)
    results = [r for _, r in autotvm.record.load_from_file(log)]
    assert results and all(r.error_no == 0 for r in results)
    # Each logged line shows the best so far, never one a later trial of the batch reaches.
    lines = re.findall(r"No: (\d+)\s+GFLOPS: ([\d.]+)/([\d.]+)", text)
    assert len(lines) == 3
    running = 0.0
    for _, now, best in lines:
        running = max(running, float(now))
        assert float(best) == pytest.approx(running, abs=0.01)
    _SEEN_IN_TUNING.clear()
    with autotvm.apply_history_best(log), tvm.target.Target("llvm"):
        s, args = _mm(N)
    assert _SEEN_IN_TUNING and not any(_SEEN_IN_TUNING)  # in_tuning only while a trial's template is made
    f = tvm.build(s, args)
    rng = np.random.default_rng()
    a, b = rng.random((N, N), dtype=np.float32), rng.random((N, N), dtype=np.float32)
    c = np.empty((N, N), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4)
    with autotvm.task.ApplyConfig(task.config_space.get(0)), tvm.target.Target("llvm"):
        _mm(N)  # a concrete config: multi_filter does nothing
    cfg = task.config_space.get(len(task.config_space) - 1)
    task.instantiate(cfg)
    assert _SEEN_IN_TUNING[-1] is True


def test_task_create_with_placeholder_arguments(tmp_path) -> None:
    X = te.placeholder((8, 64), name="X")
    W = te.placeholder((32, 64), name="W")
    task = autotvm.task.create("dense_nopack.x86", args=(X, W, None, "float32"), target="llvm")
    assert task.workload == ("dense_nopack.x86", ("TENSOR", (8, 64), "float32"),
                             ("TENSOR", (32, 64), "float32"), None, "float32")
    log = str(tmp_path / "dense.log")
    _tune(task, log, n_trial=2)
    assert all(r.error_no == 0 for _, r in autotvm.record.load_from_file(log))
    # a plain template that takes a tensor gets a placeholder of its shape and dtype back
    task2 = autotvm.task.create("compat/port_gaps_scale", args=(te.placeholder((4, 6), "float32", "X"), 3.0),
                                target="llvm")
    s, (x, y) = task2.instantiate(task2.config_space.get(1))
    f = tvm.build(s, [x, y])
    a = np.random.default_rng().random((4, 6), dtype=np.float32)
    out = np.empty_like(a)
    f(a, out)
    np.testing.assert_allclose(out, a * 3, rtol=1e-6)


def test_dispatch_context_current_and_silent() -> None:
    assert isinstance(autotvm.DispatchContext.current, autotvm.FallbackContext)
    with autotvm.FallbackContext() as ctx:
        assert autotvm.DispatchContext.current is ctx
    root = autotvm.DispatchContext.current
    root.silent = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with tvm.target.Target("llvm"):
                _mm(24)  # no record for N=24: a fallback, quietly
    finally:
        root.silent = False


def test_target_attrs_host_dict_and_export() -> None:
    t = tvm.target.Target("cuda -emulate -max_num_threads=512", host="llvm")
    assert t.attrs["max_num_threads"] == 512 and t.attrs["thread_warp_size"] == 32 and t.attrs["emulate"] is True
    assert t.host.kind.name == "llvm" and isinstance(t.host, tvm.target.Target)
    exported = t.export()
    assert exported["kind"] == "cuda" and exported["host"]["kind"] == "llvm"
    d = tvm.target.Target({"kind": "llvm", "mcpu": "core-avx2", "mattr": ["+avx2", "+fma"]})
    assert d.mcpu == "core-avx2" and d.mattr == ["+avx2", "+fma"]
    assert "llvm" in tvm.target.Target.list_kinds() and "cuda" in tvm.target.Target.list_kinds()
    with pytest.raises(tvm.TVMError, match="host must be an LLVM"):
        tvm.target.Target("llvm", host="cuda")
    with pytest.raises(tvm.TVMError, match="needs a 'kind'"):
        tvm.target.Target({"mcpu": "x"})


def test_node_constructors_take_python_scalars_and_run() -> None:
    n = 16
    A = te.placeholder((n,), "int32", name="A")
    B = te.compute((n,), lambda i: tir.Max(tir.Add(A[i], 3), 0) * tir.Select(tir.LT(i, 8), 1, 2), name="B")
    s = te.create_schedule(B.op)
    assert B.op in s.stage_map and s.stage_map[B.op] is s[B]
    f = tvm.build({"llvm": tvm.lower(s, [A, B])})
    a = np.random.default_rng().integers(-10, 10, n).astype(np.int32)
    out = tvm.nd.empty((n,), "int32")
    out[:] = np.zeros(n, np.int32)
    f(tvm.nd.array(a), out)
    np.testing.assert_array_equal(out.numpy(), np.maximum(a + 3, 0) * np.where(np.arange(n) < 8, 1, 2))
    with pytest.raises(tvm.TVMError, match="only arr"):
        out[2:] = np.zeros(n - 2, np.int32)
    with pytest.raises(tvm.TVMError, match="one target"):
        tvm.build({"llvm": tvm.lower(s, [A, B]), "cuda": tvm.lower(s, [A, B])})


def test_runtime_and_ir_names() -> None:
    x = te.var("x")
    call = te.exp(te.var("f", "float32"))
    assert call.op == tvm.ir.Op.get("tir.exp") and call.op.same_as(tvm.ir.Op.get("exp"))
    assert isinstance(x, tvm.ir.PrimExpr)
    assert tvm.ir.structural_hash(x * 2 + 1) == tvm.ir.structural_hash(x * 2 + 1)
    assert tvm.ir.structural_hash(x + 1) != tvm.ir.structural_hash(x + 2)
    assert tvm.runtime.DataType("int8x4").lanes == 4 and tvm.DataType("float16").bits == 16
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] + 1, name="B")
    m = tvm.build(te.create_schedule(B.op), [A, B])
    assert isinstance(m, tvm.runtime.Module) and not isinstance(3, tvm.runtime.Module)
    assert isinstance(m[m.entry_name], tvm.runtime.PackedFunc)
    assert float(tvm.runtime.const(1.5).value) == 1.5 and tvm.runtime.String("a") == "a"


def test_env_threads_is_refused_with_the_alternative() -> None:
    m, n = 4, 8
    X = te.placeholder((m, n), name="X")
    state = te.placeholder((m, n))
    init = te.compute((1, n), lambda _, i: X[0, i])
    update = te.compute((m, n), lambda t, i: state[t - 1, i] + X[t, i])
    res = te.scan(init, update, state)
    s = te.create_schedule(res.op)
    with pytest.raises(tvm.TVMError, match="env_threads is not supported; bind"):
        s[res].env_threads([te.thread_axis((0, 1), "blockIdx.x"), te.thread_axis((0, 8), "threadIdx.x")])


def test_create_prim_func_into_an_irmodule_builds_as_the_mlc_course_does():
    # the MLC course's TE chapter: te.create_prim_func -> IRModule({name: f}) -> build -> mod[name]
    from tensorlang.errors import ArgumentError
    A = te.placeholder((32, 16), name="A")
    B = te.placeholder((16, 24), name="B")
    k = te.reduce_axis((0, 16), name="k")
    Y = te.compute((32, 24), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="Y")
    C = te.compute((32, 24), lambda i, j: te.max(Y[i, j], 0.0), name="C")
    f = te.create_prim_func([A, B, C]).with_attr({"global_symbol": "mm_relu", "tir.noalias": True})
    lib = tvm.build(tvm.IRModule({"mm_relu": f}), target="llvm")
    gen = np.random.default_rng()
    a, b = gen.standard_normal((32, 16)).astype("float32"), gen.standard_normal((16, 24)).astype("float32")
    c = tvm.nd.empty((32, 24), "float32")
    lib["mm_relu"](tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), np.maximum(a @ b, 0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ArgumentError, match="only placeholders"):
        te.create_prim_func([A, B])


def test_conv2d_and_conv_take_tvm_012s_layout_arguments():
    from tensorlang import topi
    gen = np.random.default_rng()
    x = gen.standard_normal((1, 8, 9, 4)).astype("float32")  # NHWC
    w = gen.standard_normal((3, 3, 4, 6)).astype("float32")  # HWIO
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    want = topi.testing.conv2d_nhwc_python(x, w, 1, 1)
    for Y in (topi.nn.conv2d(X, W, 1, 1, 1, data_layout="NHWC", kernel_layout="HWIO"),
              topi.nn.conv2d(X, W, 1, 1, 1, "NHWC", "HWIO"),  # positionally: kernel_layout, not out_dtype
              topi.nn.conv(X, W, 1, 1, 1, 1, "NHWC", "HWIO")):
        y = np.zeros(want.shape, "float32")
        tvm.build(te.create_schedule(Y.op), [X, W, Y])(x, w, y)
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    # groups: the generic conv is a grouped convolution (NCHW with OIHW here)
    xc = gen.standard_normal((1, 4, 7, 7)).astype("float32")
    wc = gen.standard_normal((6, 2, 3, 3)).astype("float32")
    XC, WC = te.placeholder(xc.shape, name="XC"), te.placeholder(wc.shape, name="WC")
    G = topi.nn.conv(XC, WC, 1, 1, 1, 2, "NCHW")
    g = np.zeros((1, 6, 7, 7), "float32")
    tvm.build(te.create_schedule(G.op), [XC, WC, G])(xc, wc, g)
    np.testing.assert_allclose(g, topi.testing.conv2d_nchw_python(xc, wc, 1, 1, groups=2), rtol=1e-4, atol=1e-4)
    with pytest.raises(tvm.errors.ExprError, match="kernel_layout 'OHWI' with data_layout 'NHWC'"):
        topi.nn.conv2d(X, W, 1, 1, 1, "NHWC", "OHWI")
    # TVM's NHWC depthwise reference
    d = gen.standard_normal((1, 6, 6, 3)).astype("float32")
    f = gen.standard_normal((3, 3, 3, 2)).astype("float32")
    D, F = te.placeholder(d.shape, name="D"), te.placeholder(f.shape, name="F")
    Z = topi.nn.depthwise_conv2d_nhwc(D, F, 1, 1)
    z = np.zeros((1, 6, 6, 6), "float32")
    tvm.build(te.create_schedule(Z.op), [D, F, Z])(d, f, z)
    np.testing.assert_allclose(z, topi.testing.depthwise_conv2d_python_nhwc(d, f, 1, 1), rtol=1e-4, atol=1e-4)


def test_nd_mem_scope_and_the_ffi_registry():
    gen = np.random.default_rng()
    a = gen.standard_normal((3, 4)).astype("float32")
    x = tvm.nd.array(a, tvm.cpu(0), mem_scope="global")
    e = tvm.nd.empty((3, 4), "float32", tvm.cpu(0), None)
    x.copyto(e, mem_scope=None)
    np.testing.assert_array_equal(e.numpy(), a)
    with pytest.raises(tvm.errors.ArgumentError, match="mem_scope 'texture' is not supported"):
        tvm.nd.empty((2,), "float32", tvm.cpu(0), mem_scope="texture")
    from tensorlang._ffi import registry

    @tvm.register_func("port_gaps.double")
    def double(v):
        return 2 * v
    assert "port_gaps.double" in registry.list_global_func_names()
    assert tvm._ffi.registry.get_global_func("port_gaps.double")(21) == 42


def test_integration_test_names_apply_canon_target_and_task_table():
    # Names TVM 0.12's integration tests use (test_reduce_storage_reuse, test_legacy_tuning).
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1.0, name="B")
    mod = tvm.lower(te.create_schedule(B.op), [A, B])
    doubled = tvm.tir.transform.Apply(
        lambda f: f.with_body(tvm.tir.stmt_functor.ir_transform(
            f.body, None, lambda op: tvm.tir.Store(op.buffer, op.value * 2.0, op.index)
            if isinstance(op, tvm.tir.Store) else None, ["tir.Store"])))(mod)
    f = tvm.build(doubled, target="llvm")
    a = np.random.rand(8).astype("float32")
    b = np.empty(8, "float32")
    f(a, b)
    np.testing.assert_allclose(b, (a + 1) * 2, rtol=1e-6)
    target, host = tvm.target.Target.canon_target_and_host("cuda", "llvm")
    assert target.kind.name == "cuda" and str(host) == "llvm" and target.host is host
    assert tvm.target.Target.canon_target_and_host(None, "llvm") == (None, "llvm")
    with_host = tvm.target.Target("llvm").with_host("llvm")  # TVM 0.10+ code's spelling
    assert with_host.kind.name == "llvm" and str(with_host.host) == "llvm"
    g = tvm.build(te.create_schedule(B.op), [A, B], target=with_host)
    c = np.full(8, np.nan, "float32")
    g(a, c)
    np.testing.assert_allclose(c, a + 1, rtol=1e-6)
    assert tvm.autotvm.task.task.TASK_TABLE is tvm.autotvm.task.task.TEMPLATES


def test_tvm_stacks_outside_tensorlang_say_so() -> None:
    """MLC-style scripts reach for tvm.tir.Schedule or tvm.relay after the te part works: the
    AttributeError says the stack is not part of tensorlang (hasattr stays False)."""
    with pytest.raises(AttributeError, match="Relay .* is not part of tensorlang"):
        tvm.relay  # noqa: B018
    with pytest.raises(AttributeError, match="TensorIR scheduling .* not part of tensorlang"):
        tir.Schedule  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'$"):
        tir.no_such_name  # noqa: B018
    assert not hasattr(tvm, "meta_schedule") and hasattr(tvm, "autotvm")


def test_pre_order_visit_parents_first_and_pruned() -> None:
    """tir.stmt_functor.pre_order_visit (TVM 0.12): parents before children, and a node's children
    only when the callback returns True; here the loop nest of a split, with the body's multiply."""
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    s[B].split(B.op.axis[0], factor=4)
    body = tvm.lower(s, [A, B])["main"].body
    pre: list = []
    post: list = []
    tir.stmt_functor.pre_order_visit(body, lambda n: pre.append(n) or True)
    tir.stmt_functor.post_order_visit(body, post.append)
    assert len(pre) == len(post) and {id(n) for n in pre} == {id(n) for n in post}
    loops = [n for n in pre if isinstance(n, tir.For)]
    at = {id(n): k for k, n in enumerate(pre)}  # by identity: == on IR nodes builds an expression
    assert len(loops) == 2 and at[id(loops[0])] < at[id(loops[1])]
    assert pre[0] is body and post[-1] is body
    assert any(isinstance(n, tir.Mul) for n in pre)
    outer: list = []
    tir.stmt_functor.pre_order_visit(body, lambda n: outer.append(n) or not isinstance(n, tir.For))
    assert outer[-1] is loops[0] and not any(isinstance(n, tir.Mul) for n in outer)
