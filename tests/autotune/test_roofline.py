import json

import numpy as np
import pytest

from tensorlang.autotune import roofline
from tensorlang.autotune.fingerprint import cpu_fingerprint


@pytest.fixture
def fast_cache(tmp_path, monkeypatch):
    """A private cache directory and a quick measurement (small runs, small arrays)."""
    monkeypatch.setenv("TENSORLANG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(roofline, "_FMA_SECONDS", 0.005)
    monkeypatch.setattr(roofline, "_FMA_REPEATS", 2)
    monkeypatch.setattr(roofline, "_COPY_BYTES", 16 << 20)
    monkeypatch.setattr(roofline, "_COPY_REPEATS", 2)
    monkeypatch.setattr(roofline, "_memo", {})
    return tmp_path


def test_measures_once_then_reads_the_cache(fast_cache, monkeypatch):
    roof = roofline.machine_roofline()
    key = cpu_fingerprint().key
    path = fast_cache / "roofline" / f"{key}.json"
    assert json.loads(path.read_text())["key"] == key == roof.key
    assert roof.vector_bits in (128, 256, 512) and roof.float32_lanes == roof.vector_bits // 32
    # Any CPU this runs on does at least one vector FMA per few cycles at >= 1 GHz.
    assert roof.fma_gflops_1core > 2 * roof.float32_lanes * 0.25
    assert roof.fma_gflops_all >= roof.fma_gflops_1core and roof.copy_gbs_all >= roof.copy_gbs_1core > 0.5

    def boom():
        raise AssertionError("re-measured although a cache file exists")
    monkeypatch.setattr(roofline, "measure_roofline", boom)
    monkeypatch.setattr(roofline, "_memo", {})  # a fresh process: only the file is left
    assert roofline.machine_roofline() == roof


def test_force_and_a_foreign_or_broken_cache_remeasure(fast_cache, monkeypatch):
    calls = []
    real = roofline.measure_roofline

    def counted():
        calls.append(1)
        return real()
    monkeypatch.setattr(roofline, "measure_roofline", counted)
    first = roofline.machine_roofline()
    roofline.machine_roofline(force=True)
    assert len(calls) == 2
    path = roofline.cache_path()
    for bad in ("not json", json.dumps({**first.to_json(), "key": "cpu-other-0000"}),
                json.dumps({**first.to_json(), "fma_gflops_1core": -1})):
        path.write_text(bad)
        monkeypatch.setattr(roofline, "_memo", {})
        assert roofline.machine_roofline().key == first.key
    assert len(calls) == 5


def test_roofline_arithmetic():
    roof = roofline.Roofline(key="k", vector_bits=512, num_cores=4, fma_gflops_1core=100, fma_gflops_all=400,
                             copy_gbs_1core=20, copy_gbs_all=40, measured_at=0)
    assert roof.peak_gflops(1) == 100 and roof.peak_gflops(3) == 300 and roof.peak_gflops(8) == 400
    assert roof.attainable_gflops(1.0) == 20 and roof.attainable_gflops(100.0, threads=4) == 400
    assert roof.ridge_point(1) == 5
    assert roofline.Roofline.from_json(json.loads(json.dumps(roof.to_json()))) == roof


def test_fma_kernel_computes_the_chains_it_claims():
    """The kernel's result is the recurrence acc = acc*a + b run n*unroll times per chain, summed."""
    import ctypes

    from tensorlang.target.llvm import engine
    from tensorlang.target.llvm.target import LLVMTarget

    lib = engine.compile_module(roofline.fma_kernel_ir(4, accumulators=3, unroll=2), LLVMTarget.from_string("llvm"),
                                "roofline_test")
    fn = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64, ctypes.c_float, ctypes.c_float)(lib.address("fma_peak"))
    acc = 0.25
    for _ in range(5 * 2):
        acc = acc * 0.5 + 0.25
    assert fn(5, 0.5, 0.25) == pytest.approx(3 * acc)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_copy_gbs_copies_every_element_on_each_thread_count(threads):
    """The copy bandwidth kernel (the roofline's, and the one benchmark rows time beside them)
    splits the copy into contiguous slices, one per thread, and copies all of it."""
    rng = np.random.default_rng()
    src = rng.standard_normal(100_003).astype(np.float32)  # does not divide by 2 or 3
    dst = np.full_like(src, np.nan)
    gbs = roofline.copy_gbs(dst, src, threads)
    np.testing.assert_array_equal(dst, src)
    assert np.isfinite(gbs) and gbs > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_stream_copier_copies_every_element(threads):
    """The streaming copy kernel that joins memcpy in the copy ceiling copies all of an array whose
    length is no multiple of its vector or parallel chunk, whatever the array's alignment."""
    rng = np.random.default_rng()
    n = (1 << 16) * 3 + 37
    base = rng.standard_normal(n + 1).astype(np.float32)
    src = base[1:]  # 4 bytes past an aligned start: the streaming stores must not assume alignment
    dst = np.full(n, np.nan, np.float32)
    copy = roofline.stream_copier(n)
    gbs = copy(dst, src, threads)
    np.testing.assert_array_equal(dst, src)
    assert np.isfinite(gbs) and gbs > 0
