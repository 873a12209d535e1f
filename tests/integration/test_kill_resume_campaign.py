"""Found by a kill-and-resume and bad-input campaign on template tuning, run as a user runs
`tensorlang tune / build / show`: knob values that JSON gives back changed (a tuple comes back
as a list) or cannot hold (numpy scalars, objects), the trial count of a resumed GA run, a
template that fails when a logged config is built, a space whose every config breaks a
constraint."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tensorlang.autotune import record
from tensorlang.autotune.fingerprint import cpu_fingerprint
from tensorlang.cli import main

FAST = ["--confirm-top", "0", "--number", "1", "--repeat", "1"]

TUPLE_KNOBS = """
import numpy as np
from tensorlang import autotune, te

SEEN = []

@autotune.template("killres/tuple_knob")
def tuple_knob(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_knob("tile", [(1, 2), (4, 8)])
    cfg.define_knob("unroll", list(np.arange(1, 3)))  # numpy integers, as np.arange gives them
    tile = cfg["tile"].val
    if not isinstance(cfg, autotune.space.ConfigSpace):
        SEEN.append(tile)
        assert isinstance(tile, tuple), f"the template got {tile!r}, not the tuple it defined"
    s[B].split(B.op.axis[0], factor=tile[1])
    return s, [A, B]

def tasks(target):
    return [autotune.task.create("killres/tuple_knob", (64,), target)]
"""


def _indices(log: Path) -> list[int]:
    return [json.loads(line)["config"]["index"] for line in log.read_text().splitlines()]


def test_tuple_and_numpy_knob_values_resume_and_build(tmp_path, capsys) -> None:
    src = tmp_path / "tuple_knob.py"
    src.write_text(TUPLE_KNOBS)
    log = tmp_path / "log.json"
    tune = ["tune", str(src), "--tuner", "grid", "--log", str(log), *FAST]
    assert main([*tune, "--trials", "1"]) == 0  # numpy knob values used to fail here, when logging
    capsys.readouterr()
    # Resumed: the logged config is recognized (it was re-measured as "changed template" before).
    assert main([*tune, "--trials", "2"]) == 0
    err = capsys.readouterr().err
    assert "resuming: 1 trial" in err and "do not fit" not in err, err
    assert _indices(log) == [0, 1]
    # The best config reaches the template with its tuple, not the log's list.
    assert main(["build", str(src), "--log", str(log), "-o", str(tmp_path / "k.so")]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "k.so" in out, err


def test_knob_values_a_log_cannot_hold_are_refused_before_measuring(tmp_path, capsys) -> None:
    src = tmp_path / "object_knob.py"
    src.write_text(TUPLE_KNOBS.replace("killres/tuple_knob", "killres/object_knob")
                   .replace("[(1, 2), (4, 8)]", "[(1, 2), (4, object())]"))
    log = tmp_path / "log.json"
    assert main(["tune", str(src), "--log", str(log), "--trials", "2", *FAST]) == 1
    err = capsys.readouterr().err
    assert "define_knob 'tile'" in err and "tuning log" in err and "Traceback" not in err, err
    assert not log.exists()


GA_FILE = """
from tensorlang import autotune, te

@autotune.template("killres/ga_count")
def ga_count(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_split("t", B.op.axis[0], num_outputs=2)
    cfg.define_knob("u", [0, 1, 2])
    cfg["t"].apply(s, B, B.op.axis[0])
    return s, [A, B]

def tasks(target):
    return [autotune.task.create("killres/ga_count", (64,), target)]
"""


def _summary_trials(out: str) -> int:
    row = next(line for line in out.splitlines() if line.startswith("killres/ga_count"))
    return int(row.split()[1])


def test_ga_summary_counts_the_trials_of_the_log(tmp_path, capsys) -> None:
    src = tmp_path / "ga_count.py"
    src.write_text(GA_FILE)
    log = tmp_path / "log.json"
    tune = ["tune", str(src), "--tuner", "ga", "--seed", "1", "--log", str(log), "--trials", "3", *FAST]
    assert main(tune) == 0
    assert _summary_trials(capsys.readouterr().out) == 3 == len(_indices(log))  # said 4: a reserved config
    assert main(tune) == 0  # nothing left to do
    assert _summary_trials(capsys.readouterr().out) == 3  # said 21: the whole first generation


BREAKS_WHEN_BUILT = """
from tensorlang import autotune, te

@autotune.template("killres/breaks")
def breaks(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_knob("u", [0, 1])
    cfg.add_constraint(lambda c: c["u"].val < 5, "u < 5")
    if not isinstance(cfg, autotune.space.ConfigSpace):
        raise RuntimeError("no kernel today")
    return s, [A, B]

def tasks(target):
    return [autotune.task.create("killres/breaks", (8,), target)]
"""

LOG_LINE = {"v": 1, "task": {"name": "killres/breaks", "args": [8], "workload_key": '["killres/breaks",[8]]',
                             "target": "llvm"},
            "config": {"index": 1, "knobs": {"u": ["ot", 1]}},
            "result": {"costs": [1e-6], "error_no": 0, "error_kind": "ok", "error_msg": "", "all_cost": 0.1,
                       "build_time": 0.1, "run_time": 0.1, "timestamp": 1.0}}


def test_a_template_failing_for_the_logged_best_names_its_line(tmp_path, capsys) -> None:
    src = tmp_path / "breaks.py"
    src.write_text(BREAKS_WHEN_BUILT)
    log = tmp_path / "log.json"
    log.write_text(json.dumps({**LOG_LINE, "device": cpu_fingerprint().to_json()}) + "\n")
    for cmd in (["build", str(src), "--log", str(log), "-o", str(tmp_path / "b.so")],
                ["show", str(src), "--log", str(log)]):
        assert main(cmd) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"{src}:13:" in err and "no kernel today" in err, err


def test_a_space_with_no_valid_config_says_so(tmp_path, capsys) -> None:
    src = tmp_path / "none_valid.py"
    src.write_text(BREAKS_WHEN_BUILT.replace("killres/breaks", "killres/none_valid").replace("< 5", "> 5"))
    assert main(["tune", str(src), "--log", str(tmp_path / "log.json"), "--trials", "4", *FAST]) == 0
    assert "no config of the space passes the template's constraints" in capsys.readouterr().err


def test_a_log_saved_with_a_byte_order_mark_keeps_its_first_record(tmp_path, capsys) -> None:
    log = tmp_path / "log.json"
    log.write_bytes(b"\xef\xbb\xbf" + json.dumps({**LOG_LINE, "device": cpu_fingerprint().to_json()}).encode() + b"\n")
    assert main(["best", str(log)]) == 0
    out, err = capsys.readouterr()
    assert "killres/breaks(8,)" in out and "skipped" not in err, err


def test_ctrl_c_in_a_reading_command_does_not_speak_of_resuming(tmp_path, capsys, monkeypatch) -> None:
    log = tmp_path / "log.json"
    log.write_text(json.dumps({**LOG_LINE, "device": cpu_fingerprint().to_json()}) + "\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while `tensorlang best` reads a long log

    monkeypatch.setattr(record, "load_with_confirmations", interrupted)
    assert main(["best", str(log)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "resume" not in err and "Traceback" not in err, err


def test_a_full_disk_names_the_log(tmp_path) -> None:
    # The log may grow to LIMIT bytes only (as on a full disk: the write fails with EFBIG).
    src = tmp_path / "breaks.py"
    src.write_text(BREAKS_WHEN_BUILT.replace("killres/breaks", "killres/full_disk")
                   .replace('raise RuntimeError("no kernel today")', "pass"))
    log = tmp_path / "log.json"
    line = json.dumps(LOG_LINE) + "\n"
    limit = 256 * 1024
    log.write_text(line * ((limit - 64) // len(line)))

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run([sys.executable, "-m", "tensorlang.cli", "tune", str(src), "--log", str(log),
                          "--trials", "2", *FAST], capture_output=True, text=True, preexec_fn=small_files)
    assert run.returncode == 1, run.stderr
    assert f"tensorlang: error: {log}: cannot append to the tuning log (File too large)" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_the_tuned_file_given_as_log_is_refused_untouched(tmp_path, capsys) -> None:
    src = tmp_path / "breaks.py"
    src.write_text(BREAKS_WHEN_BUILT.replace("killres/breaks", "killres/own_log")
                   .replace('raise RuntimeError("no kernel today")', "pass"))
    before = src.read_bytes()
    assert main(["tune", str(src), "--log", str(src), "--trials", "2", *FAST]) == 1  # appended JSON to it
    err = capsys.readouterr().err
    assert f"{src} is not a tuning log" in err and "Traceback" not in err, err
    assert src.read_bytes() == before


def test_an_unreachable_cluster_is_an_error_not_a_hang(tmp_path, capsys) -> None:
    pytest.importorskip("ray")
    src = tmp_path / "breaks.py"
    src.write_text(BREAKS_WHEN_BUILT.replace("killres/breaks", "killres/cluster"))
    # ray.init retried this address for over five minutes
    assert main(["tune", str(src), "--cluster", "127.0.0.1:1", "--log", str(tmp_path / "log.json")]) == 1
    err = capsys.readouterr().err
    assert "cannot connect to the Ray cluster at 127.0.0.1:1" in err and "Traceback" not in err, err


def test_log_to_file_on_an_open_file_starts_after_a_cut_off_line(tmp_path) -> None:
    from tensorlang.autotune import callback

    line = json.dumps({**LOG_LINE, "device": cpu_fingerprint().to_json()})
    log = tmp_path / "log.json"
    log.write_text(line + "\n" + line[:-40])  # a run killed while writing its second line
    trial = record.decode(line)
    with open(log, "a") as f:  # TVM's form: log_to_file(an open file)
        callback.log_to_file(f)(None, [trial[0]], [trial[1]])
    with pytest.warns(UserWarning, match="skipped 1 invalid line"):
        assert len(list(record.load_from_file(log))) == 2  # the new record was glued to the cut line


def test_build_without_a_record_names_the_fallback_in_one_line(tmp_path, capsys) -> None:
    src = tmp_path / "breaks.py"
    src.write_text(BREAKS_WHEN_BUILT.replace("killres/breaks", "killres/fallback"))
    log = tmp_path / "log.json"
    log.write_text("")
    assert main(["build", str(src), "--log", str(log), "-o", str(tmp_path / "f.so")]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("f.so  (fallback config)"), out  # printed the whole ConfigSpace


def test_records_of_a_changed_template_do_not_count_toward_resuming(tmp_path, capsys) -> None:
    # The template's knob changed between runs: its old records are no trials of it now, so
    # the resumed run measures all the trials asked for (it counted them as done before).
    src = tmp_path / "changing.py"
    src.write_text(TUPLE_KNOBS)
    log = tmp_path / "log.json"
    tune = ["tune", str(src), "--tuner", "grid", "--log", str(log), *FAST]
    assert main([*tune, "--trials", "2"]) == 0
    capsys.readouterr()
    src.write_text(TUPLE_KNOBS.replace('cfg.define_knob("tile", [(1, 2), (4, 8)])',
                                       'cfg.define_knob("tile", [(1, 16), (4, 32)])'))
    assert main([*tune, "--trials", "2"]) == 0
    err = capsys.readouterr().err
    assert "resuming" not in err and "do not fit" in err, err
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 4
    assert {tuple(rec["config"]["knobs"]["tile"][1]) for rec in lines[2:]} == {(1, 16), (4, 32)}
