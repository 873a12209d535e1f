"""Tuning logs: round trips, damaged and foreign lines, best-config selection, apply_history_best."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import record
from tensorlang.autotune.fingerprint import cpu_fingerprint
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult, TaskRef

from . import templates


@pytest.fixture(scope="module")
def task():
    return autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")


def _rec(task, index: int, cost: float | None, error: MeasureErrorNo = MeasureErrorNo.NO_ERROR):
    res = MeasureResult((cost, cost) if cost is not None else (), error, error_msg="" if cost else "boom",
                        all_cost=0.2, timestamp=1700000000.0 + index, build_time=0.1, run_time=0.1)
    return MeasureInput(task.target, task, task.config_space.get(index)), res


def _lines(path):
    return path.read_text().splitlines()


def test_encode_decode_round_trip(task):
    inp, res = _rec(task, 7, 0.001)
    line = record.encode(inp, res)
    assert "\n" not in line
    data = json.loads(line)
    assert data["v"] == 1 and set(data) == {"v", "task", "config", "result", "gflops", "host", "device"}
    assert data["device"]["kind"] == "cpu" and data["device"]["key"] == cpu_fingerprint().key
    assert data["task"] == {"name": templates.MATMUL, "args": [16, 16, 16], "workload_key": task.workload_key,
                            "target": "llvm"}
    assert data["result"]["error_kind"] == "ok"
    assert data["gflops"] == pytest.approx(task.flop / 0.001 / 1e9)
    assert set(data["host"]) == {"hostname", "cpu", "tensorlang"} and data["host"]["tensorlang"] == tl.__version__

    inp2, res2 = record.decode(line)
    assert isinstance(inp2.task, TaskRef)
    assert inp2.task == TaskRef(templates.MATMUL, (16, 16, 16), "llvm", task.workload_key)
    assert inp2.target == "llvm"
    assert inp2.config.index == 7 and inp2.config.to_json() == inp.config.to_json()
    assert task.config_space.index_of(inp2.config) == 7
    assert res2 == dataclasses.replace(res, device=cpu_fingerprint())  # an unlabelled CPU trial: this host
    # Encoding what was decoded gives the same line back (GFLOPS included).
    assert json.loads(record.encode(inp2, res2)) == data


def test_error_records_round_trip(task):
    inp, res = _rec(task, 3, None, MeasureErrorNo.RUN_TIMEOUT)
    data = json.loads(record.encode(inp, res))
    assert data["result"]["error_kind"] == "run_timeout" and data["gflops"] == 0.0
    _, res2 = record.decode(record.encode(inp, res))
    # As TVM writes them: an error result's costs are (1e9,) in the log.
    assert res2.error_no == MeasureErrorNo.RUN_TIMEOUT and res2.error_msg == "boom" and res2.costs == (1e9,)


def test_append_and_load(task, tmp_path):
    path = tmp_path / "deep" / "dir" / "log.json"
    recs = [_rec(task, i, 0.001 * (i + 1)) for i in range(5)]
    record.append(path, recs[:2])
    record.append(path, recs[2:])
    record.append(path, [])
    assert len(_lines(path)) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = list(record.load_from_file(path))
    assert [(i.config.index, r.costs) for i, r in loaded] == [(i.config.index, r.costs) for i, r in recs]


@pytest.mark.parametrize("bad", [
    "not json at all",
    '{"v": 2, "task": {}}',
    "[1, 2, 3]",
    "[" * 100000 + "]" * 100000,
    '{"v": 1, "task": {"name": "x"}}',
])
def test_decode_rejects(bad):
    with pytest.raises(record.RecordError):
        record.decode(bad)


def test_decode_rejects_bad_fields(task):
    data = json.loads(record.encode(*_rec(task, 1, 0.5)))
    for mutate in (lambda d: d["result"].update(costs=[True]),
                   lambda d: d["result"].update(costs=[float("nan")]),
                   lambda d: d["result"].update(error_no=99),
                   lambda d: d["config"]["knobs"].update(tile_y=["zz", [1]]),
                   lambda d: d["task"].update(workload_key=3),
                   lambda d: d.pop("config")):
        broken = json.loads(json.dumps(data))
        mutate(broken)
        with pytest.raises(record.RecordError):
            record.decode(json.dumps(broken))


def test_corrupt_and_foreign_lines_are_skipped_with_one_warning(task, tmp_path):
    path = tmp_path / "log.json"
    record.append(path, [_rec(task, 0, 0.1)])
    with open(path, "a") as f:
        f.write("garbage {\n")
        f.write('{"i": ["llvm", "matmul"], "r": [[0.1], 0], "v": 0.2}\n')  # a TVM log line
        f.write("\n")
    record.append(path, [_rec(task, 1, 0.2)])
    with pytest.warns(UserWarning) as caught:
        loaded = list(record.load_from_file(path))
    assert [i.config.index for i, _ in loaded] == [0, 1]
    assert len(caught) == 1
    msg = str(caught[0].message)
    assert "skipped 2 invalid lines" in msg and "line 2" in msg and str(path) in msg


def test_truncated_last_line_is_skipped_and_appending_repairs(task, tmp_path):
    path = tmp_path / "log.json"
    record.append(path, [_rec(task, i, 0.1) for i in range(3)])
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # a writer killed in the middle of its last line
    with pytest.warns(UserWarning, match="line 3"):
        assert [i.config.index for i, _ in record.load_from_file(path)] == [0, 1]
    # The next writer starts a fresh line, so its record is whole.
    record.append(path, [_rec(task, 5, 0.1)])
    with pytest.warns(UserWarning, match="skipped 1 invalid line "):
        assert [i.config.index for i, _ in record.load_from_file(path)] == [0, 1, 5]


def test_best_by_workload_and_measured_indices(task):
    other = autotune.task.create(templates.MATMUL, (16, 16, 32), "llvm")
    znver = autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm -mcpu=znver4")
    recs = [_rec(task, 1, 0.003), _rec(task, 2, 0.001), _rec(task, 3, None, MeasureErrorNo.WRONG_ANSWER),
            _rec(task, 4, 0.002), _rec(other, 5, 0.0005), _rec(znver, 6, 0.0009)]
    best = record.best_by_workload(recs)
    assert best[(task.workload_key, "llvm")].index == 2  # records of exactly "llvm" win
    assert best[(task.workload_key, "llvm -mcpu=znver4")].index == 6
    assert best[(other.workload_key, "llvm")].index == 5
    assert len(best) == 3
    # Without exact "llvm" records, the kind key gives the fastest of any llvm target.
    only_znver = record.best_by_workload([_rec(znver, 6, 0.0009), _rec(znver, 7, 0.0001)])
    assert only_znver[(task.workload_key, "llvm")].index == 7
    assert only_znver[(task.workload_key, "llvm -mcpu=znver4")].index == 7
    assert record.measured_indices(recs, task) == {1, 2, 3, 4}
    assert record.measured_indices(recs, znver) == {6}


def test_pick_best(task, tmp_path):
    other = autotune.task.create(templates.MATMUL, (16, 16, 32), "llvm")
    src, dst = tmp_path / "all.json", tmp_path / "best" / "best.json"
    record.append(src, [_rec(task, 1, 0.003), _rec(other, 9, 0.004), _rec(task, 2, 0.001),
                        _rec(task, 3, None, MeasureErrorNo.RUNTIME_DEVICE), _rec(other, 8, 0.002)])
    assert record.pick_best(src, dst) == 2
    lines = _lines(dst)
    assert len(lines) == 2
    assert lines[0] == _lines(src)[2] and lines[1] == _lines(src)[4]  # copied verbatim, first-seen order
    record.pick_best(dst, dst)  # in place is fine
    assert _lines(dst) == lines


def test_pick_best_into_a_directory_is_a_log_file_error(task, tmp_path):
    src, out = tmp_path / "all.json", tmp_path / "out"
    record.append(src, [_rec(task, 1, 0.003)])
    out.mkdir()
    with pytest.raises(record.LogFileError, match=f"{out} is a directory, not a tuning log"):
        record.pick_best(src, out)
    with pytest.raises(record.LogFileError, match=f"{src / 'best.json'}: cannot write the tuning log"):
        record.pick_best(src, src / "best.json")  # a folder that is a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.json", "out"]  # no temporary left behind


def test_apply_history_best(task, tmp_path, monkeypatch):
    path = tmp_path / "log.json"
    recs = [_rec(task, 11, 0.003), _rec(task, 122, 0.001), _rec(task, 33, None, MeasureErrorNo.WRONG_ANSWER),
            _rec(task, 4, 0.002)]
    record.append(path, recs)
    want = task.config_space.get(122)

    seen = []
    real_get_config = autotune.get_config

    def spy():
        cfg = real_get_config()
        seen.append(cfg)
        return cfg

    monkeypatch.setattr(autotune, "get_config", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with autotune.apply_history_best(path):
            with tl.target.Target("llvm"):
                s, args = templates.matmul(16, 16, 16)
    cfg = seen[-1]
    assert not cfg.is_fallback and cfg.index == 122
    assert cfg["tile_y"].size == want["tile_y"].size and cfg["tile_x"].size == want["tile_x"].size
    tl.build(s, args, target="llvm")  # and the schedule it made builds

    # No record for this workload: the fallback config, with one warning.
    with pytest.warns(UserWarning, match="no tuning record") as caught:
        with autotune.apply_history_best(path):
            with tl.target.Target("llvm"):
                templates.matmul(16, 32, 48)
    assert len(caught) == 1 and seen[-1].is_fallback


def test_log_is_never_executed(tmp_path):
    # A line crafted to look like a pickle or Python expression is only ever JSON-parsed.
    path = tmp_path / "log.json"
    path.write_text("cos\nsystem\n(S'echo pwned'\ntR.\n__import__('os').system('echo pwned')\n")
    with pytest.warns(UserWarning, match="skipped 5 invalid lines"):
        assert list(record.load_from_file(path)) == []
