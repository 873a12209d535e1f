"""What a ``TaskScheduler`` calls before and after each round of a task (TVM's
``TaskSchedulerCallback``): ``pre_tune(scheduler, task_id)`` and ``post_tune(scheduler, task_id)``.

``ShowProgress`` is tensorlang's one-line progress display (the default); ``PrintTableInfo`` and
``LogEstimatedLatency`` are TVM's table and latency file, for code that asks for them.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

# A task's best cost while it has no working candidate (TVM's value, which its callbacks test against).
NO_COST = 1e10


class TaskSchedulerCallback:
    """Base of task scheduler callbacks: both hooks do nothing unless overridden."""

    def pre_tune(self, task_scheduler: Any, task_id: int) -> None:
        """Called before task ``task_id`` gets a round."""

    def post_tune(self, task_scheduler: Any, task_id: int) -> None:
        """Called after task ``task_id`` had its round (``task_scheduler.best_costs`` updated)."""


def _known(cost: float) -> bool:
    return cost < NO_COST / 10


class PrintTableInfo(TaskSchedulerCallback):
    """Before each round, a table of every task's best latency, speed and trials, then the
    objective (``cur_score``), the trials so far and the next task, when the run is verbose."""

    def pre_tune(self, task_scheduler: Any, task_id: int) -> None:
        if not task_scheduler.verbose:
            return
        rule = "-" * 98
        lines = ["", rule, f"{'Task Scheduler':^98}", rule,
                 f"| {'ID':>4} | {'Task Description':<40} | {'Latency (ms)':>12} | {'Speed (GFLOPS)':>14} | "
                 f"{'Trials':>8} |", rule]
        for i, task in enumerate(task_scheduler.tasks):
            cost = float(task_scheduler.best_costs[i])
            latency = f"{cost * 1e3:.3f}" if _known(cost) else "-"
            speed = f"{task.compute_dag.flop_ct / cost / 1e9:.2f}" if _known(cost) else "-"
            desc = (task.desc or f"{task.name}{task.args}")[:40]
            lines.append(f"| {i:>4} | {desc:<40} | {latency:>12} | {speed:>14} | "
                         f"{task_scheduler.task_trials[i]:>8} |")
        lines.append(rule)
        total = f"{task_scheduler.cur_score * 1e3:.3f}" if all(_known(c) for c in task_scheduler.best_costs) else "-"
        lines.append(f"Estimated total latency: {total} ms\tTrials: {task_scheduler.ct}\t"
                     f"Used time : {time.time() - task_scheduler.tic:.0f} s\tNext ID: {task_id}\t")
        print("\n".join(lines), flush=True)


class LogEstimatedLatency(TaskSchedulerCallback):
    """After each round, append the elapsed time, the objective and the trials so far to
    ``log_file`` (a file this callback starts afresh), one tab-separated line per round."""

    def __init__(self, log_file: str | os.PathLike):
        self.log_file = os.fspath(log_file)
        if os.path.exists(self.log_file):  # a new run: TVM's file holds one run's curve
            os.remove(self.log_file)

    def post_tune(self, task_scheduler: Any, task_id: int) -> None:
        known = all(_known(c) for c in task_scheduler.best_costs)
        latency = f"{task_scheduler.cur_score * 1e3:.3f}" if known else "N/A"
        with open(self.log_file, "a", encoding="utf-8") as f:
            f.write(f"ElapsedTime(s)\t{time.time() - task_scheduler.tic:.0f}\tEstimatedLatency(ms)\t{latency}\t"
                    f"Trials\t{task_scheduler.ct}\n")


class ShowProgress(TaskSchedulerCallback):
    """tensorlang's progress: after each round, one line (on stderr) with every task's trials
    and best speed, the trials of the run and the time spent, when the run is verbose."""

    def post_tune(self, task_scheduler: Any, task_id: int) -> None:
        if not task_scheduler.verbose:
            return
        parts = []
        for t, s in zip(task_scheduler.tasks, task_scheduler.searches):
            parts.append(f"{t.name.removeprefix('auto/')} {s.trials_done}t "
                         + (f"{s.best_flops / 1e9:.1f}GF" if s.best_config is not None else "-"))
        line = (f"[{task_scheduler.ct}/{task_scheduler.budget}] " + " | ".join(parts)
                + f" | {time.time() - task_scheduler.tic:.0f} s")
        print(line, end="\r" if sys.stderr.isatty() else "\n", file=sys.stderr, flush=True)


__all__ = ["TaskSchedulerCallback", "PrintTableInfo", "LogEstimatedLatency", "ShowProgress"]
