"""Hostile tuning logs and log paths found by the session-19 kill-and-resume campaign: a record
whose task arguments hold a JSON object, a log that cannot be written given to ``log_to_file``,
and a folder in the place of the log's confirmations file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import record
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult

from . import templates

ARGS = (16, 16, 16)


def _lines(task, costs):
    out = []
    for index, cost in enumerate(costs):
        res = MeasureResult((cost,), MeasureErrorNo.NO_ERROR, all_cost=0.1, timestamp=1.0 + index)
        out.append(record.encode(MeasureInput(task.target, task, task.config_space.get(index * 7)), res))
    return out


def test_a_record_whose_args_hold_an_object_is_skipped_naming_its_line(tmp_path) -> None:
    task = autotune.task.create(templates.MATMUL, ARGS, "llvm")
    lines = _lines(task, [3e-3, 2e-3, 1e-3])
    hostile = json.loads(lines[0])
    hostile["task"]["args"] = [16, {}, 16]  # no writer makes this; it made apply_history_best raise TypeError
    hostile["result"]["costs"] = [1e-6]
    log = tmp_path / "log.json"
    log.write_text("\n".join([lines[0], json.dumps(hostile), *lines[1:]]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(list(record.load_from_file(log))) == 3
        with autotune.apply_history_best(str(log)), tl.target.Target("llvm"):
            s, args = templates.matmul(*ARGS)
    assert any("line 2" in str(w.message) and "task.args" in str(w.message) for w in caught)
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a = rng.standard_normal((16, 16)).astype("float32")
    b = rng.standard_normal((16, 16)).astype("float32")
    c = np.empty((16, 16), "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_log_to_file_refuses_a_log_it_cannot_write_before_anything_is_measured(tmp_path) -> None:
    with pytest.raises(record.LogFileError, match="is a directory"):
        autotune.callback.log_to_file(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(record.LogFileError, match="cannot create the tuning log"):
        autotune.callback.log_to_file(tmp_path / "file" / "log.json")
    autotune.callback.log_to_file(tmp_path / "new" / "folders" / "log.json")  # created on the first write


def test_a_folder_in_place_of_the_confirmations_stops_a_run_before_it_measures(tmp_path) -> None:
    log = tmp_path / "log.json"
    (tmp_path / ("log.json" + record.CONFIRMED_SUFFIX)).mkdir()
    with pytest.raises(record.LogFileError, match=r"log\.json\.confirmed is a directory"):
        with record.exclusive_writer(log):
            pass
    assert not log.exists()
