"""Hostile and stale tuning logs: schema validation of every line, one warning naming the line,
bad costs rejected, log paths checked before measuring, one writer at a time, records from
another CPU or an older template never applied silently."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import jsonschema
import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import record
from tensorlang.autotune.fingerprint import DeviceFingerprint, cpu_fingerprint
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.space import ConfigEntity
from tensorlang.autotune.tuner import RandomTuner

from . import templates

ARGS = (16, 16, 16)


@pytest.fixture
def task():
    return autotune.task.create(templates.MATMUL, ARGS, "llvm")


def _line(task, index: int, cost: float, device: DeviceFingerprint | None = None) -> dict:
    res = MeasureResult((cost,), MeasureErrorNo.NO_ERROR, all_cost=0.1, timestamp=1.0, device=device)
    return json.loads(record.encode(MeasureInput(task.target, task, task.config_space.get(index)), res))


def test_written_records_follow_the_published_schema(task) -> None:
    schema = json.loads((record.resources.files("tensorlang.autotune") / "log_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    data = _line(task, 3, 0.002)
    jsonschema.validate(data, schema)
    assert data["device"]["key"] == cpu_fingerprint().key  # where it was measured
    assert record.schema_errors(data) == []
    data["result"]["costs"] = [0]
    assert any("result.costs.0" in e for e in record.schema_errors(data))


@pytest.mark.parametrize("bad_cost", ["0", "-1e-3", "NaN", "Infinity", "\"fast\""])
def test_bad_costs_are_skipped_with_one_warning_naming_the_line(task, tmp_path, bad_cost: str) -> None:
    good = [_line(task, i, 0.001 * (i + 1)) for i in range(3)]
    lines = [json.dumps(g) for g in good]
    bad = json.dumps(_line(task, 9, 1.0)).replace("[1.0]", f"[{bad_cost}]")
    lines.insert(1, bad)
    log = tmp_path / "log.json"
    log.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recs = list(record.load_from_file(log))
    assert len(recs) == 3
    (w,) = [c for c in caught if "invalid line" in str(c.message)]
    assert "line 2" in str(w.message) and "costs" in str(w.message)
    # resuming from the log neither crashes nor believes the bad record
    tuner = RandomTuner(task, seed=0)
    tuner.load_history(recs)
    assert tuner.best_config.index == 0 and tuner.best_cost == pytest.approx(0.001)


def test_log_paths_are_checked_before_measuring(tmp_path) -> None:
    with pytest.raises(record.LogFileError, match="not a regular file"):
        record.check_writable("/dev/null")
    with pytest.raises(record.LogFileError, match="is a directory"):
        record.check_writable(tmp_path)
    with pytest.raises(record.LogFileError, match="no such tuning log"):
        list(record.load_from_file(tmp_path / "missing.json"))
    with pytest.raises(record.LogFileError, match="is a directory"):
        list(record.load_from_file(tmp_path))
    (tmp_path / "file").write_text("")
    with pytest.raises(record.LogFileError, match="cannot create"):
        record.check_writable(tmp_path / "file" / "log.json")
    assert record.check_writable(tmp_path / "new" / "log.json").endswith("log.json")


def test_a_second_writer_is_refused_until_the_first_ends(tmp_path) -> None:
    log = tmp_path / "log.json"
    other = [sys.executable, "-c",
             "import sys; from tensorlang.autotune import record\n"
             "try:\n"
             f"    with record.exclusive_writer({str(log)!r}): print('locked')\n"
             "except record.LogFileError as e: print('refused:', e)"]
    with record.exclusive_writer(log):
        out = subprocess.run(other, capture_output=True, text=True, timeout=120).stdout
        assert out.startswith("refused:") and "another tuning process" in out
    out = subprocess.run(other, capture_output=True, text=True, timeout=120).stdout
    assert out.strip() == "locked"


def test_tune_auto_says_a_log_is_busy_before_setting_up_its_tasks(tmp_path, monkeypatch) -> None:
    """``tensorlang tune --auto`` into a log another run holds stops before it imports and sets
    up the file's computations (seconds each); check_not_busy itself creates no log."""
    from tensorlang.autoschedule import files

    log = tmp_path / "auto.json"
    record.check_not_busy(log)
    assert not log.exists()

    def too_early(*args, **kwargs):
        raise AssertionError("tasks set up while the log was busy")

    monkeypatch.setattr(files, "tasks_from_module", too_early)
    with record.exclusive_writer(log):  # the other run
        with pytest.raises(record.LogFileError, match="being written by another tuning process"):
            files.tune_file(None, "examples/matmul.py", "llvm", 4, str(log), 0)
    with pytest.raises(AssertionError, match="tasks set up"):  # free again: it goes on to the tasks
        files.tune_file(None, "examples/matmul.py", "llvm", 4, str(log), 0)


def _build_and_check(tmp_path, log, allow: bool = False) -> None:
    with autotune.apply_history_best(str(log), allow_other_device=allow):
        with tl.target.Target("llvm"):
            s, args = templates.matmul(*ARGS)
    f = tl.build(s, args, "llvm")
    rng = np.random.default_rng()
    a, b = rng.standard_normal((16, 16), dtype=np.float32), rng.standard_normal((16, 16), dtype=np.float32)
    c = np.zeros((16, 16), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_records_from_another_cpu_are_refused_unless_allowed(task, tmp_path) -> None:
    here = cpu_fingerprint()
    other = DeviceFingerprint("cpu", "skylake-avx512" if here.name != "skylake-avx512" else "znver3",
                              ("avx2", "fma"), here.versions, model="Some Other CPU")
    log = tmp_path / "log.json"
    log.write_text(json.dumps(_line(task, 5, 0.001, device=other)) + "\n")
    with pytest.warns(UserWarning, match="not on this machine"):
        ctx = autotune.apply_history_best(str(log))
        assert not isinstance(ctx.query(task.target, task.workload_key), ConfigEntity)  # a fallback
    ctx = autotune.apply_history_best(str(log), allow_other_device=True)
    assert ctx.query(task.target, task.workload_key).index == 5
    _build_and_check(tmp_path, log, allow=True)


def test_stale_records_are_skipped_with_a_message(task, tmp_path) -> None:
    data = _line(task, 5, 0.001)
    data["config"]["knobs"]["tile_y"] = ["sp", [-1, 2, 2]]  # a 3-part split for a 2-part knob
    data["config"]["index"] = 10**6
    log = tmp_path / "log.json"
    log.write_text(json.dumps(data) + "\n")
    with pytest.warns(UserWarning, match="does not fit the template's config space"):
        _build_and_check(tmp_path, log)
    with pytest.warns(UserWarning, match="skipped 1 logged record"):
        RandomTuner(task, seed=0).load_history(record.load_from_file(log))
