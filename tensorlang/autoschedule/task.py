"""``SearchTask``: a computation function with arguments and a target, tuned without a template.

``func(*args)`` returns the tensors of the computation, inputs and outputs, in the order the
built function takes them (``[A, B, C]``).  The task derives sketches from the computation's
DAG, proposes candidates with ``SketchSearch`` and measures them with the template tuner's
measurement layer (isolated builds and runs, every candidate checked against a plain schedule
of the same computation, failures as typed results).  Every trial is appended to a JSON-lines
log in the template tuner's format.  Before a best is declared, the fastest candidates are
re-measured side by side in fresh processes (``confirm_best``, as the template tuner's
``confirm_best``), so a lucky short reading cannot win; ``apply_best(log)`` returns the
confirmed best as an ordinary ``(schedule, args)``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autotune import record
from ..autotune.callback import progress_bar
from ..autotune.fingerprint import cpu_fingerprint, foreign_cpu
from ..autotune.flop import compute_flop
from ..autotune.measure import interrupted
from ..autotune.measure.kept_builds import KeptBuilds
from ..autotune.measure.local import (
    REFERENCE_FAILED,
    LocalBuilder,
    LocalRunner,
    create_measure_batch,
    measure_option,
    uses_gpu,
)
from ..autotune.measure.measure import MeasureInput, MeasureResult
from ..autotune.space import ConfigEntity, InstantiationError
from ..autotune.task.task import plain_schedule
from ..autotune.task.task import workload_key as workload_key_of
from ..autotune.tuner.tuner import checked_measure_option, remeasure_leaders
from ..build_module import build
from ..errors import TensorLangError
from ..schedule.schedule import Schedule
from ..schedule.step_record import python_code
from ..target.target import Target, as_target
from ..te.tensor import PlaceholderOp
from .dag import ComputeDAG, LayoutRewriteOption, SketchError, warn_pre_transformed
from .hardware import HardwareModel, HardwareParams, hardware_for
from .loop_state import State, StateObject
from .policy import SketchPolicy
from .records import NAME_PREFIX, from_config, to_config
from .search import SketchSearch
from .sketch import CUSTOM_PREFIX, Sketch, Slot, apply_sketch, finishing_variants, generate_sketches, sketch_slots
from .tuning_options import TuningOptions
from .workload_registry import WorkloadError, parse_workload_key, register_workload, registered_name, workload_function

# Candidates measured per batch: builds run n_parallel at a time, runs one by one.
BATCH = 8


class SearchDAG(ComputeDAG):
    """A search task's ``compute_dag``: the DAG, plus TVM's way to replay a logged schedule on it
    (``apply_steps_from_state``, ``print_python_code_from_state``)."""

    def __init__(self, tensors: Sequence[Any], task: SearchTask):
        super().__init__(tensors)
        self.task = task

    def apply_steps_from_state(self, state: Any, layout_rewrite: Any = None) -> tuple[Schedule, list]:
        """The schedule and arguments ``state`` (a record's ``inp.state``, or a loop state of
        this DAG) describes; a record's on fresh tensors."""
        if layout_rewrite == LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED:  # for both kinds of state
            warn_pre_transformed("ComputeDAG.apply_steps_from_state")
        if isinstance(state, (State, StateObject)):
            return super().apply_steps_from_state(state)
        return self.task.instantiate(self._check(state))

    def print_python_code_from_state(self, state: Any) -> str:
        """``state`` as the Python schedule primitives that make it."""
        if isinstance(state, (State, StateObject)):
            return super().print_python_code_from_state(state)
        return self.task.python_code_of(self._check(state))

    def _check(self, state: Any) -> ConfigEntity:
        if not isinstance(state, ConfigEntity) or "sketch" not in state.to_json_knobs():
            raise TensorLangError(f"expected an auto-scheduler record's state (inp.state), got {state!r:.120}")
        return state


class TaskTarget(str):
    """A task's target: its text (what logs key on and the code compares), which also reads as
    TVM's ``task.target`` object (``.kind.name``, ``.host``, ``.attrs``)."""

    def _target(self) -> Target:
        return as_target(str(self))

    @property
    def kind(self) -> Any:
        return self._target().kind

    @property
    def host(self) -> Any:
        return self._target().host

    @property
    def attrs(self) -> dict[str, Any]:
        return self._target().attrs


class DagTensors:
    """The computation function of a task made from a ``ComputeDAG``: the DAG's own tensors (a
    class rather than a lambda, so the task pickles).  With a workload key, the key names it in
    the workload registry, as TVM registers a DAG's tensors, in this process and wherever the
    task is unpickled."""

    def __init__(self, tensors: Sequence[Any], workload_key: str | None = None):
        self.tensors = list(tensors)
        self.workload_key = workload_key
        self._register()

    def _register(self) -> None:
        if self.workload_key is not None:
            register_workload(self.workload_key, self, override=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._register()

    def __call__(self) -> list[Any]:
        return list(self.tensors)


def _key_name(workload_key: str) -> str:
    """The name a task made from a DAG takes from its workload key: the key's function name when
    it is TVM's JSON form, else the key itself (TVM takes any string there, ``workload_key="test"``)."""
    try:
        return parse_workload_key(workload_key)[0]
    except WorkloadError:
        return str(workload_key)


class SearchTask:
    """One auto-scheduling problem: ``SearchTask(func, args=(...), target="llvm")``."""

    def __init__(self, func: Callable[..., Sequence[Any]] | str | None = None, args: Sequence[Any] | None = (),
                 target: Any = "llvm", name: str | None = None, *, compute_dag: ComputeDAG | None = None,
                 workload_key: str | None = None, target_host: Any = None, hardware_params: Any = None,
                 layout_rewrite_option: Any = None, task_inputs: Any = None, task_inputs_overwrite: bool = False,
                 task_inputs_save_to_file: bool = False, desc: str = ""):
        """``func`` is the computation function (or the name it is registered under with
        ``register_workload``); TVM's keywords name it too: ``workload_key='["name", args...]'``
        or ``compute_dag=ComputeDAG(tensors)``.  ``hardware_params`` (``HardwareParams``)
        overrides what the prior assumes of the machine.  ``target_host`` and
        ``layout_rewrite_option`` are accepted and have no effect (tensorlang decides layout
        rewrites per sketch and keeps the function's arguments as they are; asking for
        ``REWRITE_FOR_PRE_TRANSFORMED`` warns).

        ``task_inputs`` (``{placeholder name: array}``) fixes inputs that random test data would
        make meaningless, as the indices and row pointers of a sparse matrix: every candidate and
        the reference run on those arrays (the others stay random).  A BSR ``topi.nn.sparse_dense``
        also answers to TVM's names for its arrays (``sparse_dense_bsr_<N>_<K>_<bs_r>_<bs_c>_``
        ``<blocks>_<pointers>_W_data``, ``..._W_indices``, ``..._W_indptr``).  ``task_inputs_overwrite``
        and ``task_inputs_save_to_file`` are accepted and have no effect: the arrays live in the
        task, and a GPU task's cached reference is keyed by their contents."""
        if args is None:
            args = ()
        if not isinstance(args, (tuple, list)):
            raise TensorLangError(f"SearchTask args must be a tuple of the computation function's arguments, "
                                  f"got {args!r}")
        if workload_key is not None and func is None and compute_dag is None:
            func, key_args = parse_workload_key(workload_key)
            if func.startswith(NAME_PREFIX) and len(key_args) == 1 and isinstance(key_args[0], tuple):
                # a task's own key (``task.workload_key``: '["auto/name", [args]]'), as TVM's round-trips
                func, key_args = func[len(NAME_PREFIX):], key_args[0]
            args = args or key_args
        if isinstance(func, str):
            name = name or func
            func = workload_function(func)
        if func is None and compute_dag is not None:
            func = DagTensors(compute_dag.tensors, workload_key)
            name = name or desc or (_key_name(workload_key) if workload_key else "compute_dag")
        if not callable(func):
            raise TensorLangError(f"SearchTask needs a function returning the computation's tensors, got {func!r}")
        self.func = func
        self.args = tuple(args)
        self.target = TaskTarget(str(as_target(target if target is not None else "llvm")))
        self.target_host = target_host
        self.hardware_params = hardware_params
        self.layout_rewrite_option = (LayoutRewriteOption.INSERT_TRANSFORM_STAGE if layout_rewrite_option is None
                                      else layout_rewrite_option)
        if self.layout_rewrite_option == LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED:
            # TVM's built function would then take its weights already packed; ours keeps every
            # argument's layout, so a caller passing packed weights must hear it now.
            warn_pre_transformed(f"SearchTask {name or getattr(func, '__name__', 'computation')}")
        # a registered function is named as registered, however the task was made (TVM's keys)
        self.name = NAME_PREFIX + (name or registered_name(func) or desc or getattr(func, "__name__", "computation"))
        self.desc = desc
        self.workload_key = workload_key_of(self.name, self.args)
        self.dag = SearchDAG(self._tensors(), self)
        self.task_inputs = _fixed_inputs(self.name, self.dag, task_inputs)
        self.hardware: HardwareModel = hardware_for(self.target)
        if hardware_params is not None:
            self.hardware = hardware_params.apply(self.hardware)
        else:  # TVM's task shows the target's figures
            self.hardware_params = HardwareParams.of(self.hardware, str(self.target))
        self.sketches: list[Sketch] = generate_sketches(self.dag, self.hardware)
        self._slots: dict[str, list[Slot]] = {}
        self.flop = compute_flop(self.dag.outputs)
        try:
            self.template_file = inspect.getfile(func)
        except TypeError:
            self.template_file = None

    @property
    def compute_dag(self) -> ComputeDAG:
        """The computation's stages (``print(task.compute_dag)`` lists them as TVM does)."""
        return self.dag

    @property
    def target_kind(self) -> str:
        return self.target.split()[0]

    def _tensors(self) -> list[Any]:
        try:
            got = self.func(*self.args)
        except TensorLangError:
            raise
        except Exception as exc:
            raise SketchError(f"{self.name}{self.args}: the computation function raised "
                              f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(got, (list, tuple)):
            raise SketchError(f"{self.name}: the computation function must return a list of tensors "
                              f"(inputs and outputs), got {type(got).__name__}")
        return list(got)

    def slots(self, sketch: Sketch) -> list[Slot]:
        """The open decisions of one of this task's sketches."""
        if sketch.name not in self._slots:
            self._slots[sketch.name] = sketch_slots(self.dag, sketch, self.hardware)
        return self._slots[sketch.name]

    # -- what the measurement layer and the feature extractor call ---------------------------------
    def instantiate(self, config: ConfigEntity) -> tuple[Schedule, list]:
        """The schedule a logged or proposed candidate describes, on fresh tensors."""
        sketch, decisions = from_config(config)
        tensors = self._tensors()
        dag = ComputeDAG(tensors)
        try:
            return apply_sketch(dag, sketch, decisions, self.hardware)
        except InstantiationError:
            raise
        except Exception as exc:
            if any(sketch.name == own.name for own in self.sketches) or sketch.name.startswith(CUSTOM_PREFIX):
                raise  # a sketch of this task's own rules failing is tensorlang's bug: shown as it is
            # A sketch no rule makes for this computation (a log of another computation or version,
            # an edited line) that does not fit its stages: the record does not apply.
            raise InstantiationError(f"sketch {sketch.name} is not one of {self.name}'s sketches and does not "
                                     f"apply to it ({type(exc).__name__}: {exc})") from None

    def reference(self) -> tuple[Schedule, list]:
        """A plain schedule to check candidates against."""
        tensors = self._tensors()
        return plain_schedule(tensors), tensors

    # -- tuning -------------------------------------------------------------------------------------
    def tune(self, n_trials: int | TuningOptions | None = None, log: str | os.PathLike | None = None,
             measure_option: Any = None, seed: int | None = None, early_stopping: int | None = None,
             verbose: bool = True, search: SketchSearch | None = None, confirm_top: int = 3, confirm_rounds: int = 3,
             search_policy: SketchPolicy | None = None, adaptive_training: bool = False,
             tuning_options: TuningOptions | None = None) -> SketchSearch:
        """Measure up to ``n_trials`` candidates, counting those ``log`` already holds (a rerun
        resumes); every trial is appended to ``log``.  Then, with ``confirm_top`` > 1, the
        fastest candidates are re-measured side by side in fresh processes (``confirm_best``)
        and the best declared is the confirmed one.  Returns the search state (``best_flops``,
        ``best_config``).

        TVM's form, ``tune(TuningOptions(...), search_policy=SketchPolicy(...))``, measures
        ``num_measure_trials`` new trials into the ``RecordToFile`` log, starting from the
        trials that log (and the policy's ``PreloadMeasuredStates``) already hold; TVM's keyword
        ``tune(tuning_options=...)`` is the same call."""
        if tuning_options is not None:
            if n_trials is not None:
                raise TensorLangError("tune: give either n_trials or tuning_options, not both")
            if not isinstance(tuning_options, TuningOptions):
                raise TensorLangError(f"tune: tuning_options must be an auto_scheduler.TuningOptions, "
                                      f"got {tuning_options!r}")
            n_trials = tuning_options
        if n_trials is None:
            raise TensorLangError("tune needs n_trials (an int) or a TuningOptions")
        if isinstance(n_trials, TuningOptions):
            if log is not None and not isinstance(log, (str, os.PathLike)):
                # TVM's positional form tune(tuning_options, search_policy): the log is the options'
                if search_policy is not None:
                    raise TensorLangError("tune: a search policy was given twice (second argument and search_policy=)")
                search_policy, log = log, None
            if log is not None:
                raise TensorLangError("tune: with TuningOptions the log is its RecordToFile callback's, not an "
                                      "argument")
            return self._tune_options(n_trials, search_policy, seed, confirm_top, confirm_rounds)
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise TensorLangError(f"n_trials must be a non-negative int or a TuningOptions, got {n_trials!r}")
        if measure_option is not None:
            measure_option = checked_measure_option(measure_option, "SearchTask.tune")
        return self._start(search, search_policy, seed, log, lambda done: max(0, n_trials - done), measure_option,
                           early_stopping, verbose, (), confirm_top, confirm_rounds)

    def _tune_options(self, options: TuningOptions, policy: SketchPolicy | None, seed: int | None,
                      confirm_top: int, confirm_rounds: int) -> SketchSearch:
        return self._start(None, policy, seed, options.log, lambda done: options.num_measure_trials,
                           options.measure_option(default_measure_option), options.early_stopping,
                           options.verbose > 0, options.callbacks, confirm_top, confirm_rounds)

    def _start(self, search: SketchSearch | None, policy: SketchPolicy | None, seed: int | None,
               log: str | os.PathLike | None, todo_after: Callable[[int], int], measure_option: Any,
               early_stopping: int | None, verbose: bool, extra_callbacks: Sequence[Callable], confirm_top: int,
               confirm_rounds: int) -> SketchSearch:
        """Hold the log (a bad or busy one stops the run before anything is read or measured),
        feed the search the policy's preloaded logs and the log's own trials, then run
        ``todo_after(trials the log holds)`` trials."""
        with record.exclusive_writer(log) if log is not None else contextlib.nullcontext():
            search = search or (policy.search if policy is not None else SketchSearch(self, seed=seed))
            for path in (policy.preload if policy is not None else []):
                preload(search, path, log)
            done = resume(search, log)
            return self._run(search, todo_after(done), done, log, measure_option, early_stopping, verbose,
                             extra_callbacks, confirm_top, confirm_rounds)

    def _run(self, search: SketchSearch, todo: int, done: int, log: str | os.PathLike | None, measure_option: Any,
             early_stopping: int | None, verbose: bool, extra_callbacks: Sequence[Callable], confirm_top: int,
             confirm_rounds: int) -> SketchSearch:
        if verbose:
            print(f"auto-scheduling {self.name}{self.args} on {self.target}: {len(self.sketches)} sketch(es), "
                  f"{self.flop / 1e9:.3g} GFLOP per run" + (f"; {done} trial(s) resumed from {log}" if done else ""),
                  file=sys.stderr)
        callbacks = [progress_bar(todo, prefix=f"  {self.name} ")] if verbose and todo else []
        callbacks += list(extra_callbacks)
        option = measure_option or default_measure_option()
        if todo:
            require_device(self, option)
        # The search, then the finishing variants of its leaders, then any trials they left.
        reserve = min(todo, finishing_reserve(self))
        kept = KeptBuilds()
        try:
            searched = run_trials(self, search, todo - reserve, log, option, early_stopping, callbacks, kept)
            if search.stopped:
                warnings.warn(f"{self.name}: {search.stopped}", stacklevel=4)
            left = todo - searched - finish_trials(self, search, reserve, log, option, callbacks, kept)
            if searched == todo - reserve and left > 0:
                run_trials(self, search, left, log, option, early_stopping, callbacks, kept)
            if confirm_top > 1 and search.needs_confirmation:
                confirm_best(self, search, option, log, confirm_top, confirm_rounds, kept)
        finally:
            kept.close()
        return search

    def apply_best(self, log: str | os.PathLike | None = None, include_compatible: bool = False,
                   layout_rewrite_option: Any = None, *, log_file: str | os.PathLike | None = None,
                   allow_other_device: bool = False) -> tuple[Schedule, list]:
        """The best error-free candidate of this task (same workload and target) in ``log``
        (TVM's keyword: ``log_file``), by the rule ``load_best_record`` and ``ApplyHistoryBest``
        follow; without a log, the state the current dispatch context gives
        (``with auto_scheduler.ApplyHistoryBest(log): task.apply_best()``).
        (TVM's ``include_compatible`` and ``layout_rewrite_option`` are accepted and not used.)
        Records measured on another CPU model are not applied unless ``allow_other_device``."""
        return self.instantiate(self._best(_one_log(log, log_file, "apply_best"), allow_other_device))

    def _best(self, log: str | os.PathLike | None, allow_other_device: bool = False) -> ConfigEntity:
        if log is None:
            from .dispatcher import DispatchContext  # the dispatch layer sits above the task
            state = DispatchContext.current.query(self.target, self.workload_key, True, self.dag)
            if state is None:
                raise TensorLangError(f"no log given and no auto_scheduler dispatch context (ApplyHistoryBest) knows "
                                      f"{self.name}{self.args} on {self.target}")
            return state
        best = best_config(self, log, allow_other_device)
        if best is None:
            raise TensorLangError(f"{log}: no successful trial of {self.name}{self.args} on {self.target}")
        return best

    def print_best(self, log: str | os.PathLike | None = None, print_mode: str = "schedule", *,
                   log_file: str | os.PathLike | None = None) -> str:
        """The best candidate in ``log`` (``log_file``; without one, the dispatch context's): as
        the Python schedule primitives that make it (``print_mode="schedule"``), or as the
        source of its device kernel (``"cuda"``, for a CUDA task)."""
        if print_mode not in ("schedule", "cuda"):
            raise TensorLangError(f"print_best: print_mode must be 'schedule' or 'cuda', got {print_mode!r}")
        return self.python_code_of(self._best(_one_log(log, log_file, "print_best")), print_mode)

    def python_code_of(self, config: ConfigEntity, print_mode: str = "schedule") -> str:
        """A candidate of this task as the Python schedule primitives that make it, or (``"cuda"``)
        as its device kernel's source."""
        sketch, decisions = from_config(config)
        tensors = self._tensors()
        s, args = apply_sketch(ComputeDAG(tensors), sketch, decisions, self.hardware)
        if print_mode == "cuda":
            if self.target_kind != "cuda":
                raise TensorLangError(f"print_best(print_mode='cuda'): {self.name} targets {self.target}, not cuda")
            return build(s, args, target=self.target).imported_modules[0].get_source()
        rewritten = any(a is not t for a, t in zip(args, tensors))
        header = [f"# {self.name.removeprefix(NAME_PREFIX)}{self.args} on {self.target}: sketch {sketch.name}",
                  f"# decisions {decisions}"]
        if rewritten:
            header.append("# This sketch rewrites the computation before scheduling it (weights packed, or output "
                          "channels in vector lanes: tensorlang.autoschedule.layout); the tensors and stages below "
                          "are the rewritten computation's, which SearchTask.apply_best builds:")
            header += [f"#   {line}" for line in str(ComputeDAG(args)).splitlines()]
            source = "...  # the rewritten computation's tensors"
        else:
            source = f"{getattr(self.func, '__name__', 'computation')}{self.args!r}"
        return python_code(s, args, header="\n".join(header), tensors_from=source)

    def __repr__(self) -> str:
        return f"SearchTask({self.name}, args={self.args}, target={self.target}, sketches={len(self.sketches)})"


def _one_log(log: str | os.PathLike | None, log_file: str | os.PathLike | None, what: str
             ) -> str | os.PathLike | None:
    if log is not None and log_file is not None:
        raise TensorLangError(f"{what}: give the log once (log or TVM's log_file), not both")
    return log if log is not None else log_file


class DeprecatedAPIError(TensorLangError, ValueError):
    """A TVM API that TVM itself removed (and raises ValueError for)."""


def create_task(func: Any, args: Sequence[Any], target: Any, target_host: Any = None,
                hardware_params: Any = None) -> SearchTask:
    """Removed in TVM 0.12 (it raises there too): ``SearchTask(func=, args=, target=)``."""
    raise DeprecatedAPIError("auto_scheduler.create_task is deprecated (TVM PR 7028): use "
                             "auto_scheduler.SearchTask(func=..., args=..., target=...)")


def auto_schedule(task: Any, search_policy: Any = None, tuning_options: Any = None) -> tuple[Schedule, list]:
    """Removed in TVM 0.12 (it raises there too): ``task.tune(tuning_options)`` then
    ``task.apply_best(log)``."""
    raise DeprecatedAPIError("auto_scheduler.auto_schedule is deprecated (TVM PR 7028): use "
                             "task.tune(tuning_options) and then task.apply_best(log_file)")



def default_measure_option() -> Any:
    """Builds in parallel children, each candidate run in its own child and checked.  A build
    may take a minute: a conv2d candidate needs ~1 s of CPU, but on a machine shared with
    other work a 20 s limit failed a third of them (load 14), good ones included.  Each repeat
    lasts at least 10 ms: conv2d on 2 threads is 0.56 ms a call, and the first call after the
    check may wait for a pool thread to wake (up to a 4 ms timer tick on this virtual machine),
    which in a 2-call repeat read as a kernel half as fast.  A repeat is one call when that call
    alone lasts the 10 ms (a 1-thread matmul 1024^3 is ~30 ms): a second call of the same length
    added nothing but time (a 64-trial matmul tune spent 28 s timing with two calls a repeat, 19 s
    with one).  Repeats are adaptive, as in ``tensorlang tune``: a candidate whose first repeat is
    over 1.5x the best so far gets no more (in 64-trial matmul runs, 12-21 trials are such, and
    they take 60% of the timing)."""
    return measure_option(builder=LocalBuilder(timeout=60.0),
                          runner=LocalRunner(number=1, repeat=3, min_repeat_ms=10.0, timeout=10.0,
                                             adaptive_repeats=True))


def confirm_best(task: SearchTask, search: SketchSearch, measure_option: Any, log: str | os.PathLike | None = None,
                 top: int = 3, rounds: int = 3, kept: KeptBuilds | None = None) -> bool:
    """Re-measure the search's leaders (``SketchSearch.leaders``) side by side before a best is
    declared, as the template tuner does (``tuner.remeasure_leaders``: interleaved rounds, each
    run in a fresh process, ranked by how slow each is in its slower rounds).  A candidate's
    trial is one short reading in one process; on two threads a memory-bound kernel's reading
    moves by a quarter from process to process, so the fastest trial is often a lucky one.  The
    confirmations go beside ``log`` (``LOG.confirmed``), where every reader of the log finds
    them; True when the leaders were confirmed.  ``kept``: the libraries of the run's fastest
    trials, run again instead of rebuilt."""
    confirmed = remeasure_leaders(task, search.leaders(top), measure_option, rounds, kept)
    if not confirmed:
        return False
    if log is not None:
        with interrupted.stop_signals_held():  # all the ranks of the confirmation, or none
            record.append_confirmations(log, confirmed)
    search.update([inp for inp, _ in confirmed], [res for _, res in confirmed])
    return True


def is_trial_of(task: SearchTask, inp: MeasureInput) -> bool:
    """Whether a logged trial is of ``task`` (its workload, on its target)."""
    return inp.task.workload_key == task.workload_key and str(inp.task.target) == task.target


def require_device(task: SearchTask, option: Any) -> None:
    """For a task on a real GPU, start the runner's GPU worker now: without a usable driver or
    device this raises GPUUnavailableError (one line: what is missing, and that ``cuda -emulate``
    runs kernels on the CPU) before any candidate is built, not as every trial's error."""
    if not uses_gpu(task.target):
        return
    pool = getattr(option.runner, "gpu_pool", None)
    if callable(pool):
        pool().start()


def preload(search: SketchSearch, path: str | os.PathLike, log: str | os.PathLike | None) -> None:
    """Feed ``search`` the task's trials in ``path`` without counting them as this run's (a log
    other than the one the run writes)."""
    if log is not None and os.path.abspath(path) == os.path.abspath(log):
        return                   # the run's own log is read anyway
    if not os.path.exists(path):
        warnings.warn(f"{path}: no such tuning log; the search starts without its measured candidates",
                      stacklevel=3)
        return
    done = search.trials_done
    resume(search, path)
    search.trials_done = done


def resume(search: SketchSearch, log: str | os.PathLike | None) -> int:
    """Feed ``search`` the trials of its task in ``log``; how many there were."""
    if log is None or not os.path.exists(log):
        return 0
    inputs, results = [], []
    for inp, res in record.load_with_confirmations(log):
        if is_trial_of(search.task, inp):
            try:
                from_config(inp.config)
            except InstantiationError:
                continue
            inputs.append(inp)
            results.append(res)
    if inputs:
        search.update(inputs, results)
    trials = sum(1 for res in results if not record.is_confirmation(res))
    search.trials_done += trials
    return trials


def best_config(task: SearchTask, log: str | os.PathLike, allow_other_device: bool = False) -> ConfigEntity | None:
    """The best config of ``task`` in ``log`` by ``record.Ranking`` (None when there is none).
    Records measured on another CPU model (or with other vector features) are not used, as
    ``autotune.apply_history_best`` does not use them, unless ``allow_other_device``; a log
    that holds only such records of the task is a TensorLangError naming the device."""
    if not os.path.exists(log):
        raise TensorLangError(f"{log}: no such tuning log")
    mine = [(where, inp, res) for where, _, (inp, res) in record.log_lines_where(log) if is_trial_of(task, inp)]
    foreign = {d for _, _, res in mine if (d := foreign_cpu(res.device)) is not None}
    if foreign and not allow_other_device:
        mine = [(where, inp, res) for where, inp, res in mine if foreign_cpu(res.device) is None]
        if not any(res.ok for _, _, res in mine):
            raise TensorLangError(
                f"{log}: the trials of {task.name}{task.args} on {task.target} were measured on "
                f"{'; '.join(sorted(foreign))}, not on this machine ({cpu_fingerprint().describe()}): they are "
                f"not applied; pass allow_other_device=True (tensorlang build --auto --allow-other-device) to "
                f"apply them anyway")
    refused: set[str] = set()  # configs that do not make a schedule of this task
    while True:
        ranking = record.Ranking()  # the rule every reader of a log follows
        for where, inp, res in mine:
            if _config_key(inp.config) not in refused:
                ranking.add(inp, res)
        if ranking.best is None:
            return None
        config = ranking.best[0].config
        try:
            task.instantiate(config)
        except TensorLangError as exc:
            # A record of an older tensorlang (its sketch rules changed since) or an edited line:
            # the next best record is used, as apply_history_best does for a stale template config.
            key = _config_key(config)
            refused.add(key)
            where = next(w for w, inp, _ in mine if _config_key(inp.config) == key)
            warnings.warn(f"{where}: the logged candidate {config} of {task.name}{task.args} does not make a "
                          f"schedule of it ({exc}); skipped, using the next best record", stacklevel=3)
            continue
        return config


def _config_key(config: ConfigEntity) -> str:
    """A logged config's identity by its knobs (its index may differ between records)."""
    return json.dumps(config.to_json().get("knobs"), sort_keys=True, default=str)


def run_trials(task: SearchTask, search: SketchSearch, n: int, log: str | os.PathLike | None, option: Any,
               early_stopping: int | None = None, callbacks: Sequence[Callable] = (),
               kept: KeptBuilds | None = None) -> int:
    """Measure up to ``n`` new candidates of ``task`` in batches; returns how many were measured
    (``kept`` keeps the fastest ones' libraries for ``confirm_best``)."""
    search.stopped = None
    if n <= 0:
        return 0
    measure_batch = create_measure_batch(task, option, kept)
    # While the search runs nothing is built or measured: its features are extracted on as many
    # cores as the local builder forks children for (a Ray builder's driver never forks).
    builder = getattr(option, "builder", None)
    search.feature_workers = builder.n_parallel if isinstance(builder, LocalBuilder) else 1
    done = best_at = 0
    while done < n:
        configs = search.next_batch(min(BATCH, n - done))
        if not configs:
            break
        before = search.best_cost
        results = _measure(task, search, configs, log, measure_batch, callbacks)
        done += len(results)
        if search.best_cost < before:
            best_at = done
        if early_stopping is not None and done - best_at >= early_stopping:
            break
        if results and all(not r.ok and (r.error_msg or "").startswith(REFERENCE_FAILED) for r in results):
            # Without the reference's result no candidate can be checked, this run's or a later one's:
            # the rest of the budget would build candidates only to log the same error.
            search.stopped = f"{results[0].error_msg.splitlines()[0]}; stopped after {done} trial(s)"
            break
    return done


def _measure(task: SearchTask, search: SketchSearch, configs: Sequence[ConfigEntity], log: str | os.PathLike | None,
             measure_batch: Callable, callbacks: Sequence[Callable] = ()) -> list[MeasureResult]:
    """Measure ``configs`` as trials: logged, fed to the search, shown; their results.

    With a measurement that streams (``measure_batch.stream``, the local runner's), each trial is
    appended to ``log`` (one line, fsynced, the stop signals held) as soon as it is measured, so a
    run killed mid-batch, even by SIGKILL, keeps every trial it finished and a resumed run does not
    measure them again; the search (its cost model) and the callbacks still take the batch whole."""
    inputs = [MeasureInput(task.target, task, c) for c in configs]
    stream = getattr(measure_batch, "stream", None)
    if callable(stream):
        results = _measure_streaming(stream, inputs, search, log, callbacks)
    else:
        try:
            results = list(measure_batch(inputs))
        except BaseException as exc:
            done = interrupted.measured_before(exc)
            if done:  # an interrupt: log the trials finished before it, so a resumed run skips them
                with interrupted.stop_signals_held():
                    if log is not None:
                        record.append(log, zip(inputs, done))
                    for cb in callbacks:
                        cb(search, inputs[:len(done)], done)
            raise
        if log is not None:
            with interrupted.stop_signals_held():  # a Ctrl-C now would lose the whole measured batch
                record.append(log, zip(inputs, results))
    search.update(inputs, results)
    search.trials_done += len(results)
    for cb in callbacks:
        cb(search, inputs, results)
    return results


def _measure_streaming(stream: Callable, inputs: Sequence[MeasureInput], search: SketchSearch,
                       log: str | os.PathLike | None, callbacks: Sequence[Callable]) -> list[MeasureResult]:
    """The results of ``stream(inputs)`` in input order, each logged as it arrives.  An interrupt
    stops the batch: the callbacks get the trials logged before it (the log has them already)."""
    got: dict[int, MeasureResult] = {}
    arriving = stream(inputs)
    try:
        for k, res, primary in arriving:
            if not primary:
                continue  # another device class's figure (a Ray cluster): the search logs its own class's
            with interrupted.stop_signals_held():  # logged and counted, or neither: a Ctrl-C waits
                if log is not None:
                    record.append(log, [(inputs[k], res)])
                got[k] = res
    except BaseException:
        if got:
            with interrupted.stop_signals_held():
                done = sorted(got)
                for cb in callbacks:
                    cb(search, [inputs[k] for k in done], [got[k] for k in done])
        raise
    finally:
        close = getattr(arriving, "close", None)  # a generator stopped early: its libraries go now
        if callable(close):
            close()
    missing = [k for k in range(len(inputs)) if k not in got]
    if missing:
        raise TensorLangError(f"{inputs[0].task.name}: the measurement gave no result for candidates {missing} "
                              "of the batch")
    return [got[k] for k in range(len(inputs))]


# Trials of a task's budget kept for its leaders' finishing variants, when its sketches have any.
FINISHING = 2


def finishing_reserve(task: SearchTask) -> int:
    """How many of a budget's trials ``finish_trials`` may take for ``task``."""
    return FINISHING if any(finishing_variants(task.dag, s) for s in task.sketches) else 0


def finish_trials(task: SearchTask, search: SketchSearch, n: int, log: str | os.PathLike | None, option: Any,
                  callbacks: Sequence[Callable] = (), kept: KeptBuilds | None = None) -> int:
    """Measure up to ``n`` finishing variants (``sketch.finishing_variants``: plans too slow to
    build for the search, such as a padding stage inlined into a lanes kernel) of the search's
    fastest candidates, with their decisions, as ordinary trials; they join the leaders that
    ``confirm_best`` re-measures, so a variant is declared best only if it is confirmed faster.
    Returns how many were measured."""
    if n <= 0:
        return 0
    configs: list[ConfigEntity] = []
    for inp in search.leaders(n):
        sketch, decisions = from_config(inp.config)
        for variant in finishing_variants(task.dag, sketch):
            if len(configs) < n and search.is_new(variant, decisions):
                configs.append(to_config(variant, decisions, task.flop))
    if not configs:
        return 0
    return len(_measure(task, search, configs, log, create_measure_batch(task, option, kept), callbacks))


def _fixed_inputs(task_name: str, dag: ComputeDAG, given: Any) -> dict[int, Any]:
    """``task_inputs`` as contiguous numpy arrays by position among the computation's arguments,
    each checked against the placeholder it replaces (found by name, or by TVM's names for a
    sparse matrix's arrays: unnamed placeholders all share the name "placeholder")."""
    if not given:
        return {}
    if not isinstance(given, dict):
        raise TensorLangError(f"SearchTask {task_name}: task_inputs must be a dict of placeholder name -> array, "
                              f"got {type(given).__name__}")
    position: dict[int, int] = {}
    by_name: dict[str, list[Any]] = {}
    for i, t in enumerate(dag.tensors):
        if isinstance(t.op, PlaceholderOp):
            position[id(t)] = i
            by_name.setdefault(t.name, []).append(t)
    conventional = _sparse_input_names(dag)
    fixed: dict[int, Any] = {}
    for name, value in given.items():
        tensor = conventional.get(name)
        if tensor is None:
            named = by_name.get(name, [])
            if len(named) > 1:
                raise TensorLangError(f"SearchTask {task_name}: task_inputs names '{name}', which {len(named)} "
                                      "inputs of the computation share; give them distinct names")
            tensor = named[0] if named else None
        if tensor is None or id(tensor) not in position:
            raise TensorLangError(f"SearchTask {task_name}: task_inputs names '{name}', which is not an input the "
                                  f"computation function returns (its inputs: {', '.join(sorted(by_name)) or 'none'})")
        array = np.ascontiguousarray(value.numpy() if hasattr(value, "numpy") else np.asarray(value))
        shape = tuple(int(d) for d in tensor.shape)
        if array.shape != shape or str(array.dtype) != str(tensor.dtype):
            raise TensorLangError(f"SearchTask {task_name}: task_inputs['{name}'] is {array.dtype}{array.shape}, "
                                  f"but that input is {tensor.dtype}{shape}")
        if position[id(tensor)] in fixed:
            raise TensorLangError(f"SearchTask {task_name}: task_inputs give input '{name}' twice")
        fixed[position[id(tensor)]] = array
    return fixed


def _sparse_input_names(dag: ComputeDAG) -> dict[str, Any]:
    """TVM's names for the inputs of a BSR ``topi.nn.sparse_dense`` in ``dag``:
    ``sparse_dense_bsr_<N>_<K>_<bs_r>_<bs_c>_<blocks>_<pointers>_`` + W_data / W_indices /
    W_indptr, by which its tutorials pass a sparse matrix's arrays to unnamed placeholders."""
    names: dict[str, Any] = {}
    for info in dag.stages:
        parts = info.op.attrs.get("sparse_inputs")  # on the output stage of topi.nn.sparse_dense
        if parts is None or len(parts[1].shape) != 3:
            continue
        dense, data, indices, indptr = parts
        _, bs_r, bs_c = (int(d) for d in data.shape)
        n = (int(indptr.shape[0]) - 1) * bs_r
        prefix = (f"sparse_dense_bsr_{n}_{int(dense.shape[1])}_{bs_r}_{bs_c}_{int(indices.shape[0])}_"
                  f"{int(indptr.shape[0])}_")
        names.update({prefix + "W_data": data, prefix + "W_indices": indices, prefix + "W_indptr": indptr})
    return names
