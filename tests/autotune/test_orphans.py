"""A tuning run killed outright (SIGKILL of its process group) leaves neither a candidate
running nor, after the next run starts, its scratch folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tensorlang.autotune.measure import scratch

ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import os, sys, time
from tensorlang.autotune.measure.executor import run_isolated

def job(path):
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    time.sleep(120)  # a candidate that takes long

run_isolated(job, [(sys.argv[1],)], timeout=300)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_candidate_dies_with_its_killed_tuning_process(tmp_path):
    pid_file = tmp_path / "child.pid"
    proc = subprocess.Popen([sys.executable, "-c", PARENT, str(pid_file)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
        os.killpg(proc.pid, signal.SIGKILL)  # the group: the child, in its own group, is not in it
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the candidate outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/pid"), reason="needs /proc to tell running processes")
def test_scratch_folders_of_dead_processes_are_swept(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    ns = scratch._pid_namespace()
    made = {
        "dead": tmp_path / f"tensorlang-build-{ns}.{dead_pid}-abc",
        "dead_ref": tmp_path / f"tensorlang-ref-{ns}.{dead_pid}-def",
        "alive": tmp_path / f"tensorlang-build-{ns}.{os.getpid()}-ghi",
        "other_namespace": tmp_path / f"tensorlang-build-{int(ns) + 1}.{dead_pid}-jkl",
        "old_style": tmp_path / "tensorlang-build-x1y2z3",
        "unrelated": tmp_path / f"mine-{ns}.{dead_pid}-abc",
    }
    for path in made.values():
        path.mkdir()
        (path / "c0_1.so").write_bytes(b"\0" * 16)
    assert scratch.sweep_orphans(str(tmp_path)) == 2
    assert {name for name, path in made.items() if path.exists()} == {"alive", "other_namespace", "old_style",
                                                                      "unrelated"}
    # a scratch folder of this process carries its namespace and pid, so a later run can tell
    d = scratch.scratch_dir("tensorlang-build-")
    assert Path(d.name).name.startswith(f"tensorlang-build-{ns}.{os.getpid()}-")
    d.cleanup()
