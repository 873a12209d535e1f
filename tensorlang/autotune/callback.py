"""Tuner callbacks ``callback(tuner, inputs, results)``: log every trial to a file, show progress.

A tuner calls each callback after every measured batch; ``tuner`` offers ``.task``,
``.best_flops`` (FLOP/s) and ``.best_config``.  Callbacks never change the tuner.  A batch may
also be the confirmation of the leaders (results whose ``confirm`` is set): a log file keeps it
beside itself (``record.confirmations_path``), the progress displays skip it (it is not a trial).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from . import record
from .measure.measure import MeasureInput, MeasureResult

Callback = Callable[[Any, Sequence[MeasureInput], Sequence[MeasureResult]], None]


def log_to_file(file_out: str | os.PathLike | TextIO, protocol: str = "json") -> Callback:
    """Append every measured trial to the JSON-lines log ``file_out`` (a path, or an open text
    file as TVM allows; see ``record``).  ``protocol`` must be "json", the only format."""
    if protocol != "json":
        raise record.RecordError(f"log_to_file: protocol {protocol!r} is not supported (only 'json')")
    if hasattr(file_out, "write"):
        stream = file_out

        def _write(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
            lines = [record.encode(inp, res) + "\n" for inp, res in zip(inputs, results)]
            if lines and _ends_mid_line(stream):
                lines[0] = "\n" + lines[0]  # a writer killed mid-line left no newline: ours stays whole
            for line in lines:
                stream.write(line)
            stream.flush()

        return _write
    # A log that cannot be written (a folder, /dev/null, read-only) fails here, before the
    # first batch is measured, not after it (whose trials would be lost).
    path = record.check_writable(file_out)
    from .measure.scratch import sweep_orphans_once
    sweep_orphans_once()  # the scratch folders of a killed run this one resumes, even if it measures nothing

    def _log(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        pairs = list(zip(inputs, results))
        record.append(path, [(inp, res) for inp, res in pairs if res.confirm is None])
        # Confirmations re-measure configs the log has: they go beside it (record module docstring).
        record.append_confirmations(path, [(inp, res) for inp, res in pairs if res.confirm is not None])

    return _log


def _ends_mid_line(stream: TextIO) -> bool:
    """Whether the file under the open ``stream`` ends without a newline (a log whose writer was
    killed mid-line); False for a stream that is not a file on disk."""
    try:
        stream.flush()
        size = os.fstat(stream.fileno()).st_size
        if not size:
            return False
        with open(stream.name, "rb") as f:  # the stream itself may be write-only
            f.seek(size - 1)
            return f.read(1) != b"\n"
    except (AttributeError, OSError, TypeError, ValueError):  # io.StringIO, a pipe, a socket ...
        return False


def _gflops(flop: float, res: MeasureResult) -> float:
    cost = record.record_cost(res)
    return flop / cost / 1e9 if flop and 0 < cost < math.inf else 0.0


def _trials(results: Sequence[MeasureResult]) -> list[MeasureResult]:
    """The trials of a batch (a confirmation of the leaders is not one)."""
    return [r for r in results if r.confirm is None]


class Monitor:
    """A callback that keeps each trial's score (FLOP/s by its mean cost, 0 for a failure) and
    timestamp (TVM's ``autotvm.callback.Monitor``); confirmations of the leaders are skipped,
    they are not trials."""

    def __init__(self) -> None:
        self.scores: list[float] = []
        self.timestamps: list[float] = []

    def __call__(self, tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        for inp, res in zip(inputs, results):
            if res.confirm is not None:
                continue
            flop = getattr(inp.task, "flop", 0.0) or 0.0
            self.scores.append(flop / res.mean_cost if res.ok and res.costs else 0.0)
            self.timestamps.append(float(res.timestamp))

    def reset(self) -> None:
        """Forget every trial seen."""
        self.scores = []
        self.timestamps = []

    def trial_scores(self) -> np.ndarray:
        """The score of each trial, in order."""
        return np.array(self.scores)

    def trial_timestamps(self) -> np.ndarray:
        """The timestamp of each trial, in order."""
        return np.array(self.timestamps)


def progress_bar(total: int, prefix: str = "", si_prefix: str = "G", file: TextIO | None = None) -> Callback:
    """Show trials done/total, the best GFLOPS of the last batch and overall (milliseconds when
    the task has no operation count, as a sparse reduction), errors and elapsed seconds, on
    ``file`` (default: stderr; ``si_prefix`` is accepted for TVM compatibility).  A terminal
    gets one line rewritten in place; a file or pipe gets a line about every 10% of ``total``
    and one at the end."""
    start = time.perf_counter()
    step = max(1, math.ceil(total / 10)) if total > 0 else 1
    state = {"done": 0, "errors": 0, "best": 0.0, "best_ms": math.inf, "next": step, "finished": False}
    kinds: dict[str, int] = {}

    def _progress(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        results = _trials(results)
        if not results:
            return
        out = file if file is not None else sys.stderr  # looked up now, so redirecting stderr later works
        flop = float(getattr(getattr(tuner, "task", None), "flop", 0.0) or 0.0)
        batch_best = max((_gflops(flop, r) for r in results), default=0.0)
        state["done"] += len(results)
        state["errors"] += sum(1 for r in results if not r.ok)
        for r in results:
            if not r.ok:
                kinds[r.error_no.kind] = kinds.get(r.error_no.kind, 0) + 1
        # The tuner's own figure counts when it knows better (say, it resumed from a log).
        state["best"] = max(state["best"], batch_best, float(getattr(tuner, "best_flops", 0.0) or 0.0) / 1e9)
        done = state["done"]
        if flop:
            figures = f"batch best {batch_best:9.2f} GFLOPS | best {state['best']:9.2f} GFLOPS"
        else:  # no operation count (a reduction whose length is data): times instead
            batch_ms = min((record.record_cost(r) * 1e3 for r in results if r.ok), default=math.inf)
            state["best_ms"] = min(state["best_ms"], batch_ms)
            figures = f"batch best {batch_ms:9.3f} ms | best {state['best_ms']:9.3f} ms"
        line = (f"{prefix}[{done:>{len(str(total))}d}/{total}] {figures} | errors {state['errors']}{_by_kind(kinds)} | "
                f"{time.perf_counter() - start:7.1f} s")
        at_end = done >= total
        isatty = getattr(out, "isatty", None)
        if isatty is not None and isatty():
            out.write("\r" + line + ("\n" if at_end and not state["finished"] else ""))
        elif done >= state["next"] or (at_end and not state["finished"]):
            out.write(line + "\n")
            state["next"] = (done // step + 1) * step
        if at_end:
            state["finished"] = True
        out.flush()

    return _progress


def _by_kind(kinds: dict[str, int]) -> str:
    """" (compile 2, runtime 1)" for failed trials, "" when none failed."""
    if not kinds:
        return ""
    return " (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) + ")"


def tune_progress(total: int, label: str = "", file: TextIO | None = None) -> Callback:
    """The progress display of ``tensorlang tune``.  On a terminal: a tqdm bar with trials
    done/total, rate and ETA, the best GFLOPS so far and its share of this machine's measured
    FMA peak (``roofline.machine_roofline``, measured once and cached), and failures by kind.
    Elsewhere (a file, a pipe, CI): ``progress_bar``'s line about every 10% of ``total``.

    tqdm rather than rich: one small pure-Python package that already knows rate, ETA, terminal
    width and non-terminal output, which is all this needs."""
    out = file if file is not None else sys.stderr
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return progress_bar(total, prefix=label, file=file)
    from tqdm import tqdm

    from .roofline import machine_roofline
    roof = machine_roofline()
    peak = roof.peak_gflops(roof.num_cores)
    bar = tqdm(total=total, desc=label.strip() or "tuning", unit="trial", file=out, dynamic_ncols=True)
    kinds: dict[str, int] = {}
    best = [0.0, math.inf]  # GFLOPS, and milliseconds for a task without an operation count

    def _progress(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        results = _trials(results)
        if not results:
            return
        flop = float(getattr(getattr(tuner, "task", None), "flop", 0.0) or 0.0)
        for r in results:
            if not r.ok:
                kinds[r.error_no.kind] = kinds.get(r.error_no.kind, 0) + 1
        best[0] = max([best[0], float(getattr(tuner, "best_flops", 0.0) or 0.0) / 1e9]
                      + [_gflops(flop, r) for r in results])
        best[1] = min([best[1], *(record.record_cost(r) * 1e3 for r in results if r.ok)])
        share = f" ({100 * best[0] / peak:.0f}% of FMA peak)" if peak > 0 else ""
        figure = f"{best[0]:.2f} GFLOPS{share}" if flop else f"{best[1]:.3f} ms"
        failed = sum(kinds.values())
        bar.set_postfix_str(f"best {figure} | errors {failed}{_by_kind(kinds)}", refresh=False)
        bar.update(len(results))
        if bar.n >= total:
            bar.close()

    return _progress
