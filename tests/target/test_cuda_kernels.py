"""Hopper-class kernel features of the CUDA path, checked without a GPU: the PTX NVRTC makes
for the matmul template's 128x128x8 config (128-bit global accesses, cp.async, one barrier
per k-tile, no spills, the register budget), and the same kernels emulated against numpy."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune, te
from tensorlang.target.cuda import nvrtc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import matmul  # noqa: E402,F401 - registers matmul_cuda

needs_nvrtc = pytest.mark.skipif(not nvrtc.nvrtc_available(), reason="NVRTC not installed (pip install '.[cuda]')")
rng = np.random.default_rng()


def hopper_config(task, **knobs):
    """The matmul template's config with a 128x128 block tile, 8x8 outputs per thread, k-tiles
    of 8 and float4 fetches, and the given other knobs (double buffering and no register cap
    by default)."""
    want = {"double_buffer": 1, "max_registers": 0, "unroll_explicit": 1, "auto_unroll_max_step": 512,
            "shared_pad": 0, **knobs}
    space = task.config_space
    for i in range(len(space)):
        c = space.get(i)
        if (c["tile_y"].size[1:] == [16, 8] and c["tile_x"].size[1:] == [16, 8] and c["tile_k"].size[1] == 8
                and c["vec"].val == 4 and all(c[k].val == v for k, v in want.items())):
            return c
    raise AssertionError("the template lost its 128x128x8 config")


@needs_nvrtc
def test_matmul_ptx_has_128bit_loads_cp_async_one_barrier_and_no_spills():
    task = autotune.task.create("matmul_cuda", (4096, 4096, 4096, "float32"), "cuda -arch=sm_90")
    s, args = task.instantiate(hopper_config(task))
    m = tl.build(s, args, target=task.target)
    ptx = m.get_source("ptx")
    # The fetches of A and B tiles: 16-byte (128-bit) asynchronous copies global -> shared.
    assert len(re.findall(r"cp\.async\.cg\.shared\.global(\.\w+)* \[[^]]+\], \[[^]]+\], 16;", ptx)) >= 2
    assert "cp.async.commit_group" in ptx and "cp.async.wait_group" in ptx
    assert "st.global.v4.f32" in ptx  # and 128-bit stores of C
    assert ptx.count("bar.sync") == 1  # one barrier per k-tile (the loop is not unrolled)
    (res,) = m.compiled.resources.values()
    assert res.spill_bytes == 0, m.compiled.log
    assert res.shared_bytes == 2 * 2 * 128 * 8 * 4  # two halves of the A and B tiles

    # Below sm_80: a plain double buffer, fetched with 128-bit loads.
    old = tl.build(s, args, target="cuda -arch=sm_75")
    old_ptx = old.get_source("ptx")
    assert "cp.async" not in old_ptx and len(re.findall(r"ld\.global(\.nc)?\.v4\.[fub]32", old_ptx)) >= 2

    # A register budget: __launch_bounds__(256, 2) caps ptxas at 128 registers a thread.
    s, args = task.instantiate(hopper_config(task, max_registers=128))
    capped = tl.build(s, args, target=task.target)
    assert "__launch_bounds__(256, 2)" in capped.get_source("cuda")
    (res,) = capped.compiled.resources.values()
    assert res.registers <= 128 and res.spill_bytes == 0, capped.compiled.log


@needs_nvrtc
def test_single_buffered_matmul_ptx_fetches_and_reads_shared_tiles_with_128bit_accesses():
    # double_buffer=0 on sm_90: no cp.async; the vec knob's float4 fetch is a 128-bit global
    # load and a 128-bit shared store per tile, the 8x8 register tile reads B's row of shared
    # memory as float4, and a k-tile has its two barriers (after the fetch, before the next).
    task = autotune.task.create("matmul_cuda", (4096, 4096, 4096, "float32"), "cuda -arch=sm_90")
    s, args = task.instantiate(hopper_config(task, double_buffer=0))
    m = tl.build(s, args, target=task.target)
    ptx = m.get_source("ptx")
    assert "cp.async" not in ptx
    assert len(re.findall(r"ld\.global(\.nc)?\.v4\.[fub]32", ptx)) >= 2
    assert len(re.findall(r"st\.shared\.v4\.[fub]32", ptx)) >= 2
    assert len(re.findall(r"ld\.shared\.v4\.[fub]32", ptx)) >= 16  # 8 k steps x 2 float4 of B's row
    assert ptx.count("bar.sync") == 2
    (res,) = m.compiled.resources.values()
    assert res.spill_bytes == 0 and res.shared_bytes == 2 * 128 * 8 * 4, m.compiled.log


@pytest.mark.parametrize("arch", ["sm_90", "sm_75"])
def test_double_buffered_matmul_matches_numpy_in_emulation(arch):
    task = autotune.task.create("matmul_cuda", (128, 64, 128, "float32"), f"cuda -emulate -arch={arch}")
    s, args = task.instantiate(hopper_config(task, unroll_explicit=0))
    m = tl.build(s, args, target=task.target)
    src = m.get_source("cuda")
    assert ("cp.async" in src) == (arch == "sm_90")
    assert "#pragma unroll" in src  # unroll_explicit=0: NVRTC unrolls
    a = rng.standard_normal((128, 64)).astype(np.float32)
    b = rng.standard_normal((64, 128)).astype(np.float32)
    c = np.zeros((128, 128), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_double_buffer_with_uneven_tiles_and_scalar_fetches():
    """A k extent that the tile does not divide (guarded fetches), scalar (4-byte) copies."""
    n, k_len = 40, 52
    A = te.placeholder((n, k_len), name="A")
    B = te.placeholder((k_len, n), name="B")
    k = te.reduce_axis((0, k_len), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    AA, BB = s.cache_read(A, "shared", [C]), s.cache_read(B, "shared", [C])
    CL = s.cache_write(C, "local")
    bi, ti = s[C].split(C.op.axis[0], factor=8)
    bj, tj = s[C].split(C.op.axis[1], factor=8)
    s[C].reorder(bi, bj, ti, tj)
    for ax, tag in ((bi, "blockIdx.y"), (bj, "blockIdx.x"), (ti, "threadIdx.y"), (tj, "threadIdx.x")):
        s[C].bind(ax, te.thread_axis(tag))
    s[CL].compute_at(s[C], tj)
    ko, ki = s[CL].split(s[CL].op.reduce_axis[0], factor=6)
    for load in (AA, BB):
        s[load].compute_at(s[CL], ko)
        fused = s[load].fuse(*s[load].op.axis)
        ty, fused = s[load].split(fused, nparts=8)
        tx, fused = s[load].split(fused, nparts=8)
        s[load].bind(ty, te.thread_axis("threadIdx.y"))
        s[load].bind(tx, te.thread_axis("threadIdx.x"))
        s[load].double_buffer()
    m = tl.build(s, [A, B, C], target="cuda -emulate -arch=sm_90")
    assert "cp.async.ca.shared.global" in m.get_source("cuda")
    a = rng.standard_normal((n, k_len)).astype(np.float32)
    b = rng.standard_normal((k_len, n)).astype(np.float32)
    c = np.zeros((n, n), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("vthread", [False, True])
def test_double_buffer_with_an_unrolled_local_fetch_loop(vthread):
    """The d2l-tvm GPU matmul: a double-buffered shared tile computed at ko, its local copy at the
    unrolled ki.  Unrolling gives one allocation of the local copy per ki; the double buffer once
    hoisted the last around all of them (wrong sums with a vthread, a crash without)."""
    n = 64
    A, B = te.placeholder((n, n), name="A"), te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    AA = s.cache_read(A, "shared", [C])
    AL = s.cache_read(AA, "local", [C])
    CC = s.cache_write(C, "local")
    by, yi = s[C].split(C.op.axis[0], factor=16)
    s[C].bind(by, te.thread_axis("blockIdx.x"))
    if vthread:
        vy, yi = s[C].split(yi, nparts=2)
        s[C].bind(vy, te.thread_axis("vthread"))
    ty, yi = s[C].split(yi, nparts=8)
    s[C].bind(ty, te.thread_axis("threadIdx.x"))
    s[CC].compute_at(s[C], ty)
    ko, ki = s[CC].split(CC.op.reduce_axis[0], factor=4)
    s[CC].reorder(ko, ki, *CC.op.axis)
    s[AA].compute_at(s[CC], ko)
    s[AL].compute_at(s[CC], ki)
    s[CC].unroll(ki)
    t, _ = s[AA].split(s[AA].op.axis[0], nparts=8)
    s[AA].bind(t, te.thread_axis("threadIdx.x"))
    s[AA].double_buffer()
    m = tl.build(s, [A, B, C], target="cuda -emulate")
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    c = np.zeros((n, n), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    if nvrtc.nvrtc_available():
        tl.build(s, [A, B, C], target="cuda -arch=sm_90")  # and the CUDA C compiles


def test_matmul_shared_pad_knob_pads_rows_and_matches_numpy():
    """The shared_pad knob (storage_align): A's tile rows get a stride of 32k + 4 floats, which
    keeps them 16-byte aligned, so the float4 and cp.async fetches stay vectors."""
    import warnings
    task = autotune.task.create("matmul_cuda", (128, 64, 128, "float32"), "cuda -emulate -arch=sm_90")
    s, args = task.instantiate(hopper_config(task, shared_pad=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no vector access falls back to scalars
        m = tl.build(s, args, target=task.target)
    text = str(tl.lower(s, args))
    assert f"allocate A.shared[float32 * {2 * 128 * 36}], shared" in text  # rows of 8 floats, strided 32 + 4
    if nvrtc.nvrtc_available():
        assert "cp.async.cg.shared.global" in m.get_source("ptx")
    a = rng.standard_normal((128, 64)).astype(np.float32)
    b = rng.standard_normal((64, 128)).astype(np.float32)
    c = np.zeros((128, 128), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_conv2d_shared_pad_knob_matches_numpy():
    import conv2d
    task = autotune.task.create("conv2d_nchw_cuda", (1, 8, 10, 10, 16, 3, 3, 1, "float32"),
                                "cuda -emulate -arch=sm_90")
    from tensorlang.autotune.space import InstantiationError
    space = task.config_space
    configs = []
    for i in np.random.default_rng(3).permutation(len(space)):
        c = space.get(int(i))
        if c["shared_pad"].val != 1:
            continue
        try:
            space.check(c)
        except InstantiationError:
            continue
        configs.append(c)
        if len(configs) == 2:
            break
    x = rng.standard_normal((1, 8, 10, 10)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    for c in configs:
        s, args = task.instantiate(c)
        assert "shared" in str(tl.lower(s, args))
        m = tl.build(s, args, target=task.target)
        y = np.zeros((1, 16, 10, 10), np.float32)
        m(x, w, y)
        np.testing.assert_allclose(y, conv2d.numpy_conv2d(x, w, 1), rtol=1e-4, atol=1e-4)
    assert len(configs) == 2
