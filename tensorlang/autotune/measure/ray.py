"""Measure on a Ray cluster: builds fan out to CPU workers, each device is measured by one long-lived actor.

``RayBuilder`` and ``RayRunner`` are the cluster counterparts of ``LocalBuilder`` and
``LocalRunner`` and work in ``measure_option`` alone or together.  Together they pipeline: each
candidate is built as a Ray task (``LocalBuilder`` in a forked child) on a node of the device
class that will measure it, its library travels as bytes through the object store, and the
first idle measuring actor of that class checks and times it with ``LocalRunner`` (forked
child, reference check, typed errors), one candidate at a time.  Results stream back as they
arrive, so a ``log_to_file`` callback appends and fsyncs each record at once.

Devices: a node offers one CPU measuring slot, or ``k`` slots when started with the custom
resource ``tensorlang_measure: k``; a resource ``tensorlang_measure:LABEL`` offers slots of a
separate class named LABEL (say, two instance types with the same CPU model); each GPU is a
slot.  Every actor reports a ``DeviceFingerprint``; a task is measured on the class matching
its target (``device_class="all"``: on every matching class, one record each).

Crash-only: a measuring actor or build worker that dies (SIGKILL, node lost) costs only the
candidate it held, which is queued once more and then recorded as an error; a dead actor is
replaced on its node while the node lives.  ``ray`` is imported only here, and only when used.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import functools
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import TensorLangError
from ..fingerprint import DeviceFingerprint, cpu_fingerprint
from ..space import ConfigEntity
from .executor import truncate
from .local import BuildResult, LocalBuilder, LocalRunner, MeasureOptionError, _task_and_configs
from .measure import MeasureErrorNo, MeasureInput, MeasureResult
from .scratch import scratch_dir

logger = logging.getLogger("tensorlang.autotune")

MEASURE_RESOURCE = "tensorlang_measure"
RETRIES = 1            # a candidate whose worker died is queued once more, then recorded as an error
_REPLACEMENTS = 3      # dead actors replaced per device slot before the slot is given up
_START_TIMEOUT = 120.0  # seconds for the measuring actors to start and report their device


class ClusterError(TensorLangError, RuntimeError):
    """Ray is missing, the cluster cannot be reached, or no worker on it can measure a task."""


def import_ray() -> Any:
    """The ``ray`` module, or a ClusterError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError("measuring on a cluster needs Ray: pip install 'tensorlang[distributed]' "
                           "(or pip install 'ray[default]')") from None
    return ray


def parse_cluster(spec: str) -> tuple[str | None, int]:
    """``"local"`` -> (None, 1), ``"local:4"`` -> (None, 4); any other string is a Ray address
    (``"auto"``, ``"10.0.0.1:6379"``, ``"ray://head:10001"``) -> (address, 0)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ClusterError(f"--cluster must be a Ray address or local[:N], got {spec!r}")
    head, sep, count = spec.strip().partition(":")
    if head != "local":
        return spec.strip(), 0
    if not sep:
        return None, 1
    if not count.isdigit() or int(count) < 1:
        raise ClusterError(f"local:N needs a positive number of workers, got '{spec}'")
    return None, int(count)


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """A ClusterError unless a connection to the ``HOST:PORT`` of a Ray ``address`` (also
    ``ray://HOST:PORT``) opens within ``timeout`` seconds: ray.init retries an unknown or
    unreachable address for minutes.  Other forms ("auto") are left to Ray."""
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {why}") from None


class RayCluster:
    """A connection to Ray: ``RayCluster("local:4")`` starts a cluster on this machine with 4 CPU
    measuring slots, ``RayCluster("auto")`` or ``RayCluster("host:6379")`` joins a running one,
    ``RayCluster()`` uses the connection this process already has (else ``ray.init()``'s default).
    ``close()`` ends what this object started (the local cluster, or the connection).  A local
    cluster keeps its files in a fresh folder under ``$TENSORLANG_RAY_TMPDIR`` (default /tmp; keep
    the path short, Ray's socket paths must fit in 107 bytes)."""

    def __init__(self, spec: str | None = None, num_cpus: int | None = None,
                 resources: dict[str, float] | None = None):
        ray = import_ray()
        self.spec = spec
        self.owned = False
        self._tmp: str | None = None
        if ray.is_initialized():
            return
        address, slots = parse_cluster(spec) if spec is not None else (None, 0)
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
        if spec is not None and address is None:
            # A short private folder: Ray's socket paths must stay under 108 bytes, and other
            # clusters on this machine (other users, other tests) keep theirs.
            base = os.environ.get("TENSORLANG_RAY_TMPDIR") or ("/tmp" if os.path.isdir("/tmp") else None)
            self._tmp = tempfile.mkdtemp(prefix="tlray-", dir=base)
            res = {MEASURE_RESOURCE: float(slots), **(resources or {})}
            cpus = num_cpus if num_cpus is not None else len(os.sched_getaffinity(0))
            try:
                ray.init(address="local", num_cpus=cpus, resources=res, _temp_dir=self._tmp,
                         object_store_memory=256 * 2**20, **quiet)
            except Exception as exc:
                shutil.rmtree(self._tmp, ignore_errors=True)
                raise ClusterError(f"cannot start a local Ray cluster: {exc}") from exc
            atexit.register(self.close)  # before Ray's own exit hook: stop the cluster, then remove its folder
        else:
            if address is not None:
                check_reachable(address)
            try:
                ray.init(address=address, **{k: v for k, v in quiet.items() if k != "include_dashboard"})
            except Exception as exc:
                raise ClusterError(f"cannot connect to the Ray cluster at {address or 'the default address'}: "
                                   f"{exc}") from exc
        self.owned = True

    def close(self) -> None:
        """Shut down the local cluster (or disconnect) if this object started it."""
        if self.owned:
            import ray
            ray.shutdown()
            self.owned = False
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RayCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayCluster({self.spec!r})"


def _cluster(cluster: RayCluster | str | None) -> RayCluster:
    return cluster if isinstance(cluster, RayCluster) else RayCluster(cluster)


# --- device slots and the measuring actor ------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """One device a measuring actor is pinned to: its node, kind and the resource it holds."""

    node_id: str
    kind: str            # "cpu" or "gpu"
    label: str = ""      # the LABEL of a "tensorlang_measure:LABEL" resource
    resource: str = ""   # custom resource taking one unit per actor ("" for none)
    index: int = 0       # CPU slots: which of the node's ``count`` CPU slots (picks its cores)
    count: int = 1


def device_slots(nodes: Sequence[dict]) -> list[Slot]:
    """The measuring slots of the alive nodes of ``ray.nodes()``."""
    slots = []
    for node in nodes:
        if not node.get("Alive"):
            continue
        res = node.get("Resources", {})
        nid = node["NodeID"]
        declared = sorted(k for k in res if k == MEASURE_RESOURCE or k.startswith(MEASURE_RESOURCE + ":"))
        keys = [k for k in declared for _ in range(int(res[k]))] or [""]
        slots += [Slot(nid, "cpu", key.partition(":")[2], key, i, len(keys)) for i, key in enumerate(keys)]
        slots += [Slot(nid, "gpu", "", "GPU")] * int(res.get("GPU", 0))
    return slots


def _package_of(cpu: int) -> int:
    try:
        with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def slot_cpus(index: int, count: int, allowed: Sequence[int],
              package_of: Callable[[int], int] = _package_of) -> list[int] | None:
    """The cores CPU slot ``index`` of a node's ``count`` is pinned to, so that measurements on
    one node do not share cores: socket ``index`` when the node has ``count`` sockets, else the
    ``index``-th of ``count`` equal runs of its cores.  None (not pinned) for a node's only slot,
    or for more slots than cores (slots that merely simulate devices)."""
    cpus = sorted(allowed)
    if count <= 1 or count > len(cpus):
        return None
    sockets: dict[int, list[int]] = {}
    for c in cpus:
        sockets.setdefault(package_of(c), []).append(c)
    if len(sockets) == count:
        return sorted(sockets.values())[index]
    per = len(cpus) // count
    return cpus[index * per:(index + 1) * per]


def _labelled(fp: DeviceFingerprint, label: str) -> DeviceFingerprint:
    return dataclasses.replace(fp, name=f"{fp.name}[{label}]") if label else fp


def _this_device(kind: str, label: str) -> DeviceFingerprint:
    """The fingerprint of the device an actor measures.  A GPU (Ray's CUDA_VISIBLE_DEVICES makes
    the actor's own GPU ordinal 0) is read by a spawned worker: the actor never initializes CUDA."""
    if kind == "cpu":
        # The cores a CPU measurement may use change its timings as much as the model does.
        fp = cpu_fingerprint()
        cores = (("cores", str(len(os.sched_getaffinity(0)))),)
        return _labelled(dataclasses.replace(fp, versions=tuple(sorted(fp.versions + cores))), label)
    from .gpu_worker import probe_gpu
    return _labelled(probe_gpu(0).fingerprint(), label)


class MeasureWorker:
    """A measuring actor's body: a ``LocalRunner`` for one device, one candidate at a time."""

    def __init__(self, settings: dict[str, Any], kind: str, label: str, index: int = 0, count: int = 1):
        if kind == "cpu":
            cpus = slot_cpus(index, count, os.sched_getaffinity(0))
            if cpus:
                os.sched_setaffinity(0, cpus)  # candidates forked from here inherit it
        self.runner = LocalRunner(**settings)
        self.fingerprint = _this_device(kind, label)
        # Builds for the same device model share one library, whatever the label.
        self.build_key = dataclasses.replace(self.fingerprint, name=self.fingerprint.name.split("[")[0]).key
        self._scratch = scratch_dir("tensorlang-measure-")  # removed with the worker
        self.dir = self._scratch.name
        self.count = 0

    def describe(self) -> tuple[dict[str, Any], str, int]:
        """(fingerprint as JSON, build key, pid)."""
        return self.fingerprint.to_json(), self.build_key, os.getpid()

    def measure(self, task: Any, blob: bytes, build_time: float) -> MeasureResult:
        """Check and time one built candidate (its shared library's bytes)."""
        self.count += 1
        path = os.path.join(self.dir, f"c{self.count}.so")
        with open(path, "wb") as f:
            f.write(blob)
        try:
            return self.runner.run(task, [BuildResult(path, MeasureErrorNo.NO_ERROR, "", build_time)])[0]
        finally:
            os.unlink(path)


@functools.cache
def _worker_builder(timeout: float) -> LocalBuilder:
    # One per build worker process: LLVM warms up once and every later build forks from it.
    return LocalBuilder(timeout=timeout, n_parallel=1)


def build_remote(task: Any, config: ConfigEntity, timeout: float) -> tuple[tuple[int, str, float], bytes]:
    """A build task's body: ((error_no, message, seconds), library bytes or b"")."""
    b = _worker_builder(timeout).build(task, [config])[0]
    blob = b""
    if b.ok and b.filename:
        with open(b.filename, "rb") as f:
            blob = f.read()
        os.unlink(b.filename)
    return (int(b.error_no), b.error_msg, b.build_time), blob


@functools.cache
def _remote_defs() -> tuple[Any, Any]:
    ray = import_ray()
    actor = ray.remote(max_restarts=0, max_task_retries=0)(MeasureWorker)
    build = ray.remote(num_returns=2, max_retries=0)(build_remote)
    return actor, build


def _portable(task: Any) -> Any:
    """``task``, with its template's module pickled by value unless tensorlang itself defines it,
    so workers need not be able to import the user's file."""
    import ray.cloudpickle as cp
    module = sys.modules.get(getattr(getattr(task, "func", None), "__module__", "") or "")
    if module is not None and not module.__name__.startswith("tensorlang.") and module.__name__ != "__main__":
        cp.register_pickle_by_value(module)
    return task


def _target_matches(target: str, fp: DeviceFingerprint) -> bool:
    kind = "gpu" if target.split()[0] == "cuda" else "cpu"
    if fp.kind != kind:
        return False
    for word in target.split()[1:]:
        key, _, value = word.partition("=")
        if key == "-mcpu" and fp.name.split("[")[0] != value:
            return False
        if key == "-arch" and value not in fp.arch:
            return False
    return True


@dataclass(eq=False)
class _Worker:
    handle: Any
    slot: Slot
    fingerprint: DeviceFingerprint
    build_key: str
    pid: int = 0
    busy: bool = False
    replaced: int = 0


# --- builder and runner ----------------------------------------------------------------------------

class RayBuilder:
    """Builds candidates as Ray tasks (each in a forked child on its worker), ``timeout`` seconds each.

    With ``RayRunner`` a candidate is built on a node of the device class that measures it;
    with a ``LocalRunner`` the libraries come back to this machine, so the cluster's CPUs must
    match this one.  ``n_parallel`` (default: the cluster's CPUs) sizes the tuner's batches."""

    def __init__(self, cluster: RayCluster | str | None = None, timeout: float = 10.0,
                 n_parallel: int | None = None):
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise MeasureOptionError(f"RayBuilder timeout must be a positive number, got {timeout!r}")
        self.timeout = float(timeout)
        self.cluster = _cluster(cluster)
        if n_parallel is None:
            n_parallel = max(1, int(import_ray().cluster_resources().get("CPU", 1)))
        self.n_parallel = int(n_parallel)
        self._tmp: tempfile.TemporaryDirectory | None = None

    def submit(self, task_ref: Any, config: ConfigEntity, node_id: str | None) -> tuple[Any, Any]:
        """Start one build; (meta ref, library ref)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        _, build = _remote_defs()
        options: dict[str, Any] = {"num_cpus": 1}
        if node_id is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=False)
        return build.options(**options).remote(task_ref, config, self.timeout)

    def build(self, measure_inputs: Any, configs: Sequence[ConfigEntity] | None = None) -> list[BuildResult]:
        """One BuildResult per input, in order, its library written to a local file:
        ``build(measure_inputs)`` as in TVM, or ``build(task, configs)``."""
        task, configs = _task_and_configs(measure_inputs, configs)
        ray = import_ray()
        if self._tmp is None:
            self._tmp = scratch_dir("tensorlang-build-")
        task_ref = ray.put(_portable(task))
        refs = [self.submit(task_ref, cfg, None) for cfg in configs]
        results = []
        for n, (meta_ref, blob_ref) in enumerate(refs):
            try:
                (error_no, msg, seconds) = ray.get(meta_ref)
            except ray.exceptions.RayError as exc:
                results.append(BuildResult(None, MeasureErrorNo.COMPILE_HOST,
                                           truncate(f"the build worker failed: {type(exc).__name__}: {exc}")))
                continue
            if error_no != MeasureErrorNo.NO_ERROR:
                results.append(BuildResult(None, MeasureErrorNo(error_no), msg, seconds))
                continue
            path = os.path.join(self._tmp.name, f"c{getattr(configs[n], 'index', n)}_{n}.so")
            with open(path, "wb") as f:
                f.write(ray.get(blob_ref))
            results.append(BuildResult(path, MeasureErrorNo.NO_ERROR, "", seconds))
        return results

    def __repr__(self) -> str:
        return f"RayBuilder(timeout={self.timeout:g}, n_parallel={self.n_parallel})"


class RayRunner:
    """Measures candidates on the cluster's measuring actors, one actor per device.

    The timing settings are ``LocalRunner``'s (each actor runs one).  ``device_class``:
    ``"match"`` (default) measures on one class matching the task's target (the most numerous;
    the target's ``-mcpu``/``-arch`` narrow it), ``"all"`` on every matching class (one record
    per class, the tuner learning from the first), or a class named by fingerprint key, label or
    device name.  Actors start on first use and live until ``close()``."""

    def __init__(self, cluster: RayCluster | str | None = None, number: int = 4, repeat: int = 3,
                 min_repeat_ms: float = 0, timeout: float = 10.0, cooldown_interval: float = 0.0,
                 enable_cpu_cache_flush: bool = False, check_correctness: bool = True, seed: int = 0,
                 device_class: str = "match"):
        settings = {"number": number, "repeat": repeat, "min_repeat_ms": min_repeat_ms, "timeout": timeout,
                    "cooldown_interval": cooldown_interval, "enable_cpu_cache_flush": enable_cpu_cache_flush,
                    "check_correctness": check_correctness, "seed": seed}
        LocalRunner(**settings)  # the same checks, and errors, as the local runner
        if not isinstance(device_class, str) or not device_class:
            raise MeasureOptionError(f"RayRunner device_class must be 'match', 'all' or a class name, "
                                     f"got {device_class!r}")
        self.settings = settings
        self.timeout = float(timeout)
        self.device_class = device_class
        self.cluster = _cluster(cluster)
        self.workers: list[_Worker] = []
        self.lost = 0  # measuring actors that died so far
        self._started = False
        self._alive: dict[str, float] | None = None
        self.avoid_nodes: set[str] = set()  # nodes where a build was lost: builds go elsewhere

    # --- the pool of measuring actors ---------------------------------------------------------------

    def _spawn(self, slot: Slot) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        actor, _ = _remote_defs()
        options: dict[str, Any] = {"num_cpus": 0,
                                   "scheduling_strategy": NodeAffinitySchedulingStrategy(slot.node_id, soft=False)}
        if slot.kind == "gpu":
            options["num_gpus"] = 1
        elif slot.resource:
            options["resources"] = {slot.resource: 1}
        return actor.options(**options).remote(self.settings, slot.kind, slot.label, slot.index, slot.count)

    def start(self) -> None:
        """Start one measuring actor per device slot and learn their fingerprints."""
        if self._started:
            return
        ray = import_ray()
        slots = device_slots(ray.nodes())
        handles = [self._spawn(s) for s in slots]
        refs = [h.describe.remote() for h in handles]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=_START_TIMEOUT)
        ready_set = set(ready)
        for slot, handle, ref in zip(slots, handles, refs):
            if ref not in ready_set:
                logger.warning("a measuring worker on node %s did not start within %g s", slot.node_id,
                               _START_TIMEOUT)
                ray.kill(handle)
                continue
            try:
                fp_json, build_key, pid = ray.get(ref)
            except ray.exceptions.RayError as exc:
                logger.warning("a measuring worker on node %s failed to start: %s", slot.node_id, exc)
                continue
            self.workers.append(_Worker(handle, slot, DeviceFingerprint.from_json(fp_json), build_key, pid))
        if not self.workers:
            raise ClusterError(f"no measuring worker started on the Ray cluster ({len(slots)} slots)")
        self._started = True

    def classes(self) -> dict[str, list[_Worker]]:
        """Live measuring workers by device-class key."""
        self.start()
        out: dict[str, list[_Worker]] = {}
        for w in self.workers:
            out.setdefault(w.fingerprint.key, []).append(w)
        return out

    def classes_for(self, target: str) -> list[str]:
        """The device classes that measure a task of ``target``, the primary one first."""
        classes = self.classes()
        matching = [k for k, ws in classes.items() if _target_matches(target, ws[0].fingerprint)]
        if not matching:
            have = "; ".join(ws[0].fingerprint.describe() for ws in classes.values())
            raise ClusterError(f"no measuring worker on the cluster matches target '{target}' (workers: {have})")
        matching.sort(key=lambda k: (-len(classes[k]), k))
        if self.device_class == "all":
            return matching
        if self.device_class == "match":
            return matching[:1]
        for k in matching:
            fp = classes[k][0].fingerprint
            if self.device_class in (k, fp.name, fp.name.partition("[")[2].rstrip("]")):
                return [k]
        raise ClusterError(f"no device class '{self.device_class}' matching target '{target}' on the cluster "
                           f"(classes: {', '.join(matching)})")

    @property
    def n_parallel(self) -> int:
        """Candidates to keep in flight: twice the largest class, so builds overlap measurements."""
        return 2 * max(len(ws) for ws in self.classes().values())

    def alive_nodes(self, refresh: bool = False) -> dict[str, float]:
        """{node id: CPUs} of the cluster's live nodes (asked again with ``refresh``, after a
        failure); the workers of nodes found dead are dropped."""
        if refresh or self._alive is None:
            ray = import_ray()
            self._alive = {n["NodeID"]: float(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes()
                           if n.get("Alive")}
            for w in [w for w in self.workers if w.slot.node_id not in self._alive]:
                logger.warning("node %s is gone with its measuring worker (%s)", w.slot.node_id,
                               w.fingerprint.describe())
                self.workers.remove(w)
                self.lost += 1
        return self._alive

    def replace(self, worker: _Worker) -> None:
        """Drop a dead actor; start a new one on its device while its node lives."""
        ray = import_ray()
        if worker in self.workers:
            self.workers.remove(worker)
            self.lost += 1
        try:
            ray.kill(worker.handle)
        except Exception:  # noqa: BLE001 - already gone
            pass
        alive = self.alive_nodes(refresh=True)
        if worker.replaced >= _REPLACEMENTS or worker.slot.node_id not in alive:
            logger.warning("measuring worker on %s lost for good", worker.fingerprint.describe())
            return
        # The new actor measures the same device: it is used at once (calls wait for it to start).
        self.workers.append(_Worker(self._spawn(worker.slot), worker.slot, worker.fingerprint, worker.build_key,
                                    replaced=worker.replaced + 1))

    # --- measuring ----------------------------------------------------------------------------------

    def create_measure_batch(self, task: Any, builder: Any = None) -> _Measurement:
        """The measurement function of ``task`` (called by the tuner instead of the local one)."""
        return _Measurement(self, task, builder)

    def run(self, measure_inputs: Any, build_results: Sequence[BuildResult]) -> list[MeasureResult]:
        """One MeasureResult per build result (made by any builder), in order; ``measure_inputs``
        is TVM's list of MeasureInputs (or their task)."""
        task, _ = _task_and_configs(measure_inputs, ())
        inputs = [MeasureInput(task.target, task, ConfigEntity(None, i, {})) for i in range(len(build_results))]
        m = _Measurement(self, task, None)
        out: list[Any] = [None] * len(inputs)
        for k, res, primary in m.stream(inputs, prebuilt=build_results):
            if primary:
                out[k] = res
        return out

    def close(self) -> None:
        """Stop the measuring actors."""
        if self.workers:
            ray = import_ray()
            for w in self.workers:
                try:
                    ray.kill(w.handle)
                except Exception:  # noqa: BLE001 - the cluster may be gone already
                    pass
        self.workers = []
        self._started = False

    def __repr__(self) -> str:
        return f"RayRunner(number={self.settings['number']}, repeat={self.settings['repeat']}, " \
               f"timeout={self.timeout:g}, device_class={self.device_class!r})"


@dataclass(eq=False)
class _Job:
    """One candidate to be measured on one device class."""

    index: int
    cls: str
    primary: bool
    blob: Any = None
    build_time: float = 0.0
    attempts: int = 0


@dataclass(eq=False)
class _Pending:
    kind: str                      # "build" or "run"
    jobs: list[_Job]
    start: float
    meta: Any = None               # build: the ref of (error_no, msg, seconds)
    blob: Any = None               # build: the ref of the library bytes
    worker: _Worker | None = None  # run: who measures it
    attempt: int = 0               # build: how many times it was lost before
    node: str | None = None        # build: the node it was sent to
    unschedulable: int = 0         # build: times its node turned out dead before it started
    deadline: float = field(default=float("inf"))


class _Measurement:
    """Measures batches of one task on a RayRunner's actors; ``stream`` yields results as they
    arrive, calling the object returns the primary results in order."""

    def __init__(self, runner: RayRunner, task: Any, builder: Any):
        self.runner = runner
        self.task = task
        self.builder = builder
        self._task_ref: Any = None
        self._rr = 0

    def __call__(self, inputs: Sequence[MeasureInput]) -> list[MeasureResult]:
        out: list[Any] = [None] * len(inputs)
        for k, res, primary in self.stream(inputs):
            if primary:
                out[k] = res
        return out

    def close(self) -> None:
        """Nothing to release: the actors belong to the runner."""

    # --- helpers ------------------------------------------------------------------------------------

    def _run_deadline(self) -> float:
        # Load + check + timing, the task's reference on an actor's first candidate, slack for a
        # freshly started actor; past it the actor is taken for hung and replaced.
        return 2 * self.runner.timeout + max(60.0, 3 * self.runner.timeout) + 60.0

    def _build_node(self, build_key: str) -> str | None:
        """A node with a worker of ``build_key``, round robin (CPU code must suit the device that
        runs it); None (anywhere) for GPU builds of a target that names its architecture."""
        if self.task.target.split()[0] == "cuda" and "-arch=" in self.task.target:
            return None
        alive = self.runner.alive_nodes()
        # Nodes without a CPU to spare (a head started with --num-cpus=0) cannot take builds.
        nodes = sorted({w.slot.node_id for w in self.runner.workers
                        if w.build_key == build_key and alive.get(w.slot.node_id, 0) >= 1
                        and w.slot.node_id not in self.runner.avoid_nodes})
        if not nodes:
            return None
        self._rr += 1
        return nodes[self._rr % len(nodes)]

    def stream(self, inputs: Sequence[MeasureInput],
               prebuilt: Sequence[BuildResult] | None = None) -> Iterator[tuple[int, MeasureResult, bool]]:
        """(input index, result, primary) per measurement as each finishes: one per input and
        device class, the primary class's first."""
        ray = import_ray()
        runner = self.runner
        classes = runner.classes_for(self.task.target)
        key_of = {k: runner.classes()[k][0].build_key for k in classes}
        if self._task_ref is None:
            self._task_ref = ray.put(_portable(self.task))
        jobs = [_Job(k, c, n == 0) for k in range(len(inputs)) for n, c in enumerate(classes)]
        ready: dict[str, collections.deque[_Job]] = {c: collections.deque() for c in classes}
        pending: dict[Any, _Pending] = {}
        done: collections.deque[tuple[_Job, MeasureResult]] = collections.deque()

        def fail(job: _Job, error_no: MeasureErrorNo, msg: str, build_time: float = 0.0) -> None:
            done.append((job, MeasureResult((), error_no, error_msg=truncate(msg), all_cost=build_time,
                                            build_time=build_time)))

        def submit_build(group: list[_Job], attempt: int, unschedulable: int = 0) -> None:
            builder = self.builder if isinstance(self.builder, RayBuilder) else None
            timeout = builder.timeout if builder is not None else 10.0
            node = self._build_node(key_of[group[0].cls])
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
            _, build = _remote_defs()
            opts: dict[str, Any] = {"num_cpus": 1}
            if node is not None:
                opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
            meta, blob = build.options(**opts).remote(self._task_ref, inputs[group[0].index].config, timeout)
            pending[meta] = _Pending("build", group, time.monotonic(), meta, blob, attempt=attempt,
                                     node=node, unschedulable=unschedulable)

        if prebuilt is None and not isinstance(self.builder, RayBuilder) and self.builder is not None:
            prebuilt = self.builder.build(list(inputs))
        if prebuilt is not None:
            for job in jobs:
                b = prebuilt[job.index]
                if not b.ok or not b.filename:
                    fail(job, b.error_no, b.error_msg, b.build_time)
                    continue
                with open(b.filename, "rb") as f:
                    job.blob, job.build_time = ray.put(f.read()), b.build_time
                ready[job.cls].append(job)
        else:
            groups: dict[tuple[int, str], list[_Job]] = {}
            for job in jobs:
                groups.setdefault((job.index, key_of[job.cls]), []).append(job)
            for group in groups.values():
                submit_build(group, 0)

        remaining = len(jobs)
        try:
            while remaining:
                # Idle workers take ready candidates, one each.
                for c in classes:
                    for w in [w for w in runner.workers if w.fingerprint.key == c and not w.busy]:
                        if not ready[c]:
                            break
                        job = ready[c].popleft()
                        ref = w.handle.measure.remote(self._task_ref, job.blob, job.build_time)
                        w.busy = True
                        now = time.monotonic()
                        pending[ref] = _Pending("run", [job], now, worker=w, deadline=now + self._run_deadline())
                while done:
                    job, res = done.popleft()
                    remaining -= 1
                    yield job.index, res, job.primary
                if not remaining:
                    break
                if not pending:
                    # Candidates are ready but no worker of their class is left.
                    for c in classes:
                        while ready[c]:
                            fail(ready[c].popleft(), MeasureErrorNo.RUNTIME_DEVICE,
                                 f"no measuring worker of device class {c} is left on the cluster")
                    continue
                wait_for = min(p.deadline for p in pending.values()) - time.monotonic()
                finished, _ = ray.wait(list(pending), num_returns=1, timeout=max(0.1, min(wait_for, 5.0)))
                for ref in finished:
                    p = pending.pop(ref)
                    if p.kind == "build":
                        self._on_build(p, ready, fail, submit_build)
                    else:
                        self._on_run(ref, p, ready, done, fail, submit_build)
                now = time.monotonic()
                for p in pending.values():
                    if p.kind == "run" and now > p.deadline and p.worker is not None:
                        # A hung actor: kill it; its call then fails like any lost worker's.
                        logger.warning("measuring worker %d made no progress for %.0f s: killing it",
                                       p.worker.pid, now - p.start)
                        ray.kill(p.worker.handle)
                        p.deadline = float("inf")
        finally:
            # Abandoned mid-batch (an exception, a closed generator): results of calls still in
            # flight are dropped, and their workers take new candidates (queued behind the old).
            for p in pending.values():
                if p.worker is not None:
                    p.worker.busy = False

    def _on_build(self, p: _Pending, ready: dict, fail: Any, submit_build: Any) -> None:
        ray = import_ray()
        try:
            error_no, msg, seconds = ray.get(p.meta)
        except ray.exceptions.RayTaskError as exc:
            for job in p.jobs:
                fail(job, MeasureErrorNo.COMPILE_HOST, f"the build task failed: {exc}")
            return
        except ray.exceptions.RayError as exc:
            # Its node may be gone (Ray may not know yet): build elsewhere from now on.
            node_lost = (ray.exceptions.TaskUnschedulableError, ray.exceptions.NodeDiedError)
            if p.node is not None and isinstance(exc, node_lost):
                self.runner.avoid_nodes.add(p.node)
            self.runner.alive_nodes(refresh=True)
            if isinstance(exc, ray.exceptions.TaskUnschedulableError) and p.unschedulable < _REPLACEMENTS:
                # Never started (sent to a node that had died): not a loss of the candidate.
                submit_build(p.jobs, p.attempt, p.unschedulable + 1)
            elif p.attempt < RETRIES:
                logger.warning("build worker lost (%s): building the candidate again", type(exc).__name__)
                submit_build(p.jobs, p.attempt + 1)
            else:
                for job in p.jobs:
                    fail(job, MeasureErrorNo.COMPILE_HOST,
                         f"the build worker was lost {p.attempt + 1} times while building this candidate "
                         f"({type(exc).__name__})")
            return
        if error_no != MeasureErrorNo.NO_ERROR:
            for job in p.jobs:
                fail(job, MeasureErrorNo(error_no), msg, seconds)
            return
        for job in p.jobs:
            job.blob, job.build_time = p.blob, seconds
            ready[job.cls].append(job)

    def _on_run(self, ref: Any, p: _Pending, ready: dict, done: collections.deque, fail: Any,
                submit_build: Any) -> None:
        ray = import_ray()
        job, worker = p.jobs[0], p.worker
        assert worker is not None
        try:
            res = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            worker.busy = False
            fail(job, MeasureErrorNo.UNKNOWN_ERROR, f"the measuring worker failed: {exc}", job.build_time)
            return
        except ray.exceptions.RayError as exc:
            # The actor died (SIGKILL, node lost), or the library's bytes were lost with the node
            # that built them.
            actor_lost = isinstance(exc, ray.exceptions.RayActorError)
            if actor_lost:
                self.runner.replace(worker)
            else:
                worker.busy = False
            job.attempts += 1
            what = f"{type(exc).__name__} on {worker.fingerprint.describe()}"
            if job.attempts > RETRIES:
                fail(job, MeasureErrorNo.RUNTIME_DEVICE,
                     f"the measuring worker was lost {job.attempts} times while measuring this candidate "
                     f"(last: {what}); recorded as an error after {RETRIES} retry", job.build_time)
            elif actor_lost:
                logger.warning("measuring worker lost (%s): measuring the candidate again", what)
                ready[job.cls].appendleft(job)
            else:
                logger.warning("candidate library lost (%s): building it again", what)
                submit_build([job], job.attempts)
            return
        worker.busy = False
        done.append((job, dataclasses.replace(res, device=worker.fingerprint, timestamp=time.time(),
                                              all_cost=job.build_time + res.run_time)))
