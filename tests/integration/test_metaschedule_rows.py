"""benchmarks/metaschedule_rows.py without TVM: the MetaSchedule rows are skipped with a reason, never a crash."""

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def msr(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("metaschedule_rows")


def _args(msr, *argv):
    ap = argparse.ArgumentParser()
    msr.ms_args(ap)
    return ap.parse_args(list(argv))


def test_trial_counts_and_no_ms(msr):
    assert msr.trial_counts(_args(msr)) == [64, 256]
    assert msr.trial_counts(_args(msr, "--ms-trials", "256,16,64")) == [16, 64, 256]
    args = _args(msr, "--no-ms")
    assert msr.trial_counts(args) == []
    python, why = msr.tvm_python(args)
    assert python is None and "--no-ms" in why


def test_missing_tvm_python_is_named(msr, monkeypatch, tmp_path):
    missing = tmp_path / "no-such-venv" / "bin" / "python"
    monkeypatch.setenv(msr.TVM_PYTHON_VAR, str(missing))
    python, why = msr.tvm_python(_args(msr))
    assert python is None and str(missing) in why and why.startswith("MetaSchedule: skipped")


def test_python_without_tvm_is_skipped_with_its_error(msr, monkeypatch):
    if importlib.util.find_spec("tvm") is not None:
        pytest.skip("this Python has TVM")
    monkeypatch.setenv(msr.TVM_PYTHON_VAR, sys.executable)
    python, why = msr.tvm_python(_args(msr))
    assert python is None and sys.executable in why and "tvm" in why


def test_failed_tuning_gives_no_rows_and_says_why(msr, capsys, tmp_path):
    failed = msr.Tuning("matmul", 2, 256, str(tmp_path), error="killed by SIGSEGV: ...")
    assert msr.ms_rows(failed, [64, 256], flop=2.0 * 1024 ** 3) == []
    assert "failed, killed by SIGSEGV" in msr.describe(failed, [64, 256])
    msr.print_comparison([], {("matmul", 2): failed}, [64, 256], {}, "auto")
    assert "MetaSchedule failed: killed by SIGSEGV" in capsys.readouterr().out


def test_trials_per_minute_at_each_count_from_the_batch_stamps(msr, tmp_path):
    tun = msr.Tuning("conv2d", 1, 256, str(tmp_path), python="/x/python", wall=130.0,
                     stamps=[[64, 30.0], [128, 60.0], [192, 95.0], [256, 128.0]])
    assert tun.done == 256
    assert tun.wall_at(64) == 30.0 and tun.wall_at(100) == 60.0 and tun.wall_at(256) == 128.0
    assert tun.trials_per_minute(64) == pytest.approx(128.0)
    assert tun.trials_per_minute() == pytest.approx(120.0)
    rows = msr.ms_rows(tun, [64, 256], flop=1e9, extra={"layer": "3x3"})
    assert [r.spec["first"] for r in rows] == [64, 256]
    assert all(r.python == "/x/python" and r.script.endswith("metaschedule_rows.py") for r in rows)
    assert all(r.env["TVM_NUM_THREADS"] == "1" and r.spec["layer"] == "3x3" for r in rows)
