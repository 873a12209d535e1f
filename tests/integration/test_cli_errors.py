"""The command line explains a user's mistakes: no Python traceback, exit code 1 for a user error
and 2 for a usage error, bad logs refused before anything is measured, Ctrl-C/SIGTERM stop
cleanly with a word on how to resume, failed trials summarised by kind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tensorlang.cli import main

ROOT = Path(__file__).resolve().parents[2]

TASKS_FILE = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tensorlang import autotune
from tests.autotune import templates

def tasks(target):
    return [autotune.task.create(templates.MATMUL, (16, 16, 16), target)]
"""


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def test_missing_and_broken_files(tmp_path, capsys) -> None:
    assert main(["show", str(tmp_path / "nope.py")]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err
    bad = tmp_path / "bad.py"
    bad.write_text("def schedules():\n    return {\n")
    assert main(["show", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "syntax error" in err
    boom = tmp_path / "boom.py"
    boom.write_text("x = 1\ny = {}['missing']\n")
    assert main(["tune", str(boom)]) == 1
    err = capsys.readouterr().err
    assert f"{boom}:2: KeyError" in err


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["tune", "--trials", "many", "x.py"])
    assert exc.value.code == 2
    assert main([]) == 2


@pytest.mark.parametrize("log", ["/dev/null", "DIR"])
def test_bad_logs_are_refused_before_measuring(tmp_path, capsys, log: str) -> None:
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    log = str(tmp_path) if log == "DIR" else log
    assert main(["tune", str(f), "--log", log, "--trials", "4"]) == 1
    err = capsys.readouterr().err
    assert "tensorlang: error:" in err and ("not a regular file" in err or "is a directory" in err)
    assert "tuning test/matmul" not in err  # nothing was measured
    assert main(["best", str(tmp_path / "missing.json")]) == 1
    assert "no such tuning log" in capsys.readouterr().err


def test_best_summarises_errors_by_kind(tmp_path, capsys) -> None:
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    log = tmp_path / "log.json"
    # Two trials, unconfirmed (confirmation is tested in tests/autotune): the log this test edits.
    assert main(["tune", str(f), "--log", str(log), "--trials", "2", "--tuner", "random", "--seed", "1",
                 "--confirm-top", "0"]) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    failed = json.loads(lines[0])
    failed["result"].update(costs=[], error_no=7, error_kind="timeout", error_msg="too slow")
    failed["config"]["index"] = 1
    with open(log, "a") as fh:
        fh.write(json.dumps(failed) + "\n")
    capsys.readouterr()
    assert main(["best", str(log)]) == 0
    out = capsys.readouterr().out
    assert "test/matmul" in out and "failed trials by kind" in out and "timeout 1" in out
    # a run killed mid-write leaves half a line: one warning line naming file and line, no Python source
    with open(log, "a") as fh:
        fh.write(lines[1][: len(lines[1]) // 2])
    assert main(["best", str(log)]) == 0
    err = capsys.readouterr().err
    assert f"tensorlang: warning: {log}: skipped 1 invalid line of the tuning log (first: line {len(lines) + 2}" in err
    assert "UserWarning" not in err and "record.py" not in err


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_stops_cleanly_and_says_how_to_resume(tmp_path, sig, code: int) -> None:
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    log = tmp_path / "log.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tensorlang.cli", "tune", str(f), "--log", str(log),
                             "--trials", "1000", "--tuner", "random"], stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.exists() and log.stat().st_size):
        time.sleep(0.2)  # wait until trials are being logged
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    _no_traceback(err)
    assert "resumes" in err
    for line in log.read_text().splitlines():  # only whole records
        json.loads(line)


def test_unknown_cpu_is_a_target_error_not_an_llvm_exit(tmp_path, capsys) -> None:
    from tensorlang.errors import TargetError
    from tensorlang.target.llvm.target import LLVMTarget
    with pytest.raises(TargetError, match="unknown CPU 'znver55'.*znver5"):
        LLVMTarget.from_string("llvm -mcpu=znver55")
    with pytest.raises(TargetError, match=r"unknown CPU feature\(s\) \+avx9"):
        LLVMTarget.from_string("llvm -mattr=+avx9")
    assert LLVMTarget.from_string("llvm -mcpu=skylake -mattr=+avx2").cpu == "skylake"
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    assert main(["tune", str(f), "--target", "llvm -mcpu=skylak", "--log", str(tmp_path / "l.json")]) == 1
    assert "unknown CPU 'skylak'" in capsys.readouterr().err


def test_plot_compare_and_show_best(tmp_path, capsys) -> None:
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    logs = []
    for seed in (1, 2):
        log = tmp_path / f"log{seed}.json"
        assert main(["tune", str(f), "--log", str(log), "--trials", "4", "--tuner", "random",
                     "--seed", str(seed), "--confirm-top", "0"]) == 0
        logs.append(str(log))
    capsys.readouterr()
    assert main(["plot", *logs]) == 0
    out = capsys.readouterr().out
    assert "best GFLOPS so far vs trials" in out and "#" in out and "4 trials" in out
    assert main(["compare", *logs]) == 0
    out = capsys.readouterr().out
    assert "test/matmul(16, 16, 16) llvm" in out and "2 vs 1" in out
    assert main(["show", str(f), "--log", logs[0]]) == 0
    out = capsys.readouterr().out
    assert "// test/matmul(16, 16, 16) on llvm: config [tile_y=" in out  # as the template wrote it
    assert "for (" in out and "define" in out  # loop IR, then LLVM IR


@pytest.mark.parametrize("body,message", [
    ("def tasks(target):\n    return None\n", "FILE: tasks('llvm') returned None, not a list of tasks"),
    ("def tasks(target):\n    return [5, 'x']\n", "FILE: tasks('llvm') returned int 5 at index 0, not a task"),
    ("def tasks(target):\n    raise ValueError('inside tasks')\n",
     "FILE:2: tasks('llvm') raised ValueError: inside tasks"),
    ("def tasks():\n    return []\n", "FILE:1: tensorlang calls tasks('llvm'), but it is defined as `def tasks()`"),
], ids=["none", "not-tasks", "raises", "no-parameter"])
def test_a_bad_tasks_function_is_named(tmp_path, capsys, body: str, message: str) -> None:
    f = tmp_path / "user.py"
    f.write_text(body)
    assert main(["tune", str(f), "--trials", "1", "--log", str(tmp_path / "l.json")]) == 1
    err = capsys.readouterr().err
    _no_traceback(err)
    assert err.startswith(f"tensorlang: error: {message.replace('FILE', str(f))}") and err.count("\n") == 1, err


@pytest.mark.parametrize("body,message", [
    ("def schedules():\n    return None\n", "FILE: schedules() returned None; it should return {name: "),
    ("def schedules():\n    return [1, 2]\n", "FILE: schedules() returned list [1, 2]"),
    ("def schedules():\n    return {'a': (1, [])}\n", "FILE: schedules() entry 'a' must be (schedule, args)"),
    ("def schedules():\n    return {}['k']\n", "FILE:2: schedules() raised KeyError: 'k'"),
], ids=["none", "list-of-ints", "not-a-schedule", "raises"])
def test_a_bad_schedules_function_is_named(tmp_path, capsys, body: str, message: str) -> None:
    f = tmp_path / "user.py"
    f.write_text(body)
    assert main(["show", str(f)]) == 1
    err = capsys.readouterr().err
    _no_traceback(err)
    assert err.startswith(f"tensorlang: error: {message.replace('FILE', str(f))}") and err.count("\n") == 1, err


@pytest.mark.parametrize("option,value", [("--run-timeout", "inf"), ("--build-timeout", "1e300"),
                                          ("--run-timeout", "86401")])
def test_timeouts_must_be_finite(tmp_path, capsys, option: str, value: str) -> None:
    """inf would pass and then overflow the wait for the first candidate."""
    f = tmp_path / "tasks.py"
    f.write_text(TASKS_FILE)
    with pytest.raises(SystemExit) as exc:
        main(["tune", str(f), "--trials", "1", "--log", str(tmp_path / "l.json"), option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: must be a finite number of seconds, at most 86400 (a day), got {value}" in err
    assert not (tmp_path / "l.json").exists()  # refused before anything was measured


def test_a_file_calling_sys_exit_is_an_error(tmp_path) -> None:
    """sys.exit(7) in the file must not end the command silently with its code."""
    f = tmp_path / "user.py"
    f.write_text("import sys\nsys.exit(7)\n")
    proc = subprocess.run([sys.executable, "-m", "tensorlang.cli", "tune", str(f), "--trials", "1"],
                          capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 1
    assert proc.stderr == f"tensorlang: error: {f}:2: the file called sys.exit(7) while being loaded\n"
