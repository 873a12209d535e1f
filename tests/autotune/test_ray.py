"""Measurement on a Ray cluster started by these tests: fingerprinted records, device classes,
workers and the driver killed mid-run without losing a record."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune import callback, record
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput
from tensorlang.autotune.measure.ray import (
    MEASURE_RESOURCE,
    ClusterError,
    RayBuilder,
    RayCluster,
    RayRunner,
    Slot,
    device_slots,
    parse_cluster,
    slot_cpus,
)

from . import templates

# One Ray cluster per module: under `pytest -n auto --dist loadgroup` every test here runs on one
# worker; with xdist's default `--dist load` both workers may start the module's cluster.
pytestmark = pytest.mark.xdist_group("ray_cluster")

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "autotune" / "tiny_tasks.py"


# --- no cluster needed -------------------------------------------------------------------------------

def test_parse_cluster():
    assert parse_cluster("local") == (None, 1)
    assert parse_cluster("local:4") == (None, 4)
    assert parse_cluster("auto") == ("auto", 0)
    assert parse_cluster("10.0.0.1:6379") == ("10.0.0.1:6379", 0)
    for bad in ("local:0", "local:x", ""):
        with pytest.raises(ClusterError, match="local|address"):
            parse_cluster(bad)


def test_device_slots_from_node_resources():
    nodes = [
        {"NodeID": "a", "Alive": True, "Resources": {"CPU": 8.0, MEASURE_RESOURCE: 2.0}},
        {"NodeID": "b", "Alive": True, "Resources": {"CPU": 4.0, "GPU": 2.0, f"{MEASURE_RESOURCE}:big": 1.0}},
        {"NodeID": "c", "Alive": True, "Resources": {"CPU": 4.0}},
        {"NodeID": "d", "Alive": False, "Resources": {"CPU": 4.0}},
    ]
    assert device_slots(nodes) == [
        Slot("a", "cpu", "", MEASURE_RESOURCE, 0, 2), Slot("a", "cpu", "", MEASURE_RESOURCE, 1, 2),
        Slot("b", "cpu", "big", f"{MEASURE_RESOURCE}:big"), Slot("b", "gpu", "", "GPU"), Slot("b", "gpu", "", "GPU"),
        Slot("c", "cpu"),
    ]


def test_cpu_slots_get_disjoint_cores():
    two_sockets = {c: c // 4 for c in range(8)}.__getitem__
    assert slot_cpus(0, 1, range(8), two_sockets) is None  # a node's only slot uses every core
    assert [slot_cpus(i, 2, range(8), two_sockets) for i in range(2)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    interleaved = {c: c % 2 for c in range(8)}.__getitem__  # sockets numbered alternately
    assert slot_cpus(1, 2, range(8), interleaved) == [1, 3, 5, 7]
    assert [slot_cpus(i, 3, range(7), two_sockets) for i in range(3)] == [[0, 1], [2, 3], [4, 5]]
    assert slot_cpus(0, 4, range(2), two_sockets) is None  # more slots than cores: a simulation


def test_tensorlang_does_not_import_ray():
    code = "import sys, tensorlang.autotune, tensorlang.cli; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_cli_cluster_without_ray_says_how_to_install(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
            "from tensorlang.cli import main\n"
            f"sys.exit(main(['tune', {str(TINY)!r}, '--cluster', 'local:2', '--log', {str(tmp_path / 'l.json')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "needs Ray: pip install 'tensorlang[distributed]'" in done.stderr
    assert "Traceback" not in done.stderr


# --- on a local cluster --------------------------------------------------------------------------------

# Ray is imported where a cluster starts, not at collection: under xdist both workers collect this
# module, and the one that runs none of its cluster tests need not import Ray (~0.8 s of CPU here).
HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install 'tensorlang[distributed]')")


def _processes_under(path: str) -> dict[int, str]:
    """{pid: command line} of the processes whose command line names ``path`` (a cluster's folder)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if path in cmdline:
            found[int(entry)] = cmdline
    return found


def _reap(path: str, grace: float = 15.0) -> dict[int, str]:
    """Wait for the processes of a stopped cluster to go; kill (and return) any left after ``grace``."""
    deadline = time.monotonic() + grace
    while _processes_under(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _processes_under(path)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


@pytest.fixture(scope="module")
def nodes():
    """A two-node Ray cluster on this machine, private to this module (own folder, own ports):
    a head with two measuring slots of the host CPU and one labelled "b" (two device classes),
    and a second node with one more slot, which a test takes away."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        pytest.skip("Ray is not installed (pip install 'tensorlang[distributed]')")
    tmp = tempfile.mkdtemp(prefix="tlt", dir="/tmp")  # short: Ray's socket paths are limited
    old_env = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = tmp  # where Ray notes the cluster's address: not the shared /tmp/ray
    os.makedirs(os.path.join(tmp, "ray"))
    head = {"num_cpus": 2, "include_dashboard": False, "temp_dir": tmp,
            "resources": {MEASURE_RESOURCE: 2, f"{MEASURE_RESOURCE}:b": 1}}
    c = Cluster(initialize_head=True, head_node_args=head)
    try:
        spare = c.add_node(num_cpus=1, resources={MEASURE_RESOURCE: 1})
        ray.init(address=c.address, logging_level="ERROR", log_to_driver=False)
        yield c, spare
    finally:
        ray.shutdown()
        c.shutdown()
        if old_env is None:
            del os.environ["RAY_TMPDIR"]
        else:
            os.environ["RAY_TMPDIR"] = old_env
        left = {pid: cmd for pid, cmd in _reap(tmp).items() if "raylet" in cmd or "gcs_server" in cmd}
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"cluster processes left behind: {left}"


@pytest.fixture(scope="module")
def cluster(nodes):
    return RayCluster()  # the connection made above


@pytest.fixture(scope="module")
def runner(cluster):
    r = RayRunner(cluster, number=2, repeat=2, timeout=5.0)
    yield r
    r.close()


@pytest.fixture(scope="module")
def builder(cluster):
    return RayBuilder(cluster, timeout=10.0)


def _main_class(runner) -> str:
    return next(k for k, ws in runner.classes().items() if not ws[0].fingerprint.name.endswith("[b]"))


def test_workers_report_fingerprints_and_classes(runner):
    classes = runner.classes()
    assert len(classes) == 2
    names = sorted(ws[0].fingerprint.name for ws in classes.values())
    assert names[1] == names[0] + "[b]"
    assert sorted(len(ws) for ws in classes.values()) == [1, 3]
    # The target picks the most numerous matching class; "all" gives both; a label picks one.
    assert runner.classes_for("llvm") == [_main_class(runner)]
    with pytest.raises(ClusterError, match="no measuring worker .* matches target 'cuda"):
        runner.classes_for("cuda")
    assert runner.n_parallel == 6


def _check_product(s, args) -> None:
    """The 24x16 @ 16x32 matmul schedule ``s`` builds here and multiplies fresh random matrices."""
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a, b = rng.standard_normal((24, 16), dtype=np.float32), rng.standard_normal((16, 32), dtype=np.float32)
    c = np.full((24, 32), np.nan, dtype=np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_tune_on_cluster_logs_fingerprinted_records(runner, builder, tmp_path):
    task = autotune.task.create(templates.MATMUL, (24, 16, 32), "llvm")
    log = tmp_path / "log.json"
    tuner = autotune.tuner.RandomTuner(task, seed=3)
    tuner.tune(4, autotune.measure_option(builder=builder, runner=runner), callbacks=[callback.log_to_file(log)])
    records = list(record.load_from_file(log))
    assert len(records) == 4
    assert len({inp.config.index for inp, _ in records}) == 4
    assert all(res.ok and res.costs and min(res.costs) > 0 for _, res in records), \
        [res.error_msg for _, res in records]
    assert {res.device.key for _, res in records} == {_main_class(runner)}
    # The best config, built here, computes the product of fresh random matrices.
    with autotune.apply_history_best(str(log)):
        with tl.target.Target("llvm"):
            s, args = templates.matmul(24, 16, 32)
    _check_product(s, args)


def test_auto_search_on_cluster_logs_records_that_apply(runner, builder, tmp_path):
    """`tensorlang tune --auto --cluster`'s path: a template-free search task measured on the
    cluster; its best record rebuilds here and computes the product."""
    from tensorlang.autoschedule import SearchTask
    from tests.autoschedule.workloads import matmul
    task = SearchTask(matmul, args=(24, 16, 32), target="llvm")
    log = tmp_path / "auto.json"
    task.tune(6, log=str(log), measure_option=autotune.measure_option(builder=builder, runner=runner), seed=1,
              verbose=False)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 6
    ok = [r for r in lines if not r["result"]["error_no"]]
    assert ok, [r["result"] for r in lines]
    # Only cluster measurement fingerprints the device: these were measured by the cluster's workers
    # (by one class; which one "match" picks depends on how many workers each has at that moment).
    from tensorlang.autotune.fingerprint import DeviceFingerprint
    keys = {DeviceFingerprint.from_json(r["device"]).key for r in lines}
    assert len(keys) == 1 and keys <= set(runner.classes()), (keys, list(runner.classes()))
    s, args = task.apply_best(str(log))
    _check_product(s, args)


def test_failing_candidates_come_back_as_typed_errors(runner, builder):
    task = autotune.task.create(templates.FAULTY, (64,), "llvm")
    modes = ["ok", "raise", "nocompile", "segfault", "wrong"]
    configs = [next(task.config_space.get(i) for i in range(len(task.config_space))
                    if task.config_space.get(i)["mode"].val == m) for m in modes]
    measure = runner.create_measure_batch(task, builder)
    results = measure([MeasureInput(task.target, task, c) for c in configs])
    kinds = [r.error_no for r in results]
    assert kinds == [MeasureErrorNo.NO_ERROR, MeasureErrorNo.INSTANTIATION_ERROR, MeasureErrorNo.COMPILE_HOST,
                     MeasureErrorNo.RUNTIME_DEVICE, MeasureErrorNo.WRONG_ANSWER], [r.error_msg for r in results]
    assert "differs from the reference" in results[4].error_msg


def test_ray_and_local_halves_combine(runner, builder):
    """RayRunner measures what a LocalBuilder built; a LocalRunner measures what RayBuilder built."""
    from tensorlang.autotune.measure import LocalBuilder, LocalRunner
    task = autotune.task.create(templates.FAULTY, (64,), "llvm")
    space = task.config_space
    configs = [next(space.get(i) for i in range(len(space)) if space.get(i)["mode"].val == m) for m in ("ok", "wrong")]
    expected = [MeasureErrorNo.NO_ERROR, MeasureErrorNo.WRONG_ANSWER]
    for option in (autotune.measure_option(builder=LocalBuilder(n_parallel=1), runner=runner),
                   autotune.measure_option(builder=builder, runner=LocalRunner(number=1, repeat=1))):
        measure = autotune.tuner.tuner.create_measure_batch(task, option)
        results = measure([MeasureInput(task.target, task, c) for c in configs])
        assert [r.error_no for r in results] == expected, [r.error_msg for r in results]


def test_every_device_class_measures_and_keeps_its_best(runner, builder, tmp_path):
    task = autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")
    log = tmp_path / "log.json"
    runner.device_class = "all"
    try:
        tuner = autotune.tuner.RandomTuner(task, seed=5)
        tuner.tune(4, autotune.measure_option(builder=builder, runner=runner), callbacks=[callback.log_to_file(log)])
    finally:
        runner.device_class = "match"
    records = list(record.load_from_file(log))
    assert len(records) == 8  # 4 candidates x 2 classes
    by_device: dict[str, set[int]] = {}
    for inp, res in records:
        assert res.ok, res.error_msg
        by_device.setdefault(res.device.key, set()).add(inp.config.index)
    assert set(by_device) == set(runner.classes()) and len({frozenset(v) for v in by_device.values()}) == 1
    best = record.best_by_device(records)
    assert {device for (_, _, device) in best} == set(runner.classes())
    # Each class's best is the fastest of that class's records.
    for (_, _, device), (_, res) in best.items():
        assert res.mean_cost == min(r.mean_cost for _, r in records if r.device.key == device)


def test_worker_sigkilled_mid_batch_loses_no_record(runner, builder, tmp_path):
    task = autotune.task.create(templates.MATMUL, (32, 32, 32), "llvm")
    space = task.config_space
    inputs = [MeasureInput(task.target, task, space.get(i)) for i in range(0, 64, 8)]
    log = tmp_path / "log.json"
    measure = runner.create_measure_batch(task, builder)
    lost_before = runner.lost
    got: dict[int, object] = {}
    killed = None
    tried: set[int] = set()
    for k, res, primary in measure.stream(inputs):
        assert primary
        record.append(log, [(inputs[k], res)])
        got[k] = res
        busy = [w for w in runner.workers if w.busy and w.pid and w.pid not in tried]
        # A killed worker still busy has a candidate in flight whose loss is not yet seen: wait for
        # it, or the next kill may land on that candidate's retry (lost twice: an error).
        pending = [w for w in runner.workers if w.busy and w.pid in tried]
        if runner.lost == lost_before and busy and not pending:  # again until a kill lands in flight
            killed = busy[0].pid
            tried.add(killed)
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.kill(killed, signal.SIGKILL)
    assert killed is not None
    assert sorted(got) == list(range(len(inputs)))
    # The candidate in flight on the killed worker was measured again, not lost nor failed.
    assert all(r.ok for r in got.values()), [r.error_msg for r in got.values()]
    # A kill that lands just as a worker finishes loses nothing (a loaded machine showed it once), so
    # the loop kills again until one lands on a candidate in flight.
    assert runner.lost >= lost_before + 1
    assert len(list(record.load_from_file(log))) == len(inputs)
    # The dead actor was replaced: the class still has its three workers.
    assert len(runner.classes()[_main_class(runner)]) == 3


def test_candidate_lost_twice_is_recorded_as_an_error(runner, builder):
    # Large enough that the candidate is still running when the killer thread (polling every 10 ms,
    # on a loaded machine perhaps less often) looks: a 16^3 matmul could finish unseen.
    task = autotune.task.create(templates.MATMUL, (256, 256, 256), "llvm")
    b_class = next(k for k in runner.classes() if k != _main_class(runner))
    kills: list[object] = []
    stop = threading.Event()

    import ray

    def killer():  # kill whatever class-b worker measures, twice
        while not stop.is_set() and len(kills) < 2:
            for w in list(runner.workers):
                if w.fingerprint.key == b_class and w.busy and w.handle not in kills:
                    kills.append(w.handle)
                    ray.kill(w.handle)
            time.sleep(0.01)

    thread = threading.Thread(target=killer, daemon=True)
    runner.device_class = "b"
    thread.start()
    try:
        res = runner.create_measure_batch(task, builder)([MeasureInput(task.target, task, task.config_space.get(0))])
    finally:
        stop.set()
        thread.join()
        runner.device_class = "match"
    assert len(kills) == 2
    assert res[0].error_no == MeasureErrorNo.RUNTIME_DEVICE
    assert "lost 2 times" in res[0].error_msg


def test_node_lost_mid_batch_loses_no_record(nodes, runner, builder):
    cluster, spare = nodes
    task = autotune.task.create(templates.MATMUL, (32, 32, 32), "llvm")
    inputs = [MeasureInput(task.target, task, task.config_space.get(i)) for i in range(3, 67, 8)]
    lost_before = runner.lost
    got = {}
    for k, res, primary in runner.create_measure_batch(task, builder).stream(inputs):
        got[k] = res
        if len(got) == 1:
            cluster.remove_node(spare, allow_graceful=False)  # its raylet, actor and build worker die
    assert sorted(got) == list(range(len(inputs)))
    # Builds and measurements in flight on the lost node were done again elsewhere.
    assert all(r.ok for r in got.values()), [(r.error_no, r.error_msg) for r in got.values() if not r.ok]
    # Its actor is gone (and any replacement started before the cluster knew the node was dead).
    assert runner.lost >= lost_before + 1
    assert len(runner.classes()[_main_class(runner)]) == 2
    assert {w.slot.node_id for w in runner.workers} == {cluster.head_node.node_id}


@pytest.mark.slow
def test_cli_driver_killed_loses_no_record_and_resumes(runner, builder, tmp_path):
    log = tmp_path / "tiny.json"
    cmd = [sys.executable, "-m", "tensorlang.cli", "tune", str(TINY), "--cluster", "local:1", "--tuner", "random",
           "--seed", "1", "--trials", "8", "--number", "1", "--repeat", "1", "--log", str(log)]
    ray_tmp = tempfile.mkdtemp(prefix="tlt", dir="/tmp")  # short: Ray's socket paths are limited
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO), "TENSORLANG_RAY_TMPDIR": ray_tmp},
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and len(log.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)  # the driver dies mid-run
        proc.wait()
    finally:
        # Ray's helper processes of that cluster outlive a killed driver for a minute or two: end them.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stderr.close()
        _reap(ray_tmp, grace=0)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    before = log.read_text().splitlines()
    assert 3 <= len(before) < 8
    assert all(json.loads(line)["device"]["kind"] == "cpu" for line in before)  # whole, fsynced lines
    # Resume from the log (on this test's cluster): only the missing trials are measured.
    sys.path.insert(0, str(TINY.parent))
    try:
        import tiny_tasks
    finally:
        sys.path.pop(0)
    (task,) = tiny_tasks.tasks("llvm")
    history = list(record.load_from_file(log))
    tuner = autotune.tuner.RandomTuner(task, seed=2)
    tuner.load_history(history)
    tuner.tune(8 - len(record.measured_indices(history, task)), autotune.measure_option(builder=builder,
               runner=runner), callbacks=[callback.log_to_file(log)])
    after = log.read_text().splitlines()
    assert after[:len(before)] == before
    indices = [json.loads(line)["config"]["index"] for line in after]
    assert len(indices) == len(set(indices)) == 8
