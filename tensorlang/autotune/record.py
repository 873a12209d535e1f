"""Tuning logs: one self-describing JSON line per measured trial, appended whole and read back safely.

The format is published as a JSON Schema, ``tensorlang/autotune/log_schema.json``; every line
read is checked against it (plus finiteness, which JSON Schema cannot express), so a record
with a cost of 0, a negative or NaN cost, or a malformed config never reaches a tuner.

Writers append each record as one line in a single ``write`` and fsync, so a killed run leaves
only whole lines (plus at most one truncated last line, which readers skip).  Readers parse JSON
only (no pickle, no eval) and skip corrupt or foreign lines with one warning per file, so a log
is never a way to run code.  Line format (version ``"v": 1``)::

    {"v": 1, "task": {"name", "args", "workload_key", "target"}, "config": {"index", "knobs"},
     "result": {"costs", "error_no", "error_kind", "error_msg", "all_cost", "build_time",
                "run_time", "timestamp"},
     "gflops": float, "host": {"hostname", "cpu", "tensorlang"}, "device": {...}}

``device`` (optional) is the ``DeviceFingerprint`` of the worker that measured the trial
(cluster measurement writes it; see ``autotune.fingerprint``).  ``confirm`` (optional,
``{"rank", "of", "after"}``) marks a confirmation line rather than a trial: the run's leaders
re-measured together before a best was declared, one cost per interleaved round
(``Tuner.confirm_best``); ``after`` is how many lines the log held when it was written.

Confirmations live beside the log, in ``LOG.confirmed`` (``confirmations_path``), so the log
itself keeps exactly one line per measured config: a resumed or shared run never shows a config
twice there.  Readers that rank (``load_with_confirmations``, ``pick_best``) take both files and put each
confirmation right after the ``after`` first lines of the log, each file in its own order, so the
ranking rule sees what happened when.  That order needs no clock: trials stamped by cluster
workers whose clocks run ahead of the driver's still come before the confirmation that followed
them.  A confirmation without ``after`` (logs written before it existed) goes by its timestamp,
after the trials stamped no later than it.

Which config is best is decided by one rule, ``Ranking`` (``record_cost`` and ``best_records``
below), used by the tuner, ``apply_history_best``, ``pick_best``, ``best_by_device`` and every
command that names a best (``tensorlang tune/best/compare/plot``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import platform
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from importlib import resources
from typing import Any

from ..errors import TensorLangError
from .dispatcher import ApplyHistoryBest  # noqa: F401 - TVM's autotvm.record exposes it too
from .fingerprint import DeviceFingerprint, cpu_fingerprint
from .measure.measure import Confirmation, MeasureErrorNo, MeasureInput, MeasureResult, TaskRef
from .measure.timing import rank_cost
from .schema_fast_path import surely_valid
from .space import ConfigEntity, config_index

VERSION = 1
AUTOTVM_LOG_VERSION = VERSION  # TVM's name of the log format version
CONFIRMED_SUFFIX = ".confirmed"  # LOG.confirmed holds the confirmations of LOG


class RecordError(TensorLangError, ValueError):
    """A line of a tuning log is not a valid version-1 record."""


class LogFileError(TensorLangError, OSError):
    """A tuning log cannot be used: missing, a directory or device, unreadable, unwritable, or
    being written by another tuning process."""


def _check_regular_file(path: str, not_regular: str, mode: int, denied: str) -> None:
    """LogFileError unless the existing ``path`` is a regular file this process may open in ``mode``."""
    if os.path.isdir(path):
        raise LogFileError(f"{path} is a directory, not a tuning log")
    if not os.path.isfile(path):
        raise LogFileError(f"{path} {not_regular}")
    if not os.access(path, mode):
        raise LogFileError(f"{path}: permission denied ({denied})")


def check_readable(path: str | os.PathLike) -> str:
    """``path`` as a string when it is a readable regular file; LogFileError saying why not."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise LogFileError(f"{path}: no such tuning log")
    _check_regular_file(path, "is not a regular file (a tuning log must be one)",
                        os.R_OK, "cannot read the tuning log")
    return path


def check_writable(path: str | os.PathLike) -> str:
    """``path`` as a string when a tuning run can append to it (creating it and its folders if
    needed), and the confirmations beside it (``LOG.confirmed``) too where they exist; LogFileError
    before anything is measured, not after."""
    path = os.fspath(path)
    side = confirmations_path(path)
    if os.path.lexists(side):  # found now, not after the run measured every trial
        _check_regular_file(side, "is not a regular file; the confirmations beside a tuning log must be one",
                            os.W_OK, "cannot append the confirmations of the tuning log")
    if os.path.exists(path):
        _check_regular_file(path, "is not a regular file; a tuning log must be one (not /dev/null or a pipe)",
                            os.W_OK, "cannot append to the tuning log")
        return path
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise LogFileError(f"{path}: cannot create the tuning log ({existing} is not a writable folder)")
    return path


def check_not_busy(path: str | os.PathLike) -> None:
    """LogFileError when ``path`` cannot be a tuning log or another process is tuning into it
    now (it holds ``exclusive_writer``'s lock): for a front end to say so before it sets up its
    tasks.  Creates nothing and takes no lock: the run itself takes it."""
    import fcntl
    path = check_writable(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # no log yet: nobody is writing it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LogFileError(_BUSY.format(path=path)) from None
    finally:
        os.close(fd)  # closing drops the probe's lock


_BUSY = ("{path} is being written by another tuning process; wait for it to finish (it resumes from the log "
         "when run again) or use another log file")


@contextlib.contextmanager
def exclusive_writer(path: str | os.PathLike) -> Iterator[str]:
    """Hold an advisory lock on the log ``path`` for a whole tuning run, so that a second
    process tuning into the same log stops at once (LogFileError) instead of measuring the same
    configs again.  The lock is the kernel's (flock): a killed run never leaves it behind."""
    import fcntl
    path = check_writable(path)  # the confirmations beside it too
    created = not os.path.exists(path)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise LogFileError(f"{path}: cannot open the tuning log for writing ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            created = False  # another run's log
            raise LogFileError(_BUSY.format(path=path)) from None
        _LOCK_FDS.add(fd)
        from .measure.scratch import sweep_orphans_once
        sweep_orphans_once()  # the scratch folders of a killed run this one resumes
        yield path
    except Exception:
        # A run that failed before writing a trial (a file with no tasks, a bad argument) leaves
        # no empty log of its own behind.
        if created and os.fstat(fd).st_size == 0:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
    finally:
        _LOCK_FDS.discard(fd)
        os.close(fd)


# Descriptors of the log locks this process holds.  A forked measurement child inherits them,
# and an flock lives as long as any copy of its descriptor: a candidate still finishing after
# its tuning run was killed would keep the log locked against the resumed run.  Children close
# their copies at once (that does not unlock: the parent's descriptor still holds the lock).
_LOCK_FDS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _LOCK_FDS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _LOCK_FDS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


Record = tuple[MeasureInput, MeasureResult]


@functools.cache
def host_info() -> dict[str, str]:
    """Which machine measured: hostname, CPU model and tensorlang version."""
    from .. import __version__
    cpu = platform.processor()
    if not cpu or cpu in ("x86_64", "aarch64", "arm64", "i386"):  # Linux often gives only the arch
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
        except OSError:
            pass
    return {"hostname": socket.gethostname(), "cpu": cpu or platform.machine(), "tensorlang": __version__}


def measure_str_key(inp: MeasureInput, include_config: bool = True) -> str:
    """A string naming what was measured: target, task, its arguments (and the config)."""
    task = inp.task
    return f"{inp.target}|{task.name}|{task.workload_key}" + (f"|{inp.config}" if include_config else "")


def _task_fields(task: Any) -> dict[str, Any]:
    # The args as the workload key serializes them: always JSON (tensors become
    # ["TENSOR", shape, dtype]), and identical to what identifies the workload.
    key = task.workload_key
    try:
        args = json.loads(key)[1]
    except (ValueError, IndexError, TypeError):
        args = list(task.args)
    return {"name": task.name, "args": args, "workload_key": key, "target": str(task.target)}


def _gflops(task: Any, config: ConfigEntity, res: MeasureResult) -> float:
    flop = getattr(task, "flop", 0.0) or getattr(config, "flop", 0.0) or 0.0
    cost = res.mean_cost
    return flop / cost / 1e9 if res.ok and flop and 0 < cost < math.inf else 0.0


def encode(inp: MeasureInput, res: MeasureResult, protocol: str = "json") -> str:
    """One log line (without the newline) for a measured trial (``protocol``: "json" only)."""
    _check_protocol(protocol)
    costs, error_msg = _costs_and_message(res)
    record = {
        "v": VERSION,
        "task": _task_fields(inp.task),
        "config": inp.config.to_json(),
        "result": {"costs": costs, "error_no": int(res.error_no), "error_kind": MeasureErrorNo(res.error_no).kind,
                   "error_msg": error_msg, "all_cost": float(res.all_cost), "build_time": float(res.build_time),
                   "run_time": float(res.run_time), "timestamp": float(res.timestamp)},
        "gflops": _gflops(inp.task, inp.config, res),
        "host": host_info(),
    }
    device = res.device if res.device is not None else _local_device(str(inp.task.target))
    if device is not None:
        record["device"] = device.to_json()
    if res.confirm is not None:
        record["confirm"] = {"rank": int(res.confirm.rank), "of": int(res.confirm.of)}
        if res.confirm.after is not None:
            record["confirm"]["after"] = int(res.confirm.after)
    # allow_nan=False: a NaN or inf would make the line unreadable to strict JSON parsers.
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


# The cost an error result is written with, as TVM writes it: its costs may hold exception
# objects or tracebacks (TVM-style runners put them there), which are not numbers.
ERROR_COST = 1e9


def _costs_and_message(res: MeasureResult) -> tuple[list[float], str]:
    """The costs and error message a record stores: an error result's costs are
    ``[ERROR_COST]``, and what its costs held that is not a number (an exception, a traceback)
    becomes its message when it has none of its own."""
    if int(res.error_no) == MeasureErrorNo.NO_ERROR:
        return [float(c) for c in res.costs], res.error_msg
    message = res.error_msg
    if not message:
        texts = [f"{type(c).__name__}: {c}" if isinstance(c, BaseException) else str(c)
                 for c in res.costs if not isinstance(c, (int, float)) or isinstance(c, bool)]
        message = "\n".join(t for t in texts if t)
    return [ERROR_COST], message


def _local_device(target: str) -> DeviceFingerprint | None:
    """The device that measured a trial no worker labelled: this host's CPU for CPU targets
    (``llvm``, ``cuda -emulate``); None for a GPU (its worker knows it, this process must not
    touch CUDA)."""
    words = target.split()
    if words[:1] == ["llvm"] or "-emulate" in words:
        return cpu_fingerprint()
    return None


def _plain_args(value: Any) -> bool:
    """Whether a record's task arguments are what ``workload_key`` serializes: scalars and lists
    of them (a JSON object, unhashable, would break every table keyed by the arguments)."""
    if isinstance(value, list):
        return all(_plain_args(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _field(d: dict, key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise RecordError(f"missing field {where}.{key}")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, kinds):  # JSON true is not a number here
        raise RecordError(f"field {where}.{key} has the wrong type ({type(value).__name__})")
    return value


def _check_protocol(protocol: str) -> None:
    if protocol != "json":
        raise RecordError(f"protocol {protocol!r} is not supported: tuning logs are JSON lines")


def decode(line: str, protocol: str = "json") -> Record:
    """(MeasureInput, MeasureResult) of one log line; the input's task is a TaskRef and its
    config a ConfigEntity.  RecordError when the line is not a valid version-1 record."""
    _check_protocol(protocol)
    try:
        return _decode(line)
    except RecursionError:  # absurdly nested JSON: foreign or hostile, not a record
        raise RecordError("nested too deeply") from None


@functools.cache
def _validator() -> Any:
    """The JSON Schema validator of log_schema.json (the published format of a record)."""
    import jsonschema
    schema = json.loads(resources.files(__package__).joinpath("log_schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def schema_errors(data: Any) -> list[str]:
    """Why ``data`` (a parsed line) is not a valid record per log_schema.json, one message per
    problem ("result.costs.0: 0 is less than or equal to the minimum of 0"); [] when valid."""
    validator = _validator()
    if surely_valid(validator.schema, data):  # microseconds; jsonschema takes a millisecond
        return []
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "record"
        out.append(f"{where}: {err.message[:160]}")
    return out


def _decode(line: str) -> Record:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError("not a JSON object")
    if data.get("v") != VERSION:
        raise RecordError(f"unsupported record version {data.get('v')!r} (this reader knows {VERSION})")
    problems = schema_errors(data)
    if problems:
        raise RecordError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    number = (int, float)
    task = _field(data, "task", dict, "record")
    name = _field(task, "name", str, "task")
    args = _field(task, "args", list, "task")
    if not _plain_args(args):  # the writer serializes arguments as numbers, strings, null and lists of them
        raise RecordError("task.args must hold only numbers, strings, booleans, null and lists of them "
                          "(a JSON object is not a task argument)")
    key = _field(task, "workload_key", str, "task")
    target = _field(task, "target", str, "task")
    result = _field(data, "result", dict, "record")
    costs = _field(result, "costs", list, "result")
    # JSON Schema cannot say "finite" (Python's json reads Infinity and NaN); a cost of 0 would
    # divide by zero and win every comparison.
    if not all(isinstance(c, number) and not isinstance(c, bool) and math.isfinite(c) and c > 0 for c in costs):
        raise RecordError("result.costs must be a list of positive finite numbers")
    error_no = _field(result, "error_no", int, "result")
    try:
        error = MeasureErrorNo(error_no)
    except ValueError:
        raise RecordError(f"unknown error_no {error_no}") from None
    config_data = _field(data, "config", dict, "record")
    _field(config_data, "index", int, "config")
    knobs = _field(config_data, "knobs", dict, "config")
    if not all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in knobs.values()):
        raise RecordError("config.knobs must map names to [kind, value]")
    try:
        config = ConfigEntity.from_json(config_data)
    except (TensorLangError, KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"bad config: {exc}") from None
    gflops = data.get("gflops", 0.0)
    device = None
    if "device" in data:
        try:
            device = DeviceFingerprint.from_json(data["device"])
        except ValueError as exc:
            raise RecordError(f"bad device: {exc}") from None
    confirm = None
    if "confirm" in data:  # the schema checked its shape: rank and of are integers >= 1, after >= 0
        after = data["confirm"].get("after")
        confirm = Confirmation(int(data["confirm"]["rank"]), int(data["confirm"]["of"]),
                               None if after is None else int(after))
        if confirm.rank > confirm.of:
            raise RecordError(f"confirm.rank {confirm.rank} is past confirm.of {confirm.of}")
    res = MeasureResult(
        costs=tuple(float(c) for c in costs), error_no=error,
        error_msg=str(result.get("error_msg", "")),
        all_cost=_number(result, "all_cost"), timestamp=_number(result, "timestamp"),
        build_time=_number(result, "build_time"), run_time=_number(result, "run_time"), device=device,
        confirm=confirm)
    # The flop count is not stored separately; the GFLOPS figure of an error-free trial gives it back.
    flop = float(gflops) * 1e9 * res.mean_cost if isinstance(gflops, number) and res.ok and res.costs else 0.0
    config.flop = flop
    ref = TaskRef(name=name, args=_tupled(args), target=target, workload_key=key)
    return MeasureInput(target=target, task=ref, config=config), res


def _number(d: dict, key: str) -> float:
    value = d.get(key, 0.0)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise RecordError(f"field result.{key} must be a number")
    return float(value)


def _lines(path: str | os.PathLike) -> Iterator[tuple[int, str, Record]]:
    """(line number, raw line, record) for each valid line; one warning at the end about the
    invalid ones."""
    path = check_readable(path)
    # utf-8-sig: a log saved by an editor that starts files with a byte-order mark keeps its first record.
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        yield from _buffer_lines(f, os.fspath(path))


def _buffer_lines(f: Iterable[Any], name: str, stacklevel: int = 4) -> Iterator[tuple[int, str, Record]]:
    """``_lines`` of an open file (text, or bytes read as UTF-8), named ``name`` in the warning."""
    first_bad, bad, first_reason = 0, 0, ""
    for lineno, line in enumerate(f, 1):
        if isinstance(line, (bytes, bytearray)):
            line = line.decode("utf-8", errors="replace")
        text = line.strip()
        if not text:
            continue
        try:
            record = decode(text)
        except RecordError as exc:
            if not bad:
                first_bad, first_reason = lineno, str(exc)
            bad += 1
            continue
        yield lineno, text, record
    if bad:
        warnings.warn(f"{name}: skipped {bad} invalid line{'s' if bad > 1 else ''} of the tuning log "
                      f"(first: line {first_bad}: {first_reason})", stacklevel=stacklevel)


def confirmations_path(path: str | os.PathLike) -> str:
    """Where the confirmations of the log ``path`` are kept (see the module docstring)."""
    return os.fspath(path) + CONFIRMED_SUFFIX


def line_count(path: str | os.PathLike) -> int:
    """How many lines the file ``path`` holds (a last line without its newline counts; 0 when
    there is no file): what a confirmation written now follows (``Confirmation.after``)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return 0
    count, last = 0, b"\n"
    with f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _follows(confirm: tuple[int, str, Record], lineno: int, trial: Record) -> bool:
    """Whether the confirmation line ``confirm`` comes before the log's line ``lineno`` (holding
    ``trial``): by the log lines it was written after, else (older lines) by timestamp."""
    res = confirm[2][1]
    after = res.confirm.after if res.confirm is not None else None
    if after is not None:
        return after < lineno
    return res.timestamp < trial[1].timestamp


def _log_lines(path: str | os.PathLike) -> Iterator[tuple[str, Record]]:
    """(raw line, record) of a log and of its confirmations file, each confirmation placed
    after the log lines it followed (module docstring)."""
    for _, text, rec in log_lines_where(path):
        yield text, rec


def log_lines_where(path: str | os.PathLike) -> Iterator[tuple[str, str, Record]]:
    """(where, raw line, record) of a log and of its confirmations file, in the order
    ``load_with_confirmations`` gives them; ``where`` is ``FILE:LINE`` (the log's, or its
    ``.confirmed`` file's), for messages about one record."""
    name = os.fspath(path)
    trials = _lines(path)
    side = confirmations_path(path)
    if not os.path.isfile(side):
        for lineno, text, rec in trials:
            yield f"{name}:{lineno}", text, rec
        return
    confirms = (item for item in _lines(side) if item[2][1].confirm is not None)  # trials belong in the log
    pending = next(confirms, None)
    for lineno, text, rec in trials:
        # Each file is in the order it was written; this keeps that order within each file.
        while pending is not None and _follows(pending, lineno, rec):
            yield f"{side}:{pending[0]}", pending[1], pending[2]
            pending = next(confirms, None)
        yield f"{name}:{lineno}", text, rec
    while pending is not None:
        yield f"{side}:{pending[0]}", pending[1], pending[2]
        pending = next(confirms, None)


def load_with_confirmations(path: str | os.PathLike) -> Iterator[Record]:
    """The records of a log, in order (a generator), with its confirmations (``LOG.confirmed``)
    each placed after the log lines it followed: what every reader that picks a best takes.
    Corrupt, truncated or foreign lines are skipped with a single warning per file naming the
    first one and their count."""
    for _, record in _log_lines(path):
        yield record


def load_from_file(path: str | os.PathLike) -> Iterator[Record]:
    """The trials of a log, in order (a generator): TVM's ``load_from_file``, one record per
    measured config, so counting them counts trials.  The re-measurements of ``LOG.confirmed``
    are left out; ``load_with_confirmations`` gives both, as the best-pickers read them."""
    for _, _, record in _lines(path):
        yield record


def load_from_buffer(file: Any) -> Iterator[Record]:
    """The records of an open log file (TVM's ``load_from_buffer``), in order (a generator), read
    from its current position; invalid lines are skipped with one warning, as ``load_from_file``."""
    # Checked here, not in the generator, so a path passed by mistake fails at the call.
    if not hasattr(file, "read"):
        raise RecordError(f"load_from_buffer expects an open file, got {file!r:.100} (a path: load_from_file)")
    return (record for _, _, record in _buffer_lines(file, getattr(file, "name", "<buffer>"), stacklevel=3))


def split_workload(in_file: str | os.PathLike, clean: bool = True) -> list[str]:
    """Split a log into one log per workload and target, ``IN_FILE.000.wkl``, ``IN_FILE.001.wkl``
    ... in order of first appearance (TVM's ``split_workload``); with ``clean``, only the first
    record of each config is kept.  Lines are copied verbatim; returns the paths written."""
    groups: dict[str, list[str]] = {}
    seen: set[str] = set()
    for _, text, (inp, _res) in _lines(in_file):
        if clean:
            key = measure_str_key(inp)
            if key in seen:
                continue
            seen.add(key)
        groups.setdefault(measure_str_key(inp, include_config=False), []).append(text)
    paths = []
    for i, lines in enumerate(groups.values()):
        path = f"{os.fspath(in_file)}.{i:03d}.wkl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
        paths.append(path)
    return paths


def append_confirmations(path: str | os.PathLike, records: Iterable[Record]) -> None:
    """Append confirmations of the leaders beside the log ``path`` (``LOG.confirmed``), each
    marked with the number of lines the log holds now (``Confirmation.after``)."""
    after = line_count(path)
    marked = [(inp, replace(res, confirm=replace(res.confirm, after=after)) if res.confirm is not None else res)
              for inp, res in records]
    append(confirmations_path(path), marked)


def append(path: str | os.PathLike, records: Iterable[Record]) -> None:
    """Append each (MeasureInput, MeasureResult) as one line, then fsync; creates parent folders."""
    lines = [encode(inp, res) + "\n" for inp, res in records]
    if not lines:
        return
    path = os.fspath(path)
    try:
        _append_lines(path, lines)
    except LogFileError:
        raise
    except OSError as exc:  # a full disk, a log removed or made read-only mid-run: name the file
        raise LogFileError(f"{path}: cannot append to the tuning log ({exc.strerror or exc})") from None


def _append_lines(path: str, lines: list[str]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # O_APPEND: each write lands at the current end, whole, even with another writer appending.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            # A writer killed mid-line left no newline: start on a fresh line so ours stays whole.
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    lines[0] = "\n" + lines[0]
        for line in lines:
            data = line.encode("utf-8")
            written = os.write(fd, data)
            while written < len(data):  # only on a full disk or a signal: finish the line
                written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def target_kind(target: str) -> str:
    """What a target's records apply to: its kind ("llvm", "cuda"), and "cuda-emulate" for CUDA
    emulated on the CPU, whose timings say nothing about a GPU."""
    words = target.split()
    if not words:
        return target
    return "cuda-emulate" if words[0] == "cuda" and "-emulate" in words else words[0]


def record_cost(res: MeasureResult) -> float:
    """Seconds a record ranks by: the median of its repeats (a confirmation: of its rounds),
    robust to one lucky or one disturbed repeat; inf for a failed trial."""
    return rank_cost(res.costs) if res.ok and res.costs else math.inf


def is_confirmation(res: MeasureResult) -> bool:
    """Whether a record re-measures leaders (a confirmation line), rather than being a trial."""
    return res.confirm is not None


def spread(res: MeasureResult) -> float:
    """(slowest - fastest) / median of a record's costs: how steady its figure is."""
    cost = record_cost(res)
    return (max(res.costs) - min(res.costs)) / cost if math.isfinite(cost) else math.inf


class Ranking:
    """The one rule naming the best of a stream of records (fed in log order).

    A trial counts by ``record_cost`` (its median repeat) and takes the lead when it is faster.
    A confirmation's winner (rank 1) takes the lead whatever its cost: it was re-measured side
    by side with every leader measured before it, so it settles them, lucky short readings
    included; its confirmed cost is then what later trials must beat.  A confirmed loser never
    takes the lead."""

    def __init__(self) -> None:
        self.cost = math.inf
        self.best: Record | None = None

    def add(self, inp: MeasureInput, res: MeasureResult) -> bool:
        """Take one record into account; True when it is now the best."""
        cost = record_cost(res)
        if not math.isfinite(cost):
            return False
        if res.confirm is not None:
            if res.confirm.rank != 1:
                return False
        elif cost >= self.cost:  # ties: the earlier record stays
            return False
        self.cost, self.best = cost, (inp, res)
        return True


def best_records(records: Iterable[Record], key: Callable[[MeasureInput, MeasureResult], Any]
                 ) -> dict[Any, Ranking]:
    """One ``Ranking`` per ``key(inp, res)`` (records whose key is None are left out), in order
    of each key's first record."""
    table: dict[Any, Ranking] = {}
    for inp, res in records:
        k = key(inp, res)
        if k is not None:
            table.setdefault(k, Ranking()).add(inp, res)
    return table


def best_by_workload(records: Iterable[Record]) -> dict[tuple[str, str], ConfigEntity]:
    """The best config (``Ranking``) per (workload_key, full target string), and per
    (workload_key, target kind such as "llvm") across every target of that kind.  Where a full
    target string is just its kind ("llvm"), records of exactly that target win over the rest."""
    records = list(records)
    exact = best_records(records, lambda inp, res: (inp.task.workload_key, str(inp.task.target)))
    by_kind = best_records(records, lambda inp, res: (inp.task.workload_key, target_kind(str(inp.task.target))))
    merged = {**by_kind, **exact}
    return {key: r.best[0].config for key, r in merged.items() if r.best is not None}


def best_by_device(records: Iterable[Record]) -> dict[tuple[str, str, str], Record]:
    """The best record (``Ranking``) per (workload_key, target, device key); records without a
    device fingerprint count under the device key ``""``."""
    table = best_records(records, lambda inp, res: (inp.task.workload_key, str(inp.task.target),
                                                    res.device.key if res.device is not None else ""))
    return {key: r.best for key, r in table.items() if r.best is not None}


def pick_best(in_file: str | os.PathLike, out_file: str | os.PathLike) -> int:
    """Write to ``out_file`` the best line (``Ranking``) of ``in_file`` per (workload, target),
    in order of first appearance; returns how many.  The lines are copied verbatim."""
    lines = list(_log_lines(in_file))
    text_of = {id(res): text for text, (_, res) in lines}  # every record stays alive: ids are unique
    table = best_records((rec for _, rec in lines), lambda inp, res: (inp.task.workload_key, str(inp.task.target)))
    best = [text_of[id(r.best[1])] for r in table.values() if r.best is not None]
    out = os.path.abspath(os.fspath(out_file))
    if os.path.exists(out):  # the rename below would fail on a directory, or replace a device node
        _check_regular_file(os.fspath(out_file), "is not a regular file; a tuning log must be one", os.F_OK, "")
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        # Write beside the destination, then rename: out_file is never seen half-written (and may be in_file).
        fd, tmp = tempfile.mkstemp(prefix=".pick_best.", dir=os.path.dirname(out))
    except OSError as exc:
        raise LogFileError(f"{os.fspath(out_file)}: cannot write the tuning log ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(text + "\n" for text in best)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(best)


def measured_indices(records: Iterable[Record], task: Any) -> set[int]:
    """Config indices of ``task`` (same workload and target) that already have a record, errors
    included: a resumed tuner need not measure them again.  A record whose knobs no longer fit
    the task's config space (the template changed since) is none of them; one whose knobs moved
    to another index counts at its new index."""
    target = str(task.target)
    space = getattr(task, "config_space", None)
    found = set()
    for inp, _ in records:
        if inp.task.workload_key != task.workload_key or str(inp.task.target) != target:
            continue
        idx = inp.config.index if space is None else config_index(space, inp.config)
        if idx is not None:
            found.add(idx)
    return found
