"""Kill-and-resume of tuning runs (session 22): what a run killed at a bad moment leaves behind,
and what the resumed run makes of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

import tensorlang
from tensorlang import autotune, te
from tensorlang.autotune.measure import local, scratch
from tensorlang.autotune.measure.measure import MeasureInput
from tensorlang.autotune.record import LogFileError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(tensorlang.__file__)))


def test_a_run_killed_while_it_links_leaves_nothing_in_the_temp_folder(tmp_path) -> None:
    # The C compiler kills the whole run (SIGKILL to its process group, as a user's `kill -9 -PGID`
    # would) while the builder's first link runs, after dropping a temp file in $TMPDIR as gcc does.
    tdir = tmp_path / "tmp"
    tdir.mkdir()
    cc = tmp_path / "cc_killer.sh"
    cc.write_text('#!/bin/sh\ntouch "${TMPDIR:-/tmp}/ccFAKE.res"\nkill -9 0\nexit 1\n')
    cc.chmod(0o755)
    code = textwrap.dedent("""
        from tensorlang import autotune, te
        from tensorlang.autotune.measure.local import LocalBuilder

        @autotune.template("s22_link_kill")
        def tmpl(n):
            a = te.placeholder((n,), name="A")
            b = te.compute((n,), lambda i: a[i] * 2.0, name="B")
            return te.create_schedule(b.op), [a, b]

        task = autotune.task.create("s22_link_kill", (64,), "llvm")
        LocalBuilder(n_parallel=1).build(task, [task.config_space.get(0)])
        print("not killed")
    """)
    env = dict(os.environ, TMPDIR=str(tdir), CC=str(cc), PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          start_new_session=True)
    assert proc.returncode == -9, proc.stdout + proc.stderr
    # What the next run does first (its first scratch folder sweeps those of dead processes).
    scratch.sweep_orphans(str(tdir))
    assert sorted(os.listdir(tdir)) == []


def test_log_to_file_refuses_a_folder_in_place_of_the_confirmations_before_measuring(tmp_path) -> None:
    # A tuner with confirm_top hands the confirmation of its leaders to the same callback at the
    # very end: a LOG.confirmed it cannot write must stop the script at once, not after every
    # trial and the re-measurement of the leaders (as the CLI and SearchTask.tune already do).
    log = tmp_path / "mm.json"
    (tmp_path / "mm.json.confirmed").mkdir()
    with pytest.raises(LogFileError, match=r"mm\.json\.confirmed is a directory"):
        autotune.callback.log_to_file(str(log))


@autotune.template("s22_ref_kill")
def _scale_template(n):
    a = te.placeholder((n, n), name="A")
    b = te.compute((n, n), lambda i, j: a[i, j] * 3.0 - a[j, i], name="B")
    s = te.create_schedule(b.op)
    cfg = autotune.get_config()
    cfg.define_split("tile", b.op.axis[1], num_outputs=2)
    cfg["tile"].apply(s, b, b.op.axis[1])
    return s, [a, b]


def test_a_reference_child_killed_from_outside_does_not_fail_the_candidates(tmp_path, monkeypatch) -> None:
    # The child that computes a task's test data is SIGKILLed once (the OOM killer, a user's kill
    # of a child): were that final, every candidate of the run would be logged as failed, and a
    # resumed run would count them as done and never measure them.
    marker = tmp_path / "killed_once"
    real = local._make_reference

    def make_reference(*args, **kwargs):
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    monkeypatch.setattr(local, "_make_reference", make_reference)
    task = autotune.task.create("s22_ref_kill", (32,), "llvm")
    inputs = [MeasureInput(task.target, task, task.config_space.get(1))]
    builder = local.LocalBuilder(n_parallel=1)
    builds = builder.build(inputs)
    (res,) = local.LocalRunner(number=1, repeat=1).run(inputs, builds)
    assert marker.exists()
    assert res.ok, res.error_msg
    a = np.random.default_rng().standard_normal((32, 32)).astype("float32")
    b = np.empty_like(a)
    tensorlang.runtime.load_module(builds[0].filename)(a, b)
    np.testing.assert_allclose(b, a * 3.0 - a.T, rtol=1e-5, atol=1e-5)  # 3a - a.T may cancel


def test_a_resumed_run_with_nothing_to_measure_still_sweeps_the_killed_runs_folders(tmp_path, monkeypatch) -> None:
    # A run SIGKILLed after its last trial leaves its scratch folder; the resumed run (the same
    # script: log_to_file, then tune(n_trial=0)) measures nothing, so it makes no scratch folder
    # that would sweep the old one: opening the log must.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp_path / f"tensorlang-build-{scratch._owner_tag(gone.pid)}-x1y2z3"
    left.mkdir()
    (left / "c7_1.so").write_bytes(b"\x7fELF")
    mine = tmp_path / f"tensorlang-build-{scratch._owner_tag(os.getpid())}-live"
    mine.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    scratch.sweep_orphans_once.cache_clear()
    try:
        autotune.callback.log_to_file(str(tmp_path / "mm.json"))
    finally:
        scratch.sweep_orphans_once.cache_clear()
    assert not left.exists()
    assert mine.exists()  # a live process's folder stays
