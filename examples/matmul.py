"""Matrix multiplication C = A @ B in tensorlang: naive and register-blocked hand schedules,
and the tunable template ``matmul`` whose space holds register-blocked kernels.

    python examples/matmul.py                        # build, check against numpy, print GFLOPS
    tensorlang show examples/matmul.py               # print the lowered loop IR
    tensorlang tune --target=llvm examples/matmul.py # tune the template (tasks() below)
    tensorlang tune --auto --target=llvm examples/matmul.py  # no template (computations() below)
"""

from __future__ import annotations

import time

import numpy as np

import tensorlang as tl
from tensorlang import autotune, te
from tensorlang.topi.x86.utils import get_simd_32bit_lanes


def matmul(N: int, L: int, M: int, dtype: str = "float32"):
    """The computation: C[i, j] = sum_k A[i, k] * B[k, j]."""
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return A, B, C


def naive(N: int, L: int, M: int, dtype: str = "float32"):
    """Default schedule: three nested loops."""
    A, B, C = matmul(N, L, M, dtype)
    return te.create_schedule(C.op), [A, B, C]


def register_columns(mr: int) -> int:
    """The widest tile row (``nr``) whose ``mr`` rows of float32 accumulators fit this CPU's
    vector registers with four to spare (for the B vectors and the broadcast A value):
    6 x 64 with AVX-512 (32 registers of 16 lanes), 6 x 16 with AVX2 (16 registers of 8)."""
    lanes = get_simd_32bit_lanes()
    registers = 32 if lanes == 16 else 16
    return lanes * max(1, (registers - 4) // max(1, mr))


def blocked(N: int, L: int, M: int, dtype: str = "float32", mr: int = 6, nr: int | None = None, ku: int = 2,
            order: str = "panel", pack: bool = True):
    """Register-blocked schedule: B packed (``pack``) into contiguous column panels of width
    ``nr`` (default: as wide as this CPU's registers allow, ``register_columns``); each ``mr``
    x ``nr`` tile of C accumulates in a local buffer that LLVM keeps in vector registers, over
    a k loop unrolled by ``ku``; ``order`` "panel" keeps one B panel in cache while row blocks
    stream past it (panels run in parallel), "row" walks row blocks outermost."""
    nr = register_columns(mr) if nr is None else nr
    nr, mr = min(nr, M), min(mr, N)
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    if pack:
        packed = te.compute(((M + nr - 1) // nr, L, nr),
                            lambda jo, kk, ji: te.if_then_else(jo * nr + ji < M, B[kk, jo * nr + ji],
                                                               te.const(0, dtype)), name="packedB")
        C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * packed[j // nr, k, j % nr], axis=k), name="C")
    else:
        packed = None
        C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    CC = s.cache_write(C, "local")
    i, j = s[C].op.axis
    jo, ji = s[C].split(j, factor=nr)
    io, ii = s[C].split(i, factor=mr)
    if order == "panel":
        s[C].reorder(jo, io, ii, ji)
        s[C].parallel(jo)
    else:
        s[C].reorder(io, jo, ii, ji)
        s[C].parallel(io)
    s[C].vectorize(ji)
    s[CC].compute_at(s[C], io if order == "panel" else jo)
    ic, jc = s[CC].op.axis
    (kc,) = s[CC].op.reduce_axis
    if ku > 1:
        ko, ki = s[CC].split(kc, factor=ku)
        s[CC].reorder(ko, ki, ic, jc)
        s[CC].unroll(ki)
    else:
        s[CC].reorder(kc, ic, jc)
    s[CC].unroll(ic)
    s[CC].vectorize(jc)
    if packed is not None:
        po, pk, pi = s[packed].op.axis
        s[packed].vectorize(pi)
        s[packed].parallel(po)
    return s, [A, B, C]


@autotune.template("matmul")
def matmul_template(N: int, L: int, M: int, dtype: str = "float32"):
    """Tunable register-blocked matmul for CPUs: the knobs of ``blocked`` (tile ``nr`` x
    ``mr``, k unrolling ``ku``, loop ``order``, ``pack``ing of B)."""
    cfg = autotune.get_config()
    cfg.define_knob("nr", [64, 32, 16, 48, 96, 128])
    cfg.define_knob("mr", [4, 1, 2, 3, 5, 6, 8])
    cfg.define_knob("ku", [1, 2, 4])
    cfg.define_knob("order", ["panel", "row"])
    cfg.define_knob("pack", [True, False])
    # 32 vector registers: keep the accumulators (mr*nr/16 of them) plus operands in registers.
    cfg.add_constraint(lambda c: c["mr"].val * c["nr"].val <= 448, "mr*nr <= 448 (28 zmm accumulators)")
    cfg.add_flop(2.0 * N * L * M)
    return blocked(N, L, M, dtype, mr=cfg["mr"].val, nr=cfg["nr"].val, ku=cfg["ku"].val,
                   order=cfg["order"].val, pack=cfg["pack"].val)


def padded_row(n: int, pad: int) -> int:
    """The stride of a shared row of ``n`` elements aligned to 32k + ``pad`` (0: unpadded)."""
    return n if pad == 0 else n + (pad - n) % 32


def _numpy_matmul(N, L, M, dtype="float32"):
    return np.matmul


@autotune.template("matmul_cuda", reference=_numpy_matmul)
def matmul_cuda_template(N: int, L: int, M: int, dtype: str = "float32"):
    """Tunable GPU matmul in the classic style: each block computes a tile of C from tiles of
    A and B staged in shared memory (fetched cooperatively, optionally as float4, optionally
    double-buffered: cp.async prefetch of the next k-tile on sm_80+), each thread accumulates
    ``yi`` x ``xi`` outputs in registers (a local cache_write stage); knobs also set the
    unrolling limit and a register budget."""
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    cfg = autotune.get_config()
    y, x = s[C].op.axis
    small = lambda e: e.size[1] <= 32 and e.size[2] <= 8  # noqa: E731 - threads, registers per thread
    cfg.define_split("tile_y", y, num_outputs=3, filter=small)
    cfg.define_split("tile_x", x, num_outputs=3, filter=small)
    cfg.define_split("tile_k", k, num_outputs=2, filter=lambda e: e.size[1] <= 32)
    cfg.define_knob("vec", [4, 1])
    cfg.define_knob("auto_unroll_max_step", [512, 0, 1500])
    cfg.define_knob("double_buffer", [1, 0])  # cp.async prefetch of the next k-tile on sm_80+
    cfg.define_knob("unroll_explicit", [1, 0])  # 0: #pragma unroll, NVRTC unrolls
    cfg.define_knob("max_registers", [0, 128])  # register budget per thread (0: the compiler's choice)
    cfg.add_constraint(lambda c: 32 <= c["tile_y"].size[1] * c["tile_x"].size[1] <= 1024,
                       "32..1024 threads per block")
    # Shared rows padded to a stride of 32k + pad floats (storage_align), so that rows read by
    # different threads at once fall on different banks; 4 keeps every row 16-byte aligned.
    cfg.define_knob("shared_pad", [0, 4])
    cfg.add_constraint(lambda c: 4 * (1 + c["double_buffer"].val) * (
        c["tile_y"].size[1] * c["tile_y"].size[2] * padded_row(c["tile_k"].size[1], c["shared_pad"].val)
        + c["tile_k"].size[1] * padded_row(c["tile_x"].size[1] * c["tile_x"].size[2], c["shared_pad"].val))
        <= 48 * 1024, "shared tiles (both halves when double-buffered) fit in 48 KiB")
    cfg.add_flop(2.0 * N * L * M)
    AA = s.cache_read(A, "shared", [C])
    BB = s.cache_read(B, "shared", [C])
    CL = s.cache_write(C, "local")
    y, x = s[C].op.axis
    by, ty, yi = cfg["tile_y"].apply(s, C, y)
    bx, tx, xi = cfg["tile_x"].apply(s, C, x)
    s[C].reorder(by, bx, ty, tx, yi, xi)
    thread_y, thread_x = te.thread_axis("threadIdx.y"), te.thread_axis("threadIdx.x")
    s[C].bind(by, te.thread_axis("blockIdx.y"))
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(ty, thread_y)
    s[C].bind(tx, thread_x)
    s[CL].compute_at(s[C], tx)
    yc, xc = s[CL].op.axis
    (kc,) = s[CL].op.reduce_axis
    ko, ki = cfg["tile_k"].apply(s, CL, kc)
    s[CL].reorder(ko, ki, yc, xc)
    s[CL].unroll(yc)
    s[CL].unroll(xc)
    s[AA].compute_at(s[CL], ko)
    s[BB].compute_at(s[CL], ko)
    vec = cfg["vec"].val
    for load in (AA, BB):
        if cfg["shared_pad"].val:
            s[load].storage_align(s[load].op.axis[0], 32, cfg["shared_pad"].val)
        fused = s[load].fuse(*s[load].op.axis)
        fused, vi = s[load].split(fused, factor=vec)
        tyl, fused = s[load].split(fused, nparts=cfg["tile_y"].size[1])
        txl, fused = s[load].split(fused, nparts=cfg["tile_x"].size[1])
        s[load].bind(tyl, thread_y)
        s[load].bind(txl, thread_x)
        if vec > 1:
            s[load].vectorize(vi)
        if cfg["double_buffer"].val:
            s[load].double_buffer()
    s[C].vectorize(xi)  # 128-bit stores of each thread's row of C where the tile allows
    s[C].pragma(by, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[C].pragma(by, "unroll_explicit", cfg["unroll_explicit"].val)
    if cfg["max_registers"].val:
        s[C].pragma(by, "max_registers", cfg["max_registers"].val)
    return s, [A, B, C]


def tasks(target: str):
    """Tasks for `tensorlang tune`: 1024^3 float32 on the CPU; 4096^3 on a GPU (256^3 when
    the GPU is emulated on the CPU)."""
    if target.split()[0] == "cuda":
        n = 256 if "-emulate" in target.split() else 4096
        return [autotune.task.create("matmul_cuda", (n, n, n, "float32"), target)]
    return [autotune.task.create("matmul", (1024, 1024, 1024, "float32"), target)]


def computations():
    """Entries for `tensorlang tune --auto`: the computation alone, the auto-scheduler finds its schedule."""
    return {"matmul": (lambda n, l, m: list(matmul(n, l, m)), (1024, 1024, 1024))}


def schedules():
    """Entries for `tensorlang show`."""
    return {"matmul_naive_64": naive(64, 64, 64), "matmul_blocked_128": blocked(128, 128, 128)}


if __name__ == "__main__":
    n = 1024
    rng = np.random.default_rng()
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    t0 = time.perf_counter()
    s, args = blocked(n, n, n)
    f = tl.build(s, args, target="llvm", name="matmul")
    print(f"lower + compile: {time.perf_counter() - t0:.3f} s")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3)
    t = f.time_evaluator(number=5, repeat=3)(a, b, c).median
    print(f"blocked matmul {n}^3: {2 * n**3 / t / 1e9:.1f} GFLOPS (result matches numpy)")
