"""Real tuning runs: every tuner end to end, the CLI, and a run killed mid-tune that resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import record, tuner
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner
from tensorlang.cli import main
from tests.autotune import tiny_tasks  # noqa: F401 - registers tiny/matmul

HERE = Path(__file__).resolve().parent
TINY = str(HERE / "tiny_tasks.py")


def _option():
    return autotune.measure_option(builder=LocalBuilder(timeout=20), runner=LocalRunner(number=2, repeat=2))


@pytest.mark.parametrize("cls", [tuner.XGBTuner, tuner.GATuner, tuner.RandomTuner, tuner.GridSearchTuner])
def test_each_tuner_end_to_end(tmp_path, cls):
    task = autotune.task.create("tiny/matmul", (32, 32, 32), "llvm")
    log = tmp_path / "log.json"
    t = cls(task) if cls is tuner.GridSearchTuner else cls(task, seed=1)
    t.tune(n_trial=4, measure_option=_option(), callbacks=[autotune.callback.log_to_file(str(log))])
    recs = list(record.load_with_confirmations(str(log)))
    assert len(recs) == 4 and all(res.ok for _, res in recs)
    assert t.best_flops > 0
    with autotune.apply_history_best(str(log)):
        with tl.target.Target("llvm"):
            s, args = tiny_tasks.tiny_matmul(32, 32, 32)
            f = tl.build(s, args)
    rng = np.random.default_rng()
    a, b = rng.random((32, 32), dtype=np.float32), rng.random((32, 32), dtype=np.float32)
    c = np.empty((32, 32), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)


def test_cli_tune_best_build(tmp_path, capsys):
    log = str(tmp_path / "tiny.json")
    assert main(["tune", TINY, "--trials", "4", "--tuner", "random", "--seed", "3", "--log", log,
                 "--number", "1", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "best GFLOPS" in out and "tiny/matmul" in out
    assert main(["best", log]) == 0
    assert "tiny/matmul" in capsys.readouterr().out
    lib = str(tmp_path / "tiny.so")
    assert main(["build", "--log", log, TINY, "-o", lib]) == 0
    f = tl.runtime.load_module(lib)
    rng = np.random.default_rng()
    a, b = rng.random((32, 32), dtype=np.float32), rng.random((32, 32), dtype=np.float32)
    c = np.empty((32, 32), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)


def test_killed_run_leaves_a_log_that_loads_and_resumes(tmp_path):
    log = tmp_path / "killed.json"
    cmd = [sys.executable, "-m", "tensorlang.cli", "tune", TINY, "--trials", "40", "--tuner", "random",
           "--seed", "5", "--log", str(log), "--number", "1", "--repeat", "1"]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = log.read_text().splitlines()
    assert len(lines) >= 4
    for line in lines:
        json.loads(line)  # every line is whole
    done = {inp.config.index for inp, _ in record.load_with_confirmations(str(log))}
    # Resume: only the missing trials are measured, and none of the logged ones again.
    assert main(["tune", TINY, "--trials", str(len(done) + 3), "--tuner", "random", "--seed", "5",
                 "--log", str(log), "--number", "1", "--repeat", "1"]) == 0
    recs = list(record.load_with_confirmations(str(log)))
    # The trials: each config once, the logged ones kept and only 3 more measured.  After them
    # comes the confirmation of the leaders (re-measured side by side), which is not a trial.
    trials = [inp.config.index for inp, res in recs if not record.is_confirmation(res)]
    assert len(trials) == len(done) + 3
    assert len(set(trials)) == len(trials) and set(trials) >= done
    confirms = [res.confirm for _, res in recs if record.is_confirmation(res)]
    assert confirms and all(c.of == len(confirms) for c in confirms)
    assert recs[-len(confirms):] == [r for r in recs if record.is_confirmation(r[1])]  # after the trials
    # The log file itself: one whole line per measured config, none twice; the confirmations
    # sit beside it, in LOG.confirmed.
    raw = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(d["config"]["index"] for d in raw) == sorted(trials)
    assert not any("confirm" in d for d in raw)
    side = [json.loads(line) for line in open(record.confirmations_path(log)).read().splitlines()]
    assert len(side) == len(confirms) and all("confirm" in d for d in side)


def test_cli_confirms_the_leaders_by_default_and_resume_confirms_an_unconfirmed_log(tmp_path, capsys):
    """`tensorlang tune` re-measures its fastest configs before declaring a best and logs that
    confirmation; --confirm-top 0 does not; a log whose trials were never confirmed (a run
    stopped while confirming) gets its confirmation when the same command runs again, without
    measuring any trial again; `tensorlang best` and `build` then use the confirmed best."""
    log = tmp_path / "tiny.json"
    common = [TINY, "--trials", "5", "--tuner", "random", "--seed", "2", "--number", "1", "--repeat", "2",
              "--fixed-repeats"]
    assert main(["tune", *common, "--log", str(log), "--confirm-top", "0"]) == 0
    recs = list(record.load_with_confirmations(str(log)))
    assert len(recs) == 5 and not any(record.is_confirmation(res) for _, res in recs)
    trials = [inp.config.index for inp, _ in recs]
    assert "median of 2 repeats" in capsys.readouterr().out
    # Same command with the default: the 5 trials are done; only the confirmation is added.
    assert main(["tune", *common, "--log", str(log)]) == 0
    out = capsys.readouterr().out
    recs = list(record.load_with_confirmations(str(log)))
    assert [inp.config.index for inp, _ in recs[:5]] == trials
    confirms = recs[5:]
    assert {inp.config.index for inp, _ in confirms} <= set(trials)
    # The 3 fastest, and up to 5 when the trials are within 5% of each other (a tiny kernel's are).
    n = len(confirms)
    assert 3 <= n <= 5 and [res.confirm.rank for _, res in confirms] == list(range(1, n + 1))
    assert all(len(res.costs) in (3, 6) for _, res in confirms)  # one figure per round (6: a tie re-measured)
    winner = confirms[0][0].config
    assert f"confirmed 1/{n}, {len(confirms[0][1].costs)} rounds" in out and str(winner) in out
    # Once confirmed, a rerun has nothing to do.
    assert main(["tune", *common, "--log", str(log)]) == 0
    assert len(list(record.load_with_confirmations(str(log)))) == 5 + n
    capsys.readouterr()
    assert main(["best", str(log)]) == 0
    out = capsys.readouterr().out
    assert f"confirmed 1/{n}" in out and str(winner) in out
    lib = str(tmp_path / "tiny.so")
    assert main(["build", "--log", str(log), TINY, "-o", lib]) == 0
    assert f"(config {winner})" in capsys.readouterr().out

    # A fresh run confirms by default, after its trials.
    log2 = tmp_path / "tiny2.json"
    assert main(["tune", *common, "--log", str(log2)]) == 0
    recs = list(record.load_with_confirmations(str(log2)))
    assert 8 <= len(recs) <= 10
    assert [record.is_confirmation(res) for _, res in recs] == [False] * 5 + [True] * (len(recs) - 5)


def test_rpc_runner_on_this_machine_measures_here_and_a_remote_one_is_refused(tmp_path):
    task = autotune.task.create("tiny/matmul", (32, 32, 32), "llvm")
    with pytest.warns(UserWarning, match="measured on this machine"):
        runner = autotune.RPCRunner("titanx", host="127.0.0.1", port=9190, number=2, repeat=2, timeout=20)
    log = tmp_path / "rpc.json"
    t = tuner.RandomTuner(task, seed=3)
    t.tune(n_trial=3, measure_option=autotune.measure_option(builder=LocalBuilder(timeout=20), runner=runner),
           callbacks=[autotune.callback.log_to_file(str(log))])
    recs = list(record.load_with_confirmations(str(log)))
    assert len(recs) == 3 and all(res.ok and len(res.costs) == 2 for _, res in recs)
    with pytest.raises(autotune.measure.MeasureOptionError, match="host='10.0.0.7'.*no RPC tracker"):
        autotune.RPCRunner("titanx", host="10.0.0.7", port=9190)
