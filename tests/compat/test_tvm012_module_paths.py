"""TVM 0.12 code ported by replacing ``tvm`` with ``tensorlang`` in its imports, dotted module paths
included (``from tvm.autotvm.tuner import XGBTuner``), and the small TVM names its unit tests and
GPU scripts reach for; each run on real data against numpy where it computes."""

import subprocess
import sys

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi

PATHS = [
    ("tensorlang.autotvm.tuner", "XGBTuner"), ("tensorlang.autotvm.tuner.xgboost_cost_model", "XGBoostCostModel"),
    ("tensorlang.autotvm.measure", "LocalRunner"), ("tensorlang.autotvm.measure.measure", "Runner"),
    ("tensorlang.autotvm.task.space", "SplitEntity"), ("tensorlang.autotvm.record", "load_from_file"),
    ("tensorlang.autotvm.tophub", "context"), ("tensorlang.auto_scheduler", "SearchTask"),
    ("tensorlang.auto_scheduler.measure_record", "load_records"), ("tensorlang.te.hybrid", "script"),
    ("tensorlang.te.schedule", "InferBound"), ("tensorlang.tir.stmt_functor", "post_order_visit"),
    ("tensorlang.tir.ir_builder", "create"), ("tensorlang.topi.nn.utils", "get_pad_tuple"),
    ("tensorlang.contrib.nvcc", "have_fp16"), ("tensorlang.contrib.pickle_memoize", "memoize"),
    ("tensorlang.target.codegen", "llvm_version_major"), ("tensorlang._ffi.base", "TVMError"),
    ("tensorlang.ir.transform", "PassContext"), ("tensorlang.runtime.ndarray", "NDArray"),
    ("tensorlang.autotvm.utils", "get_const_tuple"), ("tensorlang.autotvm.tuner.callback", "log_to_file"),
    ("tensorlang.autotvm.task.space", "get_factors"),
]


@pytest.mark.parametrize("module,name", PATHS, ids=[m for m, _ in PATHS])
def test_tvm_module_paths_import_in_a_fresh_process(module, name):
    code = f"from {module} import {name}; import {module} as m; assert getattr(m, {name!r}) is {name}"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_space_helpers_give_tvms_values():
    from tensorlang.autotvm.task.space import get_factors, get_pow2s
    assert get_factors(36) == [1, 2, 3, 4, 6, 9, 12, 18, 36] and get_factors(1) == [1]
    assert get_pow2s(100) == [1, 2, 4, 8, 16, 32, 64] and get_pow2s(64)[-1] == 64


def test_aliased_paths_are_the_same_modules_never_second_copies():
    code = ("import tensorlang.autotvm.tuner as a, tensorlang.autotune.tuner as b, tensorlang.autotvm as c, "
            "tensorlang.autotune as d, tensorlang.te.hybrid as e, tensorlang.hybrid as f\n"
            "assert a is b and c is d and e is f\n"
            "assert b.__spec__.name == 'tensorlang.autotune.tuner'\n"
            "from tensorlang.autotvm.tuner import XGBTuner\n"
            "from tensorlang.autotune.tuner import XGBTuner as X2\n"
            "assert XGBTuner is X2")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("module", ["tensorlang.nosuch", "tensorlang.autotvm.nosuch", "tensorlang.tir.nosuch"])
def test_unknown_paths_stay_module_not_found(module):
    with pytest.raises(ModuleNotFoundError):
        __import__(module)


def test_names_tensorlang_keeps_elsewhere_fail_as_import_errors():
    with pytest.raises(ImportError, match="nosuchname"):
        exec("from tensorlang.auto_scheduler.measure_record import nosuchname", {})


def test_contrib_nvcc_feature_checks_and_nvrtc_compile():
    from tensorlang.contrib import nvcc
    assert nvcc.parse_compute_version("8.6") == (8, 6)
    assert (nvcc.have_fp16("5.3"), nvcc.have_fp16("5.2"), nvcc.have_int8("6.1"), nvcc.have_int8("6.0")) == \
        (True, False, True, False)
    assert nvcc.have_tensorcore("7.0") and not nvcc.have_tensorcore("6.1") and nvcc.have_bf16("8.0")
    assert nvcc.have_tensorcore(target=tvm.target.Target("cuda -arch=sm_80"))
    with pytest.raises(tvm.TVMError, match="major.minor"):
        nvcc.parse_compute_version("sm_80")
    from tensorlang.target.cuda import nvrtc
    if not nvrtc.nvrtc_available():
        pytest.skip("no NVRTC here")
    src = 'extern "C" __global__ void k(float* a) { a[threadIdx.x] *= 2.0f; }'
    ptx = bytes(nvcc.compile_cuda(src, arch="sm_80")).decode()
    assert ".visible .entry k" in ptx and ".target sm_80" in ptx
    cubin = nvcc.compile_cuda(src, "cubin", arch=["-gencode", "arch=compute_90,code=sm_90"])
    assert bytes(cubin[:4]) == b"\x7fELF"


def test_ffi_codegen_and_driver_names():
    from tensorlang._ffi.base import TVMError
    A = te.placeholder((4, 4), name="A")
    k = te.reduce_axis((0, 4), "k")
    with pytest.raises(TVMError):
        te.compute((4,), lambda i: te.sum(A[i, k], axis=k) + 1)

    @tvm._ffi.register_func("tl_test.plus_one", override=True)
    def plus_one(x):
        return x + 1
    assert tvm.get_global_func("tl_test.plus_one")(41) == 42
    assert tvm._ffi.register_object(int) is int and tvm._ffi.register_object("k")(float) is float
    assert tvm.target.codegen.llvm_version_major() >= 14
    B = te.compute((4,), lambda i: A[i, 0] * 3, name="B")
    f = tvm.driver.build(te.create_schedule(B.op), [A, B], "llvm")
    a = np.random.default_rng().standard_normal((4, 4)).astype("float32")
    b = np.empty(4, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a[:, 0] * 3, rtol=1e-6)


def test_lowered_statements_read_as_tvm_s():
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1, name="B")
    C = te.compute((8,), lambda i: B[i] * 2, name="C")
    s = te.create_schedule(C.op)
    realized = []
    stmt = tvm.te.schedule.ScheduleOps(s, tvm.te.schedule.InferBound(s))
    tvm.tir.stmt_functor.post_order_visit(
        stmt, lambda x: realized.append((x.producer.op.name, [int(r.extent) for r in x.bounds]))
        if isinstance(x, tvm.tir.ProducerRealize) else None)
    assert sorted(realized) == [("B", [8]), ("C", [8])]
    k = te.reduce_axis((0, 8), "k")
    D = te.compute((8,), lambda i: te.sum(A[k] * i, axis=k), name="D")
    body = tvm.lower(te.create_schedule(D.op), [A, D])["main"].body.body
    assert isinstance(body, tvm.tir.SeqStmt) and len(body) == 2 and body[0] is body.seq[0]


def test_compute_attrs_read_as_tvm_objects():
    A = te.placeholder((4,), name="A")
    C = te.compute((4,), lambda i: A[i] + 1, name="C", attrs={"hello": 1, "arr": [10, 12], "f": 0.5, "on": True})
    attrs = C.op.attrs
    assert (attrs["hello"].value, attrs["arr"][1].value, attrs["f"].value, attrs["on"]) == (1, 12, 0.5, True)
    assert attrs["hello"] + 1 == 2 and attrs["arr"] == [10, 12]


def test_tensor_astype_is_a_cast_stage():
    A, B = te.placeholder((6,), name="A"), te.placeholder((6,), name="B")
    C = topi.greater(A, B).astype("int8")
    f = tvm.build(te.create_schedule(C.op), [A, B, C])
    rng = np.random.default_rng()
    a, b = rng.standard_normal(6).astype("float32"), rng.standard_normal(6).astype("float32")
    c = np.empty(6, "int8")
    f(a, b, c)
    np.testing.assert_array_equal(c, (a > b).astype("int8"))


def test_flop_of_a_schedule_and_an_authors_figure():
    from tensorlang.autotvm.task.task import compute_flop  # its TVM path

    from tensorlang import autoschedule as auto_scheduler
    A = te.placeholder((64, 32), name="A")
    B = te.compute((64, 32), lambda i, j: A[i, j] * 2 + 1, name="B")
    assert compute_flop(te.create_schedule(B.op)) == compute_flop([B]) == 2 * 64 * 32
    F = te.compute((64, 32), lambda i, j: A[i, j], name="F", attrs={"FLOP": 1234})
    assert auto_scheduler.ComputeDAG([A, F]).flop_ct == 1234


def test_tophub_context_and_pickle_memoize():
    from tensorlang.contrib.pickle_memoize import memoize
    calls = []

    @memoize("tl.test.ref")
    def ref(n):
        calls.append(n)
        return np.random.default_rng().standard_normal(n)
    assert ref(5) is ref(5) and calls == [5]
    with pytest.raises(TypeError, match="cannot be a cache key"):
        ref(np.zeros(2))
    with tvm.target.Target("llvm"), tvm.autotvm.tophub.context("llvm"):
        X, W = te.placeholder((1, 4, 8, 8), name="X"), te.placeholder((4, 4, 3, 3), name="W")
        fcompute, fschedule = topi.testing.get_conv2d_nchw_implement("llvm")
        with pytest.warns(UserWarning, match="fallback config"):
            C = fcompute(X, W, 1, 1, 1, "float32")
        f = tvm.build(fschedule([C]), [X, W, C])
    rng = np.random.default_rng()
    x, w = rng.standard_normal((1, 4, 8, 8)).astype("float32"), rng.standard_normal((4, 4, 3, 3)).astype("float32")
    c = np.empty((1, 4, 8, 8), "float32")
    f(x, w, c)
    np.testing.assert_allclose(c, topi.testing.conv2d_nchw_python(x, w, 1, 1), rtol=1e-4, atol=1e-4)


def test_c_host_target_builds_through_llvm(tmp_path):
    """TVM's test_target_codegen_c_host flow: build for "c", export, load, call by name."""
    A = te.placeholder((37,), name="A")
    B = te.compute((37,), lambda i: te.floor(A[i] * 2.5) + 1, name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B], "c", name="test_fadd")
    path = str(tmp_path / "lib.so")
    f.export_library(path)
    m = tvm.runtime.load_module(path)["test_fadd"]
    a = np.random.default_rng().uniform(-10, 10, 37).astype("float32")
    b = tvm.nd.array(np.zeros(37, "float32"), tvm.device("c"))
    m(tvm.nd.array(a), b)
    np.testing.assert_allclose(b.numpy(), np.floor(a * np.float32(2.5)) + 1, rtol=1e-6)


def test_topi_tables_of_targets_tensorlang_lacks():
    """TVM's topi tests build per-target tables at import ({"hls": topi.hls.schedule_softmax, ...}):
    the names exist; calling one for a target tensorlang lacks says so; the CPU entries run."""
    from tensorlang.contrib import cudnn
    table = {"generic": topi.generic.schedule_lrn, "gpu": topi.gpu.schedule_injective,
             "hls": topi.hls.schedule_softmax, "mali": topi.mali.schedule_depthwise_conv2d_nchw,
             "arm_cpu": topi.arm_cpu.schedule_conv2d_nchw_spatial_pack}
    for target in ("hls", "mali", "arm_cpu"):
        with pytest.raises(tvm.TargetError, match=f"no '{target}' target"):
            table[target]([])
    assert not cudnn.exists() and hasattr(cudnn, "conv_forward")
    with pytest.raises(tvm.TargetError, match="no cuDNN"):
        cudnn.conv_forward(None)
    assert topi.utils.nchw_pack_layout("NCHW4n4c") and not topi.utils.nchw_pack_layout("NCHW16c")
    X = te.placeholder((1, 8, 5, 5), name="X")
    Y = topi.nn.lrn(X, 3, 1, 1e-4, 0.75, 2.0)
    f = tvm.build(table["generic"]([Y]), [X, Y])
    x = np.random.default_rng().uniform(size=(1, 8, 5, 5)).astype("float32")
    y = np.empty_like(x)
    f(x, y)
    np.testing.assert_allclose(y, topi.testing.lrn_python(x, 3, 1, 2.0, 1e-4, 0.75), rtol=1e-5)


def test_runtime_submodules_are_attributes_after_import_tensorlang():
    # TVM imports tvm.runtime.module with the package: tvm.runtime.module.enabled("llvm") needed
    # an explicit `import tensorlang.runtime.module` first.
    import subprocess
    import sys
    code = ("import tensorlang as tvm; print(tvm.runtime.module.enabled('llvm'), "
            "tvm.runtime.ndarray.array is tvm.nd.array)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True"], out.stderr[-1500:]
