"""Tuner callbacks ``callback(tuner, inputs, results)``: log every trial to a file, show progress.

A tuner calls each callback after every measured batch; ``tuner`` offers ``.task``,
``.best_flops`` (FLOP/s) and ``.best_config``.  Callbacks never change the tuner.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from . import record
from .measure.measure import MeasureInput, MeasureResult

Callback = Callable[[Any, Sequence[MeasureInput], Sequence[MeasureResult]], None]


def log_to_file(file_out: str | os.PathLike | TextIO, protocol: str = "json") -> Callback:
    """Append every measured trial to the JSON-lines log ``file_out`` (a path, or an open text
    file as TVM allows; see ``record``).  ``protocol`` must be "json", the only format."""
    if protocol != "json":
        raise ValueError(f"log_to_file: protocol {protocol!r} is not supported (only 'json')")
    if hasattr(file_out, "write"):
        stream = file_out

        def _write(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
            for inp, res in zip(inputs, results):
                stream.write(record.encode(inp, res) + "\n")
            stream.flush()

        return _write
    path = os.fspath(file_out)

    def _log(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        record.append(path, zip(inputs, results))

    return _log


def _gflops(flop: float, res: MeasureResult) -> float:
    cost = res.mean_cost
    return flop / cost / 1e9 if res.ok and flop and 0 < cost < math.inf else 0.0


def progress_bar(total: int, prefix: str = "", si_prefix: str = "G", file: TextIO | None = None) -> Callback:
    """Show trials done/total, the best GFLOPS of the last batch and overall, errors and elapsed
    seconds, on ``file`` (default: stderr; ``si_prefix`` is accepted for TVM compatibility,
    figures are always GFLOPS).  A terminal gets one line rewritten in place; a file or
    pipe gets a line about every 10% of ``total`` and one at the end."""
    start = time.perf_counter()
    step = max(1, math.ceil(total / 10)) if total > 0 else 1
    state = {"done": 0, "errors": 0, "best": 0.0, "next": step, "finished": False}

    def _progress(tuner: Any, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        out = file if file is not None else sys.stderr  # looked up now, so redirecting stderr later works
        flop = float(getattr(getattr(tuner, "task", None), "flop", 0.0) or 0.0)
        batch_best = max((_gflops(flop, r) for r in results), default=0.0)
        state["done"] += len(results)
        state["errors"] += sum(1 for r in results if not r.ok)
        # The tuner's own figure counts when it knows better (say, it resumed from a log).
        state["best"] = max(state["best"], batch_best, float(getattr(tuner, "best_flops", 0.0) or 0.0) / 1e9)
        done = state["done"]
        line = (f"{prefix}[{done:>{len(str(total))}d}/{total}] batch best {batch_best:9.2f} GFLOPS | "
                f"best {state['best']:9.2f} GFLOPS | errors {state['errors']} | "
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
