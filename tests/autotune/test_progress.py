"""tensorlang tune's progress: a tqdm bar on a terminal (trials, rate, ETA, best GFLOPS and its
share of the machine's FMA peak, failures by kind), progress_bar's sparse lines elsewhere."""

from __future__ import annotations

import io

from tensorlang import autotune
from tensorlang.autotune import callback, roofline
from tensorlang.autotune.measure import MeasureErrorNo


class _Tuner:
    task = type("T", (), {"flop": 2e9})()
    best_flops, best_config = 0.0, None


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_bar_with_roofline_share_and_errors_by_kind(monkeypatch) -> None:
    fake = roofline.Roofline(key="cpu-test", vector_bits=512, num_cores=2, fma_gflops_1core=20.0,
                             fma_gflops_all=40.0, copy_gbs_1core=10.0, copy_gbs_all=20.0, measured_at=0.0)
    monkeypatch.setattr(roofline, "machine_roofline", lambda force=False: fake)
    ok = autotune.MeasureResult((0.5, 0.5), MeasureErrorNo.NO_ERROR)  # 4 GFLOPS
    bad = autotune.MeasureResult((), MeasureErrorNo.COMPILE_HOST, error_msg="x")
    slow = autotune.MeasureResult((), MeasureErrorNo.RUN_TIMEOUT, error_msg="y")
    tty = _Tty()
    bar = callback.tune_progress(6, "  matmul ", file=tty)
    bar(_Tuner(), [None, None], [ok, bad])
    bar(_Tuner(), [None, None], [bad, slow])
    bar(_Tuner(), [None, None], [ok, ok])
    text = tty.getvalue()
    assert "matmul" in text and "6/6" in text and "trial/s" in text
    assert "best 4.00 GFLOPS (10% of FMA peak)" in text
    assert "errors 3 (compile 2, timeout 1)" in text or "errors 3 (compile 2, run_timeout 1)" in text


def test_a_pipe_gets_sparse_lines_with_errors_by_kind() -> None:
    out = io.StringIO()
    bar = callback.tune_progress(4, "k ", file=out)
    bad = autotune.MeasureResult((), MeasureErrorNo.RUNTIME_DEVICE, error_msg="x")
    bar(_Tuner(), [None] * 4, [bad] * 4)
    assert out.getvalue().count("\n") == 1 and "errors 4 (runtime 4)" in out.getvalue()


def test_a_task_without_an_operation_count_shows_milliseconds(monkeypatch) -> None:
    # A sparse reduction's length is data: its task has no flop count, so GFLOPS would read 0.
    class NoFlops(_Tuner):
        task = type("T", (), {"flop": 0.0})()
    fast = autotune.MeasureResult((0.002, 0.002), MeasureErrorNo.NO_ERROR)
    slow = autotune.MeasureResult((0.005, 0.005), MeasureErrorNo.NO_ERROR)
    out = io.StringIO()
    bar = callback.progress_bar(2, "sparse ", file=out)
    bar(NoFlops(), [None], [slow])
    bar(NoFlops(), [None], [fast])
    assert "batch best     2.000 ms | best     2.000 ms" in out.getvalue()
    assert "GFLOPS" not in out.getvalue()
    fake = roofline.Roofline(key="cpu-test", vector_bits=512, num_cores=2, fma_gflops_1core=20.0,
                             fma_gflops_all=40.0, copy_gbs_1core=10.0, copy_gbs_all=20.0, measured_at=0.0)
    monkeypatch.setattr(roofline, "machine_roofline", lambda force=False: fake)
    tty = _Tty()
    bar = callback.tune_progress(2, "sparse ", file=tty)
    bar(NoFlops(), [None, None], [slow, fast])
    assert "best 2.000 ms" in tty.getvalue()
