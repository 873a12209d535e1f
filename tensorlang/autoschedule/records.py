"""Auto-scheduler candidates as tuning-log configs: a sketch and its decisions, plain JSON.

A candidate is stored as an ordinary ``ConfigEntity`` of the version-1 log format, so
``record.load_with_confirmations``, ``pick_best``, resuming and ``tensorlang best`` work unchanged:
the knob ``"sketch"`` (kind ``ot``) holds the sketch text, and one knob per slot holds its
decision (``sp`` for splits, ``ot`` for choices).  The config index is a stable 60-bit hash of
the JSON of sketch and decisions, so the same candidate always has the same index.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..autotune import record
from ..autotune.measure.measure import MeasureInput, MeasureResult
from ..autotune.space import ConfigEntity, InstantiationError, OtherOptionEntity, SplitEntity
from ..autotune.task.task import workload_key as workload_key_of
from ..errors import TensorLangError
from ..target.target import as_target
from .sketch import Sketch
from .workload_registry import parse_workload_key

SKETCH_KNOB = "sketch"
# Task names of auto-scheduling tasks in a log start with this (``auto/matmul``).
NAME_PREFIX = "auto/"


def candidate_key(sketch: Sketch, decisions: Mapping[str, Any]) -> str:
    """Canonical JSON text of a candidate (equal candidates, equal keys)."""
    return json.dumps([sketch.name, {k: decisions[k] for k in sorted(decisions)}], separators=(",", ":"))


def to_config(sketch: Sketch, decisions: Mapping[str, Any], flop: float = 0.0) -> ConfigEntity:
    """The log config of a candidate."""
    key = candidate_key(sketch, decisions)
    index = int(hashlib.sha1(key.encode()).hexdigest()[:15], 16)
    knobs: dict[str, Any] = {SKETCH_KNOB: OtherOptionEntity(sketch.name)}
    for name in sorted(decisions):
        value = decisions[name]
        knobs[name] = SplitEntity(list(value)) if isinstance(value, (list, tuple)) else OtherOptionEntity(value)
    return ConfigEntity(index, knobs, flop)


def from_config(config: Any) -> tuple[Sketch, dict[str, Any]]:
    """(sketch, decisions) of a log config; InstantiationError when it is not an auto-scheduler config."""
    try:
        knobs = config.to_json_knobs()
    except AttributeError:
        raise InstantiationError(f"{config!r} is not an auto-scheduler config") from None
    text = knobs.get(SKETCH_KNOB)
    if not isinstance(text, str):
        raise InstantiationError("config has no 'sketch' knob: it was not written by the auto-scheduler")
    decisions = {k: (list(v) if isinstance(v, list) else v) for k, v in knobs.items() if k != SKETCH_KNOB}
    return Sketch.parse(text), decisions


# -- TVM's auto_scheduler record functions, over the same JSON-lines logs ---------------------------

def load_records(filename: str | os.PathLike) -> Iterator[tuple[MeasureInput, MeasureResult]]:
    """Every trial of a tuning log (TVM's ``auto_scheduler.load_records``): one record per measured
    candidate; the re-measurements of ``LOG.confirmed`` are left out, so counting them counts trials."""
    return record.load_from_file(filename)


def save_records(filename: str | os.PathLike, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]
                 ) -> None:
    """Append trials to a tuning log (TVM's ``auto_scheduler.save_records``)."""
    record.append(filename, zip(inputs, results))


def load_best_record(filename: str | os.PathLike, workload_key: str | None = None, target: Any = None,
                     include_compatible: bool = False) -> tuple[MeasureInput, MeasureResult] | tuple[None, None]:
    """The best error-free record of ``filename``, of one workload (a task's ``workload_key`` or
    TVM's JSON form ``'["name", args...]'``) and target when given, ranked by the rule every
    reader of a log follows (``record.Ranking``, as ``task.apply_best`` and ``ApplyHistoryBest``);
    ``(None, None)`` when there is none.

    When the log's leaders were re-measured side by side (``LOG.confirmed``), the best is the
    confirmed winner's confirmation record: ``res.confirm`` is set and ``res.costs`` are its
    rounds.  ``load_records`` gives trials only, so this record is not among them and its cost
    may be lower than every trial's (a lucky short trial loses to a steadier one, whose rounds
    in fresh processes can be faster than its own first reading); its ``inp.config`` (the state)
    is always one of those trials' configs.  ``record.load_with_confirmations`` gives both."""
    keys = None if workload_key is None else {workload_key, *tvm_key_forms(workload_key)}
    tgt = None if target is None else str(as_target(target))
    ranking = record.Ranking()
    for inp, res in record.load_with_confirmations(filename):
        if keys is not None and inp.task.workload_key not in keys:
            continue
        if tgt is not None and str(inp.task.target) != tgt:
            continue
        ranking.add(inp, res)
    return ranking.best if ranking.best is not None else (None, None)


def tvm_key_forms(key: str) -> list[str]:
    """Our workload key of a TVM JSON key ``'["name", args...]'`` (none when it is not one)."""
    try:
        name, args = parse_workload_key(key)
    except TensorLangError:
        return []
    return [workload_key_of(NAME_PREFIX + name, args)]


class RecordReader:
    """The trials of a tuning log (TVM's ``auto_scheduler.RecordReader``): iterate it for
    (MeasureInput, MeasureResult) pairs, as ``load_records`` gives them, or ``read_lines``."""

    def __init__(self, filename: str | os.PathLike):
        if not isinstance(filename, (str, os.PathLike)):
            raise TensorLangError(f"RecordReader needs a log file name, got {filename!r}")
        self.filename = os.fspath(filename)

    def read_lines(self, max_lines: int | None = None, skip_lines: int = 0
                   ) -> tuple[list[MeasureInput], list[MeasureResult]]:
        """(inputs, results) of up to ``max_lines`` trials after the first ``skip_lines``."""
        for name, value in (("max_lines", max_lines), ("skip_lines", skip_lines)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise TensorLangError(f"RecordReader.read_lines: {name} must be a non-negative int, got {value!r}")
        inputs: list[MeasureInput] = []
        results: list[MeasureResult] = []
        for i, (inp, res) in enumerate(self):
            if i < skip_lines:
                continue
            if max_lines is not None and len(inputs) >= max_lines:
                break
            inputs.append(inp)
            results.append(res)
        return inputs, results

    def __iter__(self) -> Iterator[tuple[MeasureInput, MeasureResult]]:
        return load_records(self.filename)


def dump_record_to_string(inp: MeasureInput, res: MeasureResult) -> str:
    """One trial as the log line that stores it (TVM's ``measure_record.dump_record_to_string``)."""
    return record.encode(inp, res)


def load_record_from_string(text: str) -> tuple[MeasureInput, MeasureResult]:
    """The (MeasureInput, MeasureResult) of one log line; ``inp.task`` names the task by its
    workload key and target, as a record read from a log does."""
    return record.decode(text.strip())

