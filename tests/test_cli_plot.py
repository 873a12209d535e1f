"""`tensorlang plot` of a log whose confirmations file holds a task with no trial in the log
(its trials were removed, or the log was replaced): the tasks with trials are plotted."""

from __future__ import annotations

import json

from tensorlang import autotune
from tensorlang.autotune import record
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure.measure import Confirmation
from tensorlang.cli import main

from .autotune import templates


def test_plot_skips_a_confirmation_of_a_task_without_trials(tmp_path, capsys) -> None:
    kept = autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")
    gone = autotune.task.create(templates.MATMUL, (8, 8, 8), "llvm")
    log = tmp_path / "log.json"
    trials = [(MeasureInput(kept.target, kept, kept.config_space.get(i)),
               MeasureResult((1e-3 / (i + 1),), MeasureErrorNo.NO_ERROR, timestamp=1.0 + i)) for i in range(3)]
    record.append(log, trials)
    confirm = MeasureResult((1e-3, 1.1e-3), MeasureErrorNo.NO_ERROR, timestamp=9.0, confirm=Confirmation(1, 1))
    record.append_confirmations(log, [(MeasureInput(gone.target, gone, gone.config_space.get(0)), confirm)])
    assert json.loads((tmp_path / "log.json.confirmed").read_text())["task"]["args"] == [8, 8, 8]
    assert main(["plot", str(log)]) == 0
    out = capsys.readouterr().out
    assert "(16, 16, 16)" in out and "(8, 8, 8)" not in out
