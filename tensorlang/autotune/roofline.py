"""The host CPU's roofline: float32 FMA peak and copy bandwidth, measured once per device class.

``machine_roofline()`` returns a :class:`Roofline` for this CPU.  The first call on a machine
measures it with small kernels (a few seconds) and caches the result on disk under
``$TENSORLANG_CACHE_DIR`` (default ``~/.cache/tensorlang``) in ``roofline/<fingerprint key>.json``;
later calls, in any process, read the file.  ``machine_roofline(force=True)`` re-measures.

How it is measured:
- FMA peak: an LLVM loop of 12 independent vector accumulators, each updated with
  ``llvm.fma`` at the target's full vector width, compiled for the host CPU through tensorlang's
  own LLVM engine.  Twelve chains hide the FMA latency on every x86 core we know (Zen 5 needs
  10-12 512-bit chains for two pipes).  The rate is taken from each thread's CPU time, not wall
  time, so a core lent to another process while the kernel ran does not lower the ceiling; the
  all-cores figure is the sum of the rates of one thread per core running at the same time.
- Copy bandwidth: copies of 256 MiB float32 arrays, counted the STREAM way (bytes read + bytes
  written), by two copiers: ``numpy.copyto`` (libc ``memcpy``; all cores copy disjoint slices from
  one thread each) and a copy kernel tensorlang builds (parallel, vectorized, its stores streaming
  past the caches), which on Zen 5 moves about a third more than ``memcpy`` does.  The best of a
  few repeats of either is kept: a ceiling, not a typical run, and not one our own kernels can
  beat by streaming their stores.

Guarantees: a cached roofline is only used for the device class it was measured on (the file
name and its ``key`` field both carry ``cpu_fingerprint().key``); an unreadable or foreign cache
file is re-measured, never trusted; the cache file is written atomically.
"""

from __future__ import annotations

import ctypes
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .fingerprint import cpu_fingerprint

_FORMAT = 2  # 2: the copy ceiling includes the streaming copy kernel
_ACCUMULATORS = 12
_UNROLL = 2  # each loop iteration updates every accumulator this many times
_FMA_SECONDS = 0.04  # one timed FMA run
_FMA_REPEATS = 5
_COPY_BYTES = 256 << 20  # well beyond any L3 we expect
_COPY_REPEATS = 5


@dataclass(frozen=True)
class Roofline:
    """Ceilings of one CPU for float32 work.

    ``fma_gflops_1core``/``fma_gflops_all``: float32 FMA peak on one core / on all ``num_cores``
    (an FMA counts as two FLOPs); ``copy_gbs_1core``/``copy_gbs_all``: copy bandwidth in GB/s
    (10^9 bytes, read + written) on one core / on all cores; ``vector_bits``: the SIMD width the
    peak was measured at; ``key``: the device-class fingerprint it belongs to; ``load_avg``: the
    1-minute load average when it was measured (a busy machine may have understated bandwidth).
    """

    key: str
    vector_bits: int
    num_cores: int
    fma_gflops_1core: float
    fma_gflops_all: float
    copy_gbs_1core: float
    copy_gbs_all: float
    measured_at: float
    load_avg: float = 0.0
    seconds: float = 0.0  # how long measuring took

    @property
    def float32_lanes(self) -> int:
        """float32 values in one vector register."""
        return self.vector_bits // 32

    def peak_gflops(self, threads: int = 1) -> float:
        """FMA peak for ``threads`` threads (capped at the cores there are)."""
        if threads <= 1:
            return self.fma_gflops_1core
        if threads >= self.num_cores:
            return self.fma_gflops_all
        # In between, cores add up linearly between the two measured points.
        per_core = (self.fma_gflops_all - self.fma_gflops_1core) / max(self.num_cores - 1, 1)
        return self.fma_gflops_1core + per_core * (threads - 1)

    def bandwidth_gbs(self, threads: int = 1) -> float:
        """Copy bandwidth for ``threads`` threads (all-cores figure from two threads on)."""
        return self.copy_gbs_1core if threads <= 1 else self.copy_gbs_all

    def attainable_gflops(self, flop_per_byte: float, threads: int = 1) -> float:
        """The roofline itself: min(peak, arithmetic intensity x bandwidth)."""
        return min(self.peak_gflops(threads), flop_per_byte * self.bandwidth_gbs(threads))

    def ridge_point(self, threads: int = 1) -> float:
        """FLOPs per byte above which a kernel is compute-bound."""
        return self.peak_gflops(threads) / self.bandwidth_gbs(threads)

    def describe(self) -> str:
        """One line for people."""
        return (f"FMA peak {self.fma_gflops_1core:.0f} GFLOPS/core, {self.fma_gflops_all:.0f} on "
                f"{self.num_cores} cores ({self.vector_bits}-bit vectors); copy {self.copy_gbs_1core:.1f} GB/s "
                f"on 1 core, {self.copy_gbs_all:.1f} on all")

    def to_json(self) -> dict:
        return {"format": _FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: object) -> Roofline:
        """Parse what ``to_json`` wrote; ValueError on anything else."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError("not a roofline record of this format")
        fields = {k: v for k, v in data.items() if k != "format"}
        try:
            roof = cls(**fields)
        except TypeError as exc:
            raise ValueError(f"bad roofline record: {exc}") from None
        numbers = (roof.fma_gflops_1core, roof.fma_gflops_all, roof.copy_gbs_1core, roof.copy_gbs_all)
        if not all(isinstance(x, (int, float)) and x > 0 for x in numbers) or roof.vector_bits <= 0:
            raise ValueError("roofline record with non-positive figures")
        return roof


def cache_dir() -> Path:
    """Where tensorlang keeps per-machine caches: $TENSORLANG_CACHE_DIR or ~/.cache/tensorlang."""
    env = os.environ.get("TENSORLANG_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "tensorlang"


def cache_path(key: str | None = None) -> Path:
    """The cache file of the roofline of device class ``key`` (default: this CPU)."""
    return cache_dir() / "roofline" / f"{key or cpu_fingerprint().key}.json"


_memo: dict[str, Roofline] = {}  # by cache file path, so a changed TENSORLANG_CACHE_DIR is honoured
_memo_lock = threading.Lock()


def machine_roofline(force: bool = False) -> Roofline:
    """This CPU's roofline: from memory, else the disk cache, else measured (and cached).
    ``force`` re-measures and overwrites the cache."""
    key = cpu_fingerprint().key
    path = cache_path(key)
    with _memo_lock:
        if not force:
            if str(path) in _memo:
                return _memo[str(path)]
            try:
                roof = Roofline.from_json(json.loads(path.read_text()))
                if roof.key == key:
                    _memo[str(path)] = roof
                    return roof
            except (OSError, ValueError):
                pass  # missing, unreadable or foreign: measure
        roof = measure_roofline()
        _write_atomic(path, json.dumps(roof.to_json(), indent=1) + "\n")
        _memo[str(path)] = roof
        return roof


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".roofline-", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a re-measure next time


def measure_roofline() -> Roofline:
    """Measure this CPU's roofline now (a few seconds); nothing is cached."""
    start = time.perf_counter()
    from ..target.llvm.target import LLVMTarget

    target = LLVMTarget.from_string("llvm")
    cores = _num_cores()
    kernel = _FmaKernel(target)
    fma_1 = kernel.peak(1)
    fma_all = kernel.peak(cores) if cores > 1 else fma_1
    copy_1, copy_all = _copy_bandwidth(cores)
    return Roofline(key=cpu_fingerprint().key, vector_bits=target.vector_bits, num_cores=cores,
                    fma_gflops_1core=fma_1, fma_gflops_all=max(fma_all, fma_1),
                    copy_gbs_1core=copy_1, copy_gbs_all=max(copy_all, copy_1), measured_at=time.time(),
                    load_avg=os.getloadavg()[0], seconds=time.perf_counter() - start)


def _num_cores() -> int:
    """Cores this process may run on (the machine's all-cores figure is taken over these)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def fma_kernel_ir(lanes: int, accumulators: int = _ACCUMULATORS, unroll: int = _UNROLL) -> str:
    """LLVM IR of ``float fma_peak(i64 n, float a, float b)``: ``n`` iterations, each updating
    ``accumulators`` independent ``<lanes x float>`` chains ``unroll`` times (acc = acc*a + b);
    returns a lane of their sum so nothing is dead."""
    vt = f"<{lanes} x float>"
    lines = [f"declare {vt} @llvm.fma.v{lanes}f32({vt}, {vt}, {vt})",
             "define float @fma_peak(i64 %n, float %a, float %b) nounwind {",
             "entry:",
             f"  %va0 = insertelement {vt} poison, float %a, i32 0",
             f"  %va = shufflevector {vt} %va0, {vt} poison, <{lanes} x i32> zeroinitializer",
             f"  %vb0 = insertelement {vt} poison, float %b, i32 0",
             f"  %vb = shufflevector {vt} %vb0, {vt} poison, <{lanes} x i32> zeroinitializer",
             "  br label %loop",
             "loop:",
             "  %i = phi i64 [0, %entry], [%i.next, %loop]"]
    for k in range(accumulators):
        lines.append(f"  %acc{k} = phi {vt} [%vb, %entry], [%acc{k}.u{unroll - 1}, %loop]")
    for u in range(unroll):
        for k in range(accumulators):
            src = f"%acc{k}" if u == 0 else f"%acc{k}.u{u - 1}"
            lines.append(f"  %acc{k}.u{u} = call {vt} @llvm.fma.v{lanes}f32({vt} {src}, {vt} %va, {vt} %vb)")
    lines += ["  %i.next = add i64 %i, 1",
              "  %more = icmp slt i64 %i.next, %n",
              "  br i1 %more, label %loop, label %done",
              "done:"]
    total = f"%acc0.u{unroll - 1}"
    for k in range(1, accumulators):
        lines.append(f"  %sum{k} = fadd {vt} {total}, %acc{k}.u{unroll - 1}")
        total = f"%sum{k}"
    lines += [f"  %r = extractelement {vt} {total}, i32 0", "  ret float %r", "}"]
    return "\n".join(lines) + "\n"


class _FmaKernel:
    """The compiled FMA loop and its calibrated iteration count."""

    def __init__(self, target: object):
        from ..target.llvm import engine

        lanes = max(target.vector_bits // 32, 1)  # type: ignore[attr-defined]
        self.flop_per_iter = 2 * lanes * _ACCUMULATORS * _UNROLL
        self._lib = engine.compile_module(fma_kernel_ir(lanes), target, "tensorlang_roofline_fma")
        self._fn = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64, ctypes.c_float, ctypes.c_float)(
            self._lib.address("fma_peak"))
        # Calibrate: a short run sizes the timed runs to about _FMA_SECONDS each.
        n = 1 << 14
        while True:
            cpu = self._timed(n)
            if cpu > 0.005:
                break
            n *= 4
        self.iters = max(int(n * _FMA_SECONDS / cpu), 1)

    def _timed(self, n: int) -> float:
        """Thread CPU seconds of one run of ``n`` iterations (ctypes drops the GIL meanwhile)."""
        t0 = time.thread_time()
        self._fn(n, 0.5, 1.0)
        return max(time.thread_time() - t0, 1e-9)

    def peak(self, threads: int) -> float:
        """GFLOPS of ``threads`` threads running the loop at once: the best repeat's sum of
        per-thread rates (flops over that thread's CPU time)."""
        best = 0.0
        for _ in range(_FMA_REPEATS):
            rates = [0.0] * threads
            barrier = threading.Barrier(threads)

            def work(t: int) -> None:
                barrier.wait()
                rates[t] = self.flop_per_iter * self.iters / self._timed(self.iters) / 1e9

            pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
            for th in pool:
                th.start()
            for th in pool:
                th.join()
            best = max(best, sum(rates))
        return best


def copy_gbs(dst: np.ndarray, src: np.ndarray, threads: int) -> float:
    """GB/s of one copy of ``src`` into ``dst`` (read + write bytes), split into ``threads``
    contiguous slices, each copied by its own thread (``numpy.copyto``: libc ``memcpy``, which
    releases the GIL and streams large copies), the threads started together at a barrier."""
    n = src.size
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)
    barrier = threading.Barrier(threads)
    spans = [(0.0, 0.0)] * threads

    def work(t: int) -> None:
        lo, hi = bounds[t], bounds[t + 1]
        barrier.wait()
        start = time.perf_counter()
        np.copyto(dst[lo:hi], src[lo:hi])
        spans[t] = (start, time.perf_counter())

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    # From the first copy's start to the last one's end, as each thread saw them: a clock read
    # by a third thread after the barrier could start late and flatter it.
    elapsed = max(e for _, e in spans) - min(b for b, _ in spans)
    return 2 * src.nbytes / elapsed / 1e9


def stream_copier(n: int) -> Callable[[np.ndarray, np.ndarray, int], float]:
    """``copy(dst, src, threads)`` -> GB/s (read + write bytes) of a copy kernel tensorlang builds
    for ``n`` float32 elements: parallel over ``threads`` and vectorized, so its large stores
    stream past the caches (what memcpy may not do, and what our memory-bound kernels do)."""
    from .. import te
    from ..build_module import build
    from ..schedule.schedule import create_schedule

    src_t = te.placeholder((n,), name="src")
    dst_t = te.compute((n,), lambda i: src_t[i], name="dst")
    s = create_schedule(dst_t.op)
    outer, inner = s[dst_t].split(dst_t.op.axis[0], factor=1 << 16)
    s[dst_t].parallel(outer)
    _, lanes = s[dst_t].split(inner, factor=16)
    s[dst_t].vectorize(lanes)
    fn = build(s, [src_t, dst_t], target="llvm")

    def copy(dst: np.ndarray, src: np.ndarray, threads: int) -> float:
        fn.set_num_threads(threads)
        start = time.perf_counter()
        fn(src, dst)
        return 2 * src.nbytes / (time.perf_counter() - start) / 1e9
    return copy


def _copy_bandwidth(cores: int) -> tuple[float, float]:
    """Best copy GB/s (read + write bytes) on one core and on ``cores`` threads at once, of
    memcpy and of the streaming copy kernel."""
    n = _COPY_BYTES // 4
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros(n, dtype=np.float32)  # np.zeros may map lazily: the first copy faults it in
    np.copyto(dst, src)
    copiers = [copy_gbs]
    try:
        stream = stream_copier(n)
        stream(dst, src, 1)
        copiers.append(stream)
    except Exception:  # noqa: BLE001 - a ceiling from memcpy alone is still a ceiling
        pass

    def best_of(threads: int) -> float:
        return max(copy(dst, src, threads) for copy in copiers for _ in range(_COPY_REPEATS))

    one = best_of(1)
    return one, (best_of(cores) if cores > 1 else one)
