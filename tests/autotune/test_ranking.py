"""One ranking rule (record.Ranking) for every reader of a tuning log: the tuner, pick_best,
apply_history_best, best_by_device and the `tensorlang best/compare/plot` commands name the same
config, on logs where the mean and the median of the repeats disagree and on logs holding
confirmations of the leaders."""

from __future__ import annotations

import json
import re

import pytest

from tensorlang import autotune, cli
from tensorlang.autotune import record
from tensorlang.autotune.callback import log_to_file, progress_bar
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure.measure import Confirmation
from tensorlang.autotune.tuner import RandomTuner
from tensorlang.cli import main

from . import templates

MS = 1e-3


@pytest.fixture(scope="module")
def task():
    return autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")


def _rec(task, index: int, costs_ms: tuple[float, ...], confirm: Confirmation | None = None, t: float = 0.0):
    res = MeasureResult(tuple(c * MS for c in costs_ms), MeasureErrorNo.NO_ERROR, all_cost=0.2,
                        timestamp=1700000000.0 + t, build_time=0.1, run_time=0.1, confirm=confirm)
    return MeasureInput(task.target, task, task.config_space.get(index)), res


def _every_reader(task, log, capsys) -> dict[str, int | float]:
    """The best config index (or best ms, for the commands that print only times) per reader."""
    records = list(record.load_with_confirmations(log))
    names: dict[str, int | float] = {}
    tuner = RandomTuner(task, seed=0)
    tuner.load_history(records)
    names["tuner"] = tuner.best_config.index
    picked = log.parent / "picked.json"
    assert record.pick_best(log, picked) == 1
    names["pick_best"] = next(iter(record.load_with_confirmations(picked)))[0].config.index
    with autotune.apply_history_best(str(log)) as ctx:
        names["apply_history_best"] = ctx.query(task.target, task.workload_key).index
    names["best_by_workload"] = record.best_by_workload(records)[(task.workload_key, "llvm")].index
    (best_dev,) = record.best_by_device(records).values()
    names["best_by_device"] = best_dev[0].config.index
    capsys.readouterr()
    assert main(["best", str(log)]) == 0
    names["tensorlang best"] = int(re.search(r"index=(\d+)", capsys.readouterr().out.splitlines()[1]).group(1))
    assert main(["compare", str(log), str(log)]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    names["tensorlang compare ms"] = float(re.search(r" llvm +([0-9.]+) ", row).group(1))
    # What `tensorlang plot` draws: the best GFLOPS so far after each trial.
    (curve,) = cli._log_series(str(log)).values()
    names["tensorlang plot GFLOPS"] = curve[-1]
    return names


def _expect(names, task, index: int, cost_ms: float) -> None:
    configs = {k: v for k, v in names.items() if isinstance(v, int)}
    assert configs == dict.fromkeys(configs, index), configs
    assert names["tensorlang compare ms"] == pytest.approx(cost_ms, rel=1e-3)


def test_every_reader_ranks_by_the_median_where_the_mean_disagrees(task, tmp_path, capsys):
    # Config 5: two steady repeats of 1 ms and one disturbed one (mean 4 ms, median 1 ms);
    # config 9: a steady 2 ms (mean and median 2 ms).  The mean would name 9, the median 5.
    log = tmp_path / "log.json"
    record.append(log, [_rec(task, 9, (2.0, 2.0, 2.0)), _rec(task, 5, (1.0, 1.0, 10.0), t=1),
                        _rec(task, 7, (3.0, 3.0, 3.0), t=2)])
    names = _every_reader(task, log, capsys)
    _expect(names, task, 5, 1.0)
    assert names["tensorlang plot GFLOPS"] == pytest.approx(task.flop / MS / 1e9)


@pytest.mark.parametrize("beside", [True, False], ids=["in LOG.confirmed", "inline (older logs)"])
def test_a_confirmation_settles_the_leaders_before_it(task, tmp_path, capsys, beside):
    # Config 3 read luckily fast once (0.5 ms); re-measured side by side with 4 and 6, it is the
    # slowest, and 4 wins at 1.01 ms: every reader names 4, not the lucky 3.  Where the
    # confirmations are written (beside the log, as tune does, or inline) changes nothing.
    log = tmp_path / "log.json"
    record.append(log, [_rec(task, 3, (0.5, 0.5, 0.5)), _rec(task, 4, (1.0, 1.0, 1.0), t=1),
                        _rec(task, 6, (1.1, 1.1, 1.1), t=2), _rec(task, 8, (5.0, 5.0, 5.0), t=3)])
    record.append(record.confirmations_path(log) if beside else log,
                  [_rec(task, 4, (1.0, 1.02, 1.01), Confirmation(1, 3), t=4),
                   _rec(task, 6, (1.1, 1.12, 1.11), Confirmation(2, 3), t=4),
                   _rec(task, 3, (1.3, 1.31, 1.29), Confirmation(3, 3), t=4)])
    names = _every_reader(task, log, capsys)
    _expect(names, task, 4, 1.01)
    assert names["tensorlang plot GFLOPS"] == pytest.approx(task.flop / (1.01 * MS) / 1e9)
    out = (main(["best", str(log)]), capsys.readouterr().out)[1]
    assert "confirmed 1/3, 3 rounds" in out and "2.0%" in out  # the spread of its rounds: 0.02 / 1.01
    # The plot and resume count trials only: confirmations are not trials.
    assert len(record.measured_indices(record.load_with_confirmations(log), task)) == 4
    # A trial logged after the confirmation competes with the confirmed cost: slower stays out...
    record.append(log, [_rec(task, 11, (1.2, 1.2, 1.2), t=5)])
    _expect(_every_reader(task, log, capsys), task, 4, 1.01)
    # ... and faster takes the lead.
    record.append(log, [_rec(task, 12, (0.9, 0.9, 0.9), t=6)])
    _expect(_every_reader(task, log, capsys), task, 12, 0.9)


def test_confirmations_follow_the_log_lines_they_were_written_after_whatever_the_clocks(task, tmp_path, capsys):
    # Cluster workers whose clocks run 100 s ahead of the driver stamp the trials; the driver
    # stamps the confirmation.  By timestamps it would sort before every trial (and the lucky 3
    # would win); each confirmation records the log lines it followed, so every reader names 4.
    log = tmp_path / "log.json"
    record.append(log, [_rec(task, 3, (0.5, 0.5, 0.5), t=100), _rec(task, 4, (1.0, 1.0, 1.0), t=101),
                        _rec(task, 6, (1.1, 1.1, 1.1), t=102)])
    record.append_confirmations(log, [_rec(task, 4, (1.0, 1.02, 1.01), Confirmation(1, 3), t=4),
                                      _rec(task, 6, (1.1, 1.12, 1.11), Confirmation(2, 3), t=4),
                                      _rec(task, 3, (1.3, 1.31, 1.29), Confirmation(3, 3), t=4)])
    side = [json.loads(line) for line in open(record.confirmations_path(log))]
    assert [d["confirm"]["after"] for d in side] == [3, 3, 3]
    _expect(_every_reader(task, log, capsys), task, 4, 1.01)
    # A faster trial measured later by a worker whose clock runs behind: it follows the
    # confirmation in the log, so it competes with the confirmed cost and takes the lead.
    record.append(log, [_rec(task, 12, (0.9, 0.9, 0.9), t=0)])
    order = [(inp.config.index, res.confirm is not None) for inp, res in record.load_with_confirmations(log)]
    assert order == [(3, False), (4, False), (6, False), (4, True), (6, True), (3, True), (12, False)]
    _expect(_every_reader(task, log, capsys), task, 12, 0.9)
    # A log whose last line was cut by a kill: the cut line counts, the next append starts afresh.
    with open(log, "a") as f:
        f.write('{"v": 1, "task": {"na')
    assert record.line_count(log) == 5 and record.line_count(tmp_path / "none.json") == 0


def test_confirmation_lines_round_trip_and_are_validated(task):
    inp, res = _rec(task, 4, (1.0, 1.02, 1.01), Confirmation(1, 3))
    line = record.encode(inp, res)
    data = json.loads(line)
    assert data["confirm"] == {"rank": 1, "of": 3}
    _, back = record.decode(line)
    assert back.confirm == Confirmation(1, 3) and record.is_confirmation(back)
    assert record.record_cost(back) == pytest.approx(1.01 * MS)
    assert record.spread(back) == pytest.approx(0.02 / 1.01)
    # A trial line (and every line of a log written before confirmations existed) has none.
    _, trial = record.decode(record.encode(*_rec(task, 4, (1.0,))))
    assert trial.confirm is None and not record.is_confirmation(trial)
    # What a confirmation follows (the log's line count when it was written) round-trips too.
    line = record.encode(inp, MeasureResult(res.costs, res.error_no, confirm=Confirmation(2, 3, after=17)))
    assert json.loads(line)["confirm"] == {"rank": 2, "of": 3, "after": 17}
    assert record.decode(line)[1].confirm == Confirmation(2, 3, 17)
    for bad, why in (({"rank": 0, "of": 3}, "confirm.rank"), ({"rank": 4, "of": 3}, "past confirm.of"),
                     ({"rank": "1", "of": 3}, "confirm.rank"), ({"of": 3}, "rank"),
                     ({"rank": 1, "of": 3, "after": -1}, "confirm.after"),
                     ({"rank": 1, "of": 3, "after": 2.5}, "confirm.after")):
        with pytest.raises(record.RecordError, match=re.escape(why)):
            record.decode(json.dumps({**data, "confirm": bad}))


def test_tune_logs_the_confirmation_and_apply_history_best_follows_it(task, tmp_path, monkeypatch):
    """Real measurements: tune with confirm_top logs one confirmation per leader after the
    trials (the progress display does not count them), and every reader of the log then names
    the tuner's declared best.  Trials run in the runner's long-lived child, each confirmation
    round in fresh ones."""
    persistent_at_run = []
    real_run = autotune.LocalRunner.run

    def spy(self, inputs, builds):
        persistent_at_run.append(self.persistent)
        return real_run(self, inputs, builds)

    monkeypatch.setattr(autotune.LocalRunner, "run", spy)
    option = autotune.measure_option(autotune.LocalBuilder(n_parallel=2), autotune.LocalRunner(number=2, repeat=3))
    log = tmp_path / "tune.json"
    shown = []
    tuner = RandomTuner(task, seed=3)
    tuner.tune(6, option, confirm_top=3,
               callbacks=[log_to_file(log), progress_bar(6, file=_Lines(shown))])
    records = list(record.load_with_confirmations(log))
    confirms = [res.confirm for _, res in records if res.confirm is not None]
    assert len(records) == 6 + len(confirms) and len(confirms) == len(tuner.confirmed) >= 2
    assert [c.rank for c in confirms] == list(range(1, len(confirms) + 1))
    # The log file holds the 6 trials, one line per config; the confirmations sit in LOG.confirmed.
    assert len({json.loads(line)["config"]["index"] for line in log.read_text().splitlines()}) == 6
    assert len(open(record.confirmations_path(log)).read().splitlines()) == len(confirms)
    assert shown and shown[-1].startswith("[6/6]")
    # 3 batches of 2 trials, then 3 rounds (and 3 more when leaders are within noise of each other).
    assert persistent_at_run in ([True] * 3 + [False] * 3, [True] * 3 + [False] * 6)
    # Each confirmation says what it follows: the 6 lines of the log.
    assert all(c.after == 6 for c in confirms)
    # TVM's readers give the trials alone, so counting them counts trials (as TVM's do)
    from tensorlang import autoschedule
    for trials in (list(record.load_from_file(log)), list(autoschedule.load_records(log))):
        assert len(trials) == 6 and not any(res.confirm is not None for _, res in trials)
        assert {inp.config.index for inp, _ in trials} == {inp.config.index for inp, _ in records}
    best = record.best_by_workload(records)[(task.workload_key, "llvm")]
    assert best.index == tuner.best_config.index
    assert tuner.best_measure_pair[1].confirm == Confirmation(1, len(confirms))
    resumed = RandomTuner(task, seed=4)
    resumed.load_history(records)
    assert resumed.best_config.index == tuner.best_config.index
    assert resumed.best_cost == pytest.approx(tuner.best_cost)
    assert resumed.best_spread == pytest.approx(tuner.best_spread)


class _Lines:
    """A text file that keeps the lines written to it."""

    def __init__(self, out: list[str]):
        self.out = out

    def write(self, text: str) -> None:
        self.out.extend(line for line in text.splitlines() if line.strip())

    def flush(self) -> None:
        pass
