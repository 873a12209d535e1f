"""The ``tensorlang`` command line.

File conventions (the file is imported; its ``if __name__ == "__main__":`` block does not run):

* ``schedules()`` returns ``{name: (schedule, args)}`` (or ``(name, schedule, args)``
  tuples): ``tensorlang show FILE.py`` prints the lowered loop IR of each entry.
* ``tasks(target)`` returns a list of ``autotune.task.create(...)`` tasks for that target
  string: ``tensorlang tune`` tunes them, ``tensorlang build`` builds them with the best
  configs of a log.
* ``computations()`` returns ``{name: (func, args)}`` where ``func(*args)`` returns the
  computation's tensors (inputs, then outputs): ``tensorlang tune --auto`` auto-schedules them
  without a template (``tensorlang.autoschedule``).  Without ``computations()``, the file's
  top-level ``autoschedule.SearchTask`` objects (as TVM's auto_scheduler scripts make them) are
  tuned, each for the command's ``--target``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import math
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .autoschedule.files import build_file, tune_file
from .autotune import callback, measure_option, record
from .autotune.dispatcher import ApplyHistoryBest
from .autotune.measure.local import MAX_TIMEOUT_S, LocalBuilder, LocalRunner
from .autotune.record import target_kind
from .autotune.task import Task
from .autotune.tuner import GATuner, GridSearchTuner, RandomTuner, XGBTuner
from .build_module import build, lower
from .errors import TensorLangError
from .schedule.schedule import Schedule
from .target.backends import get_backend
from .target.target import Target


def load_file(path: str) -> Any:
    """Import a Python file as a module without running its __main__ block."""
    p = Path(path)
    if not p.is_file():
        raise TensorLangError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"tensorlang_user_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise TensorLangError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(p.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise TensorLangError(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except TensorLangError:
        raise
    except SystemExit as exc:  # else the command would end silently with the file's exit code
        raise TensorLangError(f"{user_frame(exc, p)}: the file called {_exit_call(exc)} while being loaded") from None
    except Exception as exc:  # noqa: BLE001 - the user's file failed: say where, not our traceback
        raise TensorLangError(f"{user_frame(exc, p)}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    return module


def user_frame(exc: BaseException, path: Path) -> str:
    """``FILE:LINE`` of the innermost traceback frame in the user's file ``path``."""
    where = str(path)
    tb = exc.__traceback__
    target = str(path.resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == target:
            where = f"{path}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _exit_call(exc: SystemExit) -> str:
    """How the user's code called sys.exit: ``sys.exit(7)``, ``sys.exit()``."""
    return f"sys.exit({'' if exc.code is None else repr(exc.code)})"


def call_user(fn: Any, path: str, call: str, *args: Any) -> Any:
    """``fn(*args)``, a function of the user's file ``path`` (``call`` as the user wrote it, e.g.
    ``tasks('llvm')``): an exception in it becomes a TensorLangError naming the file's line."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read (a builtin): the call itself will tell
        signature = None
    if signature is not None:
        try:
            signature.bind(*args)
        except TypeError:
            code = getattr(fn, "__code__", None)
            where = f"{path}:{code.co_firstlineno}" if code is not None else path
            raise TensorLangError(f"{where}: tensorlang calls {call}, but it is defined as "
                                  f"`def {getattr(fn, '__name__', 'function')}{signature}`") from None
    try:
        return fn(*args)
    except TensorLangError:
        raise
    except SystemExit as exc:
        raise TensorLangError(f"{user_frame(exc, Path(path))}: {call} called {_exit_call(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's function failed: say where, not our traceback
        raise TensorLangError(f"{user_frame(exc, Path(path))}: {call} raised {type(exc).__name__}: {exc}") from None


def _what(value: Any) -> str:
    """A returned value for an error message: its type and a short repr."""
    return "None" if value is None else f"{type(value).__name__} {value!r:.80}"


def iter_schedules(module: Any, path: str) -> Iterator[tuple[str, Any, list]]:
    """The (name, schedule, args) entries a file's ``schedules()`` declares."""
    fn = getattr(module, "schedules", None)
    if not callable(fn):
        raise TensorLangError(f"{path} defines no schedules() function; it should return "
                              "{name: (schedule, args)} (see `tensorlang show --help`)")
    got = call_user(fn, path, "schedules()")
    if isinstance(got, dict):
        items = list(got.items())
    elif isinstance(got, (list, tuple)) and all(isinstance(e, (tuple, list)) and len(e) == 3 for e in got):
        items = [(e[0], e[1:]) for e in got]
    else:
        raise TensorLangError(f"{path}: schedules() returned {_what(got)}; it should return "
                              "{name: (schedule, args)} or a list of (name, schedule, args)")
    for name, entry in items:
        if (not isinstance(entry, (tuple, list)) or len(entry) != 2 or not isinstance(entry[0], Schedule)
                or not isinstance(entry[1], (tuple, list))):
            raise TensorLangError(f"{path}: schedules() entry '{name}' must be (schedule, args), "
                                  f"got {_what(entry)}")
        yield str(name), entry[0], list(entry[1])


def _show(args: argparse.Namespace) -> int:
    module = load_file(args.file)
    if args.log:
        return _show_best(args, module)
    shown = 0
    for name, sch, tensors in iter_schedules(module, args.file):
        if args.name and name not in args.name:
            continue
        print(f"// {name}")
        print(lower(sch, tensors, name=name))
        print()
        shown += 1
    if not shown:
        print(f"{args.file}: no schedules matched", file=sys.stderr)
        return 1
    return 0


def iter_tasks(module: Any, path: str, target: str) -> list:
    """The tasks a file's ``tasks(target)`` declares."""
    fn = getattr(module, "tasks", None)
    if not callable(fn):
        raise TensorLangError(f"{path} defines no tasks(target) function; it should return a list of "
                              "autotune.task.create(...) tasks (see `tensorlang tune --help`)")
    call = f"tasks({target!r})"
    got = call_user(fn, path, call, target)
    if isinstance(got, Iterator):  # a generator: its body runs as it is consumed
        got = call_user(lambda: list(got), path, call)
    if not isinstance(got, (list, tuple)):
        raise TensorLangError(f"{path}: {call} returned {_what(got)}, not a list of tasks")
    if not got:
        raise TensorLangError(f"{path}: {call} returned no tasks")
    for n, task in enumerate(got):
        if not isinstance(task, Task):
            raise TensorLangError(f"{path}: {call} returned {_what(task)} at index {n}, not a task "
                                  "(autotune.task.create(...))")
    return list(got)


def default_log(path: str, target: str) -> str:
    """tuning_logs/FILE.KIND.json; emulated CUDA gets its own log (FILE.cuda-emulate.json)."""
    return str(Path("tuning_logs") / f"{Path(path).stem}.{target_kind(target)}.json")


def check_target(target: str) -> str:
    """``target`` itself once its backend accepts it (an unknown -mcpu or -mattr is a
    TargetError naming the known ones here, not a crash inside LLVM in a worker later)."""
    get_backend(Target(target).kind.name).parse_target(target)
    return target


def gpu_target(target: str) -> str:
    """For a real CUDA target: check for a GPU in a spawned process (this one never initializes
    CUDA, since it forks builders) and pin its architecture into the target string; raises
    GPUUnavailableError with one line saying what is missing."""
    if target_kind(target) != "cuda":
        return target
    from .autotune.measure.gpu_worker import probe_gpu
    info = probe_gpu(0)
    if not any(w.startswith("-arch=") for w in target.split()):
        target = f"{target} -arch={info.arch}"
    print(f"GPU 0: {info.name} ({info.arch}, driver {info.driver_version}, {info.runtime})", file=sys.stderr)
    return target


def _tuner_for(kind: str, task: Any, seed: int | None) -> Any:
    classes = {"xgb": XGBTuner, "ga": GATuner, "random": RandomTuner,
               "grid": GridSearchTuner}
    if kind == "grid":
        return classes[kind](task)
    return classes[kind](task, seed=seed)


def _tune(args: argparse.Namespace) -> int:
    module = load_file(args.file)
    target = gpu_target(check_target(args.target))
    if args.auto:
        option = _cluster_option(args) if args.cluster else None  # search tasks pickle to the workers
        return tune_file(module, args.file, target, args.trials, args.log, args.seed, option,
                         confirm_top=args.confirm_top, confirm_rounds=args.confirm_rounds,
                         early_stopping=args.early_stopping)
    log = args.log or default_log(args.file, target)
    with record.exclusive_writer(log):  # a bad or busy log stops us before anything is measured
        return _tune_into(args, module, target, log)


def _tune_into(args: argparse.Namespace, module: Any, target: str, log: str) -> int:
    check_is_log(log)
    history = list(record.load_with_confirmations(log)) if Path(log).stat().st_size else []
    summary = []
    cluster = _cluster_option(args) if args.cluster else None  # Ray shuts it down when we exit
    for task in iter_tasks(module, args.file, target):
        measured = record.measured_indices(history, task)  # this task's trials, logged and new
        done = len(measured)
        todo = max(0, args.trials - done)
        label = f"{task.name}{task.args}"
        print(f"tuning {label} on {task.target}: space {len(task.config_space)}, "
              f"{task.flop / 1e9:.2f} GFLOP per run; log {log}", file=sys.stderr)
        if done:
            print(f"  resuming: {done} trial(s) of this task already in the log, {todo} to go", file=sys.stderr)
        tuner = _tuner_for(args.tuner, task, args.seed)
        if history:
            tuner.load_history(history)
        option = cluster or measure_option(builder=LocalBuilder(timeout=args.build_timeout),
                                           runner=LocalRunner(number=args.number, repeat=args.repeat,
                                                              min_repeat_ms=args.min_repeat_ms,
                                                              timeout=args.run_timeout,
                                                              adaptive_repeats=not args.fixed_repeats))
        log_trials = callback.log_to_file(log)
        if todo:
            # Measured on several device classes, a trial gives one record per class.
            records = todo * (len(cluster.runner.classes_for(task.target)) if cluster else 1)
            tuner.tune(n_trial=todo, measure_option=option, early_stopping=args.early_stopping,
                       callbacks=[log_trials, _count_trials(measured),
                                  callback.tune_progress(records, f"  {task.name} ")],
                       confirm_top=args.confirm_top, confirm_rounds=args.confirm_rounds)
            if len(measured) < args.trials and not tuner.has_next():
                print(f"  {_space_exhausted(len(measured))}", file=sys.stderr)
        elif args.confirm_top > 1 and not confirmed_since_last_trial(history, task):
            # All trials are logged but their leaders were never confirmed (say, the run was
            # stopped while confirming): confirm them now, so the log names a confirmed best.
            print(f"  confirming the {args.confirm_top} fastest logged configs", file=sys.stderr)
            tuner.confirm_best(option, args.confirm_top, args.confirm_rounds, callbacks=[log_trials])
        summary.append((label, tuner, len(measured)))
    print()
    print(f"{'task':40} {'trials':>7} {'best GFLOPS':>12} {'spread':>7}  {'ranked by':28} best config")
    hopeless = []
    for label, tuner, n in summary:
        pair = tuner.best_measure_pair
        if tuner.best_config is None or pair is None:
            print(f"{label[:40]:40} {n:>7} {'-':>12}")
            if n:
                hopeless.append((label, tuner.task))
            continue
        print(f"{label[:40]:40} {n:>7} {tuner.best_flops / 1e9:12.1f} {100 * record.spread(pair[1]):6.1f}%  "
              f"{how_ranked(pair[1]):28} {tuner.best_config}")
    if cluster is not None:
        _print_best_per_device(log)
    for label, task in hopeless:
        kinds, first = _failures(log, task)
        text = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        first_line = (first.strip().splitlines() or ["?"])[0][:400]
        print(f"\n{label}: no working config ({text}); the first error: {first_line}", file=sys.stderr)
    print(f"\nlog: {log}   (apply with autotune.apply_history_best('{log}') or `tensorlang build --log {log} ...`)")
    return 1 if hopeless else 0


def _failures(log: str, task: Any) -> tuple[dict[str, int], str]:
    """How many of ``task``'s trials in ``log`` failed, by kind, and the first one's message."""
    kinds: dict[str, int] = {}
    first = ""
    for inp, res in record.load_from_file(log):
        if inp.task.workload_key != task.workload_key or str(inp.task.target) != str(task.target) or res.ok:
            continue
        kinds[res.error_no.kind] = kinds.get(res.error_no.kind, 0) + 1
        first = first or res.error_msg
    return kinds, first


def check_is_log(log: str) -> None:
    """A LogFileError when the file ``log`` has lines but not one tuning record (the tuned Python
    file given as --log by mistake, a CSV): appending trials would damage it.  A single bad line
    is a log whose first write was cut off; a run may append to that."""
    bad, first = 0, ""
    with open(log, encoding="utf-8-sig", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            try:
                record.decode(text)
                return
            except record.RecordError as exc:
                bad += 1
                first = first or f"line {lineno}: {exc}"
    if bad > 1:
        raise record.LogFileError(f"{log} is not a tuning log: none of its {bad} lines is a tuning record "
                                  f"(first: {first}); pass another --log")


def _count_trials(measured: set[int]) -> callback.Callback:
    """A tuner callback adding the config index of each trial measured to ``measured`` (the
    summary counts trials by it: a tuner's ``visited`` also holds configs it reserved)."""

    def _count(tuner: Any, inputs: Sequence[Any], results: Sequence[Any]) -> None:
        measured.update(inp.config.index for inp, res in zip(inputs, results) if res.confirm is None)

    return _count


def _space_exhausted(trials: int) -> str:
    """Why a task got fewer trials than asked: its space has no other valid config."""
    if not trials:
        return "no config of the space passes the template's constraints: nothing to measure"
    return f"the space has no other valid config: {trials} trial(s), every valid config measured"


def confirmed_since_last_trial(history: Sequence[record.Record], task: Any) -> bool:
    """Whether ``task``'s last successful trial in ``history`` is followed by a confirmation
    of the leaders (True when there is no successful trial: nothing to confirm)."""
    target = str(task.target)
    confirmed = True
    for inp, res in history:
        if inp.task.workload_key != task.workload_key or str(inp.task.target) != target or not res.ok:
            continue
        confirmed = record.is_confirmation(res)
    return confirmed


def _cluster_option(args: argparse.Namespace) -> Any:
    """measure_option for --cluster: builds and measurements on Ray (the extra 'distributed')."""
    from .autotune.measure.ray import RayBuilder, RayCluster, RayRunner
    cluster = RayCluster(args.cluster)
    return measure_option(builder=RayBuilder(cluster, timeout=args.build_timeout),
                          runner=RayRunner(cluster, number=args.number, repeat=args.repeat,
                                           min_repeat_ms=args.min_repeat_ms, timeout=args.run_timeout,
                                           device_class=args.device_class))


def _print_best_per_device(log: str) -> None:
    print(f"\n{'task':40} {'device':48} {'ms':>9}  config")
    for inp, res in record.best_by_device(record.load_with_confirmations(log)).values():
        label = f"{inp.task.name}{tuple(inp.task.args)}"
        name = res.device.describe() if res.device is not None else "(not recorded)"
        print(f"{label[:40]:40} {name[:48]:48} {record.record_cost(res) * 1e3:9.3f}  {inp.config}")


def how_ranked(res: Any) -> str:
    """How a best's figure was obtained: "confirmed 1/3, 5 rounds" or "median of 3 repeats"."""
    if res.confirm is not None:
        return f"confirmed {res.confirm.rank}/{res.confirm.of}, {len(res.costs)} rounds"
    return f"median of {len(res.costs)} repeat{'s' if len(res.costs) != 1 else ''}"


def _best(args: argparse.Namespace) -> int:
    ok: list[record.Record] = []
    errors: dict[str, dict[str, int]] = {}  # task label -> error kind -> count
    for inp, res in record.load_with_confirmations(args.log):
        if not res.ok:
            kinds = errors.setdefault(f"{inp.task.name}{tuple(inp.task.args)}", {})
            kinds[res.error_no.kind] = kinds.get(res.error_no.kind, 0) + 1
            continue
        ok.append((inp, res))
    rows = record.best_records(ok, lambda inp, res: (inp.task.workload_key, inp.target))
    if not rows:
        print(f"{args.log}: no successful trials", file=sys.stderr)
        _print_errors(errors)
        return 1
    print(f"{'task':44} {'target':10} {'ms':>9} {'GFLOPS':>8} {'spread':>7}  {'ranked by':28} config")
    for (_, target), ranking in sorted(rows.items(), key=lambda kv: kv[0]):
        inp, res = ranking.best
        flop = getattr(inp.task, "flop", 0.0) or getattr(inp.config, "flop", 0.0)
        gf = f"{flop / ranking.cost / 1e9:8.1f}" if flop else f"{'-':>8}"
        label = f"{inp.task.name}{tuple(inp.task.args)}"
        print(f"{label[:44]:44} {target.split()[0]:10} {ranking.cost * 1e3:9.3f} {gf} "
              f"{100 * record.spread(res):6.1f}%  {how_ranked(res):28} {inp.config}")
    _print_errors(errors)
    return 0


def _print_errors(errors: dict[str, dict[str, int]]) -> None:
    """One line per task: how many trials failed, by kind (compile, runtime, timeout ...)."""
    if not errors:
        return
    print("\nfailed trials by kind:")
    for label, kinds in sorted(errors.items()):
        text = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        print(f"  {label[:44]:44} {text}")


def _show_best(args: argparse.Namespace, module: Any) -> int:
    """The lowered loop IR and the generated source of each task's best config in the log."""
    check_target(args.target)
    best = ApplyHistoryBest(args.log, allow_other_device=True)
    for task in iter_tasks(module, args.file, args.target):
        cfg = best.query(task.target, task.workload_key)
        sch, tensors = _instantiate(task, cfg, args.file)
        which = "fallback config (no record in the log)" if getattr(cfg, "is_fallback", False) else f"config {cfg}"
        print(f"// {task.name}{task.args} on {task.target}: {which}")
        print(lower(sch, tensors, name=task.name.replace("/", "_")))
        module_ = build(sch, tensors, target=task.target, name=task.name.replace("/", "_"), jit=False)
        fmt = "cuda" if task.target.split()[0] == "cuda" else "ll"
        print(f"// generated {fmt} source")
        print(module_.get_source(fmt))
    return 0


def _instantiate(task: Any, cfg: Any, path: str) -> tuple[Any, list]:
    """``task.instantiate(cfg)``; an exception in the template becomes a TensorLangError naming
    the line of the user's file ``path`` where it was raised."""
    return call_user(task.instantiate, path, f"template '{task.name}' with config {cfg}", cfg)


def _log_series(path: str) -> dict[str, list[float]]:
    """Per task: the best GFLOPS (or 1/ms when the FLOP count is unknown) after each trial, by
    the ranking rule of every log reader (``record.Ranking``).  A confirmation of the leaders
    is not a trial: it adds no point but moves the curve from there on to the confirmed figure."""
    series: dict[str, list[float]] = {}
    rankings: dict[str, record.Ranking] = {}
    for inp, res in record.load_with_confirmations(path):
        label = f"{inp.task.name}{tuple(inp.task.args)}"
        ranking = rankings.setdefault(label, record.Ranking())
        ranking.add(inp, res)
        value = 0.0
        if ranking.best is not None:
            flop = getattr(ranking.best[0].config, "flop", 0.0)
            value = flop / ranking.cost / 1e9 if flop else 1e-3 / ranking.cost
        if record.is_confirmation(res):
            points = series.get(label)
            if points:
                points[-1] = value  # the run's declared best, after its last trial
            # a confirmation of a task with no trial in the log (its trials were removed): no curve
        else:
            series.setdefault(label, []).append(value)
    return series


def _plot(args: argparse.Namespace) -> int:
    curves = {}
    for log in args.logs:
        for label, values in _log_series(log).items():
            curves[f"{Path(log).name}: {label}" if len(args.logs) > 1 else label] = values
    if not curves:
        print("tensorlang: error: the logs hold no trials", file=sys.stderr)
        return 1
    try:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        plt = None
    if plt is not None and args.output:
        fig, ax = plt.subplots(figsize=(8, 5))
        for label, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, label=label)
        ax.set_xlabel("trials")
        ax.set_ylabel("best GFLOPS so far")
        ax.legend(fontsize="small")
        fig.savefig(args.output, dpi=120, bbox_inches="tight")
        print(f"wrote {args.output}")
        return 0
    if args.output:
        print("matplotlib is not installed (pip install matplotlib); a text plot instead", file=sys.stderr)
    for label, values in curves.items():
        print(text_plot(values, f"{label}: best GFLOPS so far vs trials"))
    return 0


def text_plot(values: list[float], title: str, width: int = 60, height: int = 12) -> str:
    """A step plot of ``values`` (best so far after each trial) in characters."""
    top = max(values) or 1.0
    cols = [values[min(len(values) - 1, int(c * len(values) / width))] for c in range(min(width, len(values)))]
    rows = []
    for r in range(height, 0, -1):
        level = top * r / height
        mark = "".join("#" if v >= level - top / (2 * height) else " " for v in cols)
        rows.append(f"{level:9.2f} |{mark}")
    rows.append(" " * 10 + "+" + "-" * len(cols))
    rows.append(" " * 11 + f"1{' ' * max(0, len(cols) - len(str(len(values))) - 1)}{len(values)} trials")
    return title + "\n" + "\n".join(rows) + "\n"


def _compare(args: argparse.Namespace) -> int:
    tables = []
    for log in (args.log1, args.log2):
        records = list(record.load_with_confirmations(log))

        def label(inp: Any, res: Any) -> str:
            return f"{inp.task.name}{tuple(inp.task.args)} {record.target_kind(str(inp.task.target))}"

        trials: dict[str, int] = {}
        for inp, res in records:
            if not record.is_confirmation(res):
                trials[label(inp, res)] = trials.get(label(inp, res), 0) + 1
        ranked = record.best_records(records, label)
        tables.append({name: (ranked[name].cost if name in ranked else float("inf"), n)
                       for name, n in trials.items()})
    labels = sorted(set(tables[0]) | set(tables[1]))
    if not labels:
        print("tensorlang: error: both logs are empty", file=sys.stderr)
        return 1
    print(f"{'task':44} {'ms (1)':>9} {'ms (2)':>9} {'2 vs 1':>8} {'trials':>13}")
    for label in labels:
        (c1, n1), (c2, n2) = tables[0].get(label, (float("inf"), 0)), tables[1].get(label, (float("inf"), 0))
        ms = [f"{c * 1e3:9.3f}" if c < float("inf") else f"{'-':>9}" for c in (c1, c2)]
        ratio = f"{c1 / c2:7.2f}x" if c1 < float("inf") and c2 < float("inf") else f"{'-':>8}"
        print(f"{label[:44]:44} {ms[0]} {ms[1]} {ratio} {n1:>6} / {n2:<6}")
    print(f"\n(1) {args.log1}\n(2) {args.log2}\n'2 vs 1' > 1 means log 2's best is faster")
    return 0


def _build(args: argparse.Namespace) -> int:
    module = load_file(args.file)
    check_target(args.target)
    if args.auto:
        return build_file(module, args.file, args.target, args.log, args.output, args.allow_other_device)
    best = ApplyHistoryBest(args.log, allow_other_device=args.allow_other_device)
    tasks = iter_tasks(module, args.file, args.target)
    out = Path(args.output)
    for n, task in enumerate(tasks):
        cfg = best.query(task.target, task.workload_key)
        if cfg.is_fallback:
            print(f"warning: no record for {task.name}{task.args} in {args.log}; using the fallback config",
                  file=sys.stderr)
        sch, tensors = _instantiate(task, cfg, args.file)
        fname = "".join(ch if ch.isalnum() else "_" for ch in task.name)
        path = out if len(tasks) == 1 else out.with_name(f"{out.stem}.{fname}{n}{out.suffix}")
        build(sch, tensors, target=task.target, name=fname).export_library(str(path))
        print(f"{task.name}{task.args} -> {path}  ({'fallback config' if cfg.is_fallback else f'config {cfg}'})")
    return 0


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples keep their lines; options wrap as usual."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _count(text: str) -> int:
    """argparse type: a whole number >= 0 (trials, runs, leaders)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _milliseconds(text: str) -> float:
    """argparse type: a duration in milliseconds, 0 up to a minute."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of milliseconds, got {text!r}") from None
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"must be 0 to 60000 milliseconds, got {text}")
    return value


def _seconds(text: str) -> float:
    """argparse type: a timeout, a finite number of seconds up to a day (inf would overflow the wait)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    if not math.isfinite(value) or value > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, at most {MAX_TIMEOUT_S:g} "
                                         f"(a day), got {text}")
    return value


_MAIN_HELP = """\
tensorlang: declare tensor computations, schedule them, tune the schedules, build fast kernels.

`tensorlang COMMAND --help` explains a command, with examples.  A first session:
  tensorlang tune --target=llvm examples/matmul.py     # ~20-40 s on 2 cores, log in tuning_logs/
  tensorlang best tuning_logs/matmul.llvm.json
  tensorlang build --log tuning_logs/matmul.llvm.json examples/matmul.py -o matmul.so

exit status: 0 done, 1 a problem with your input (the message says what and where), 2 a
command-line mistake, 130/143 stopped by Ctrl-C/SIGTERM (a tuning run resumes when run again).
"""

_TUNE_HELP = """\
Tune the templates a Python file declares: for each task, search its config space, measuring
real candidates (each built in a worker process, checked against a reference on random data,
then timed), and append every trial to a tuning log as one JSON line.

The file defines tasks(target), which returns a list of autotune.task.create(...) tasks for the
target string it is given (see examples/matmul.py); with --auto, computations() instead (or
top-level SearchTask objects, made anew for --target).

Resuming: the log is read first, and configs it already holds are not measured again; --trials
counts them, so rerunning a finished command measures nothing, and rerunning a stopped one
(Ctrl-C, SIGTERM, a crash) measures only what is missing.  Only one tuning process may write a
log at a time; a second one stops at once.

Honest bests: every candidate is timed --repeat times of --number calls (more calls while a
repeat is shorter than --min-repeat-ms), and ranked by its median repeat.  Before a best is
declared, the --confirm-top fastest configs (up to 5 when more trials are within 5% of the
fastest) are re-measured side by side (their trials' libraries again, or a fresh build where a
run resumed), interleaved over --confirm-rounds rounds, each run in a fresh process; leaders
within noise of each other get as many rounds again.  The declared best is the steadiest fast
config (the lowest upper quartile of its rounds), not one that is fast only in some processes.
That confirmation is kept beside the log, in LOG.confirmed (the log keeps one line per config),
and `tensorlang best`, `tensorlang build` and autotune.apply_history_best use the confirmed
best.  The summary prints the best (the median of its rounds) with its spread (slowest minus
fastest round, over the median).

A candidate that crashes, hangs, computes a wrong answer or fails to compile is recorded as a
failed trial of that kind and the run goes on.
"""

_TUNE_EXAMPLES = """\
examples:
  tensorlang tune --target=llvm examples/matmul.py
      64 trials of the matmul template on this CPU, log tuning_logs/matmul.llvm.json
  tensorlang tune --target=llvm examples/matmul.py --trials 200 --seed 1
      resume that log up to 200 trials, with a reproducible search order
  tensorlang tune --target="llvm -mcpu=znver5" examples/conv2d.py --log logs/conv.json
      an explicit CPU and log file
  tensorlang tune --target=llvm examples/matmul.py --confirm-top 0
      declare the best straight from the trials (faster, less reproducible)
  tensorlang tune --target=cuda examples/matmul.py --tuner ga
      on the first GPU (needs the 'cuda' extra), with the genetic-algorithm tuner
  tensorlang tune --auto --target=llvm examples/matmul.py
      no template: auto-schedule the file's computations()
  tensorlang tune --cluster local:2 examples/matmul.py
      build and measure on a Ray cluster (here a local one with 2 workers)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tensorlang", description=_MAIN_HELP, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"tensorlang {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    show = sub.add_parser(
        "show", help="print the lowered loop IR of a file's schedules (or of its tuned best, --log)",
        formatter_class=_HelpFormatter,
        description="Print the loop IR that a file's schedules lower to, one entry after another.\n\n"
                    "The file defines schedules(), which returns {name: (schedule, args)}.  With --log, the\n"
                    "file's tasks(target) are used instead: for each task, the best config in the log is\n"
                    "instantiated and its loop IR and generated source (LLVM IR or CUDA C) are printed.",
        epilog="examples:\n"
               "  tensorlang show examples/matmul.py\n"
               "  tensorlang show examples/matmul.py --name matmul_blocked_128\n"
               "  tensorlang show examples/matmul.py --log tuning_logs/matmul.llvm.json")
    show.add_argument("file", help="a Python file defining schedules() (or tasks(target), with --log)")
    show.add_argument("--name", action="append", metavar="NAME",
                      help="only the entry called NAME; repeat to show several (default: all)")
    show.add_argument("--log", default=None, metavar="LOG",
                      help="show the best config of each task in this tuning log instead of schedules()")
    show.add_argument("--target", default="llvm", metavar="TARGET",
                      help="with --log: the target the tasks are made for (default: llvm)")
    show.set_defaults(func=_show)

    tune = sub.add_parser("tune", help="search the config space of a file's templates, measuring real candidates",
                          description=_TUNE_HELP, epilog=_TUNE_EXAMPLES, formatter_class=_HelpFormatter)
    tune.add_argument("file", help="a Python file defining tasks(target) (or computations(), with --auto)")
    what = tune.add_argument_group("what to tune")
    what.add_argument("--target", default="llvm", metavar="TARGET",
                      help='where the kernels will run: "llvm" (this CPU; add -mcpu=NAME or -mattr=+avx512f to '
                           'choose), "cuda" (the first GPU) or "cuda -emulate" (CUDA kernels run on the CPU, '
                           "for testing). Default: llvm")
    what.add_argument("--auto", action="store_true",
                      help="no template: auto-schedule the file's computations() (tensorlang.autoschedule); "
                           "--tuner and the runner options do not apply")
    search = tune.add_argument_group("the search")
    search.add_argument("--trials", type=_count, default=64, metavar="N",
                        help="trials per task, counting those already in the log (default: 64)")
    search.add_argument("--tuner", default="xgb", choices=["xgb", "ga", "random", "grid"],
                        help="how configs are chosen: xgb, a cost model (XGBoost) trained on the trials so far "
                             "(default); ga, a genetic algorithm; random; grid, every config in order")
    search.add_argument("--seed", type=int, default=None, metavar="S",
                        help="seed of the tuner's random choices: the same seed proposes the same configs in the "
                             "same order (default: a fresh one each run)")
    search.add_argument("--early-stopping", type=_positive_int, default=None, metavar="N",
                        help="stop a task after N trials without a new best (default: never)")
    search.add_argument("--log", default=None, metavar="LOG",
                        help="the tuning log to append to and resume from (default: tuning_logs/FILE.KIND.json, "
                             "e.g. tuning_logs/matmul.llvm.json)")
    timing = tune.add_argument_group("measuring a candidate")
    timing.add_argument("--number", type=_positive_int, default=1, metavar="N",
                        help="calls of the kernel per timed repeat, more while a repeat is shorter than "
                             "--min-repeat-ms (default: 1)")
    timing.add_argument("--min-repeat-ms", type=_milliseconds, default=10.0, metavar="MS",
                        help="a timed repeat lasts at least this long: a kernel of 0.1 ms is called 100 times "
                             "a repeat, one of 30 ms once (default: 10)")
    timing.add_argument("--repeat", type=_positive_int, default=3, metavar="N",
                        help="timed repeats per candidate; it is ranked by their median (default: 3). A "
                             "candidate whose first repeat takes over 1.5x the best median so far stops "
                             "there, and one whose repeats disagree by more than 5%% gets up to 2N")
    timing.add_argument("--fixed-repeats", action="store_true",
                        help="time every candidate exactly --repeat times, however slow or noisy")
    timing.add_argument("--confirm-top", type=_count, default=3, metavar="N",
                        help="before declaring the best, re-measure the N fastest configs (up to 5 when more trials "
                             "are within 5%% of the fastest) side by side in fresh processes and keep the "
                             "confirmation beside the log (LOG.confirmed); 0 declares the best straight from the "
                             "trials (default: 3)")
    timing.add_argument("--confirm-rounds", type=_positive_int, default=3, metavar="N",
                        help="interleaved rounds of that re-measurement (twice as many for leaders within noise "
                             "of each other); the spread printed is over them (default: 3)")
    timing.add_argument("--build-timeout", type=_seconds, default=20.0, metavar="SECONDS",
                        help="a candidate that takes longer to compile is recorded as build_timeout (default: 20)")
    timing.add_argument("--run-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="a candidate whose check and timing take longer is killed and recorded as "
                             "run_timeout (default: 10)")
    where = tune.add_argument_group("measuring on a cluster (needs the extra 'distributed': pip install "
                                    "'tensorlang[distributed]')")
    where.add_argument("--cluster", default=None, metavar="ADDRESS|local[:N]",
                       help="build and measure on a Ray cluster: its address (auto, HOST:6379), or local:N to "
                            "start one on this machine with N measuring workers (default: measure here)")
    where.add_argument("--device-class", default="match", metavar="match|all|CLASS",
                       help="with --cluster: which workers measure: those whose device matches the target "
                            "(match, the default), every kind of device (all: one record per device class), or "
                            "the class named (a key or label that `tensorlang best` prints)")
    tune.set_defaults(func=_tune)

    best = sub.add_parser(
        "best", help="the best config of each task in a tuning log, and failed trials by kind",
        formatter_class=_HelpFormatter,
        description="For each task in the log: the best config, as `tensorlang build` and apply_history_best\n"
                    "pick it (the confirmed best when the run re-measured its leaders, else the fastest median\n"
                    "repeat), its time, GFLOPS and spread, and how it was ranked; then how many trials failed,\n"
                    "by kind (compile, runtime, run_timeout, wrong_answer ...).",
        epilog="example:\n  tensorlang best tuning_logs/matmul.llvm.json")
    best.add_argument("log", help="a tuning log (JSON lines), e.g. tuning_logs/matmul.llvm.json")
    best.set_defaults(func=_best)

    plot = sub.add_parser(
        "plot", help="best GFLOPS so far against trials, for one or several logs",
        formatter_class=_HelpFormatter,
        description="Draw how the best result improved with each trial, one curve per task and log.  With\n"
                    "matplotlib installed (pip install matplotlib) and -o FILE.png, an image;\n"
                    "otherwise a text plot on the terminal.",
        epilog="examples:\n  tensorlang plot tuning_logs/matmul.llvm.json\n"
               "  tensorlang plot run1.json run2.json -o progress.png")
    plot.add_argument("logs", nargs="+", metavar="LOG", help="tuning logs to plot together")
    plot.add_argument("-o", "--output", default=None, metavar="FILE.png",
                      help="write an image there (needs matplotlib; default: a text plot)")
    plot.set_defaults(func=_plot)

    compare = sub.add_parser(
        "compare", help="the best of each task in two tuning logs, side by side",
        formatter_class=_HelpFormatter,
        description="One row per task: the best time in each log (ranked as `tensorlang best` does), their\n"
                    "ratio ('2 vs 1' above 1 means the second log's best is faster), and the number of trials\n"
                    "each log holds.",
        epilog="example:\n  tensorlang compare tuning_logs/matmul.llvm.json other-machine/matmul.llvm.json")
    compare.add_argument("log1", metavar="LOG1", help="the reference log")
    compare.add_argument("log2", metavar="LOG2", help="the log compared with it")
    compare.set_defaults(func=_compare)

    bld = sub.add_parser(
        "build", help="build a file's tasks with the best configs of a log into a shared library",
        formatter_class=_HelpFormatter,
        description="Instantiate each task of the file's tasks(target) with its best config in the log (the\n"
                    "one `tensorlang best` shows), compile it and export a shared library that\n"
                    "tensorlang.runtime.load_module loads.  A task without a record gets its fallback config,\n"
                    "with a warning.  Records measured on another CPU model or GPU are refused unless\n"
                    "--allow-other-device is given.",
        epilog="examples:\n  tensorlang build --log tuning_logs/matmul.llvm.json examples/matmul.py -o matmul.so\n"
               "  tensorlang build --auto --log tuning_logs/softmax.auto.llvm.json examples/softmax.py -o softmax.so")
    bld.add_argument("file", help="a Python file defining tasks(target)")
    bld.add_argument("--log", required=True, metavar="LOG", help="the tuning log whose best configs to use")
    bld.add_argument("--target", default="llvm", metavar="TARGET",
                     help="the target to build for, as given to tensorlang tune (default: llvm)")
    bld.add_argument("-o", "--output", required=True, metavar="FILE.so",
                     help="the library to write; with several tasks, one library each: FILE.NAMEn.so")
    bld.add_argument("--auto", action="store_true",
                     help="build the file's computations() with the best auto-scheduled candidates of the log "
                          "(written by `tensorlang tune --auto`)")
    bld.add_argument("--allow-other-device", action="store_true",
                     help="apply records measured on another CPU model, in CUDA emulation or on another "
                          "GPU architecture (refused by default)")
    bld.set_defaults(func=_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    stop = _StopOnSignal()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except TensorLangError as exc:
        print(f"tensorlang: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # an unreadable file or a full disk: the user's environment, not a bug
        print(f"tensorlang: error: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        how = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        # Only a tuning run has trials to resume; `best`, `show`, `build` ... just stopped.
        resume = ("; every finished trial is in the log, and running the same command again resumes from it"
                  if args.command == "tune" else "")
        print(f"\ntensorlang: {how}{resume}", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_PACKAGE = str(Path(__file__).resolve().parent)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """tensorlang's own warnings as one line on stderr (the line of tensorlang that raised one
    means nothing to a user of the command line); others as Python shows them."""
    if str(Path(filename).resolve()).startswith(_PACKAGE):
        print(f"tensorlang: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup (workers stopped, log closed) runs."""


class _StopOnSignal:
    """Ctrl-C or SIGTERM: raise, and raise again every 0.2 s until ``main`` has caught it.

    An exception raised by a signal handler is lost when it lands inside an at-fork hook or a
    finalizer (Python only prints "Exception ignored"), and a tuning run forks all the time; the
    timer (SIGALRM, which comes back here) makes sure the run still stops."""

    def __init__(self) -> None:
        self.pending: type[KeyboardInterrupt] | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if signum != signal.SIGALRM:
            self.pending = _Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        if self.pending is None:  # a stray alarm, not ours
            return
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        raise self.pending()


if __name__ == "__main__":
    sys.exit(main())
