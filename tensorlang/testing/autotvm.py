"""TVM's ``tvm.testing.autotvm`` helpers: a sample matmul task, sample records, a runner that
measures nothing."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import autotune as autotvm
from .. import te
from ..autotune.measure import MeasureInput, MeasureResult, Runner
from ..target.target import Target


@autotvm.template("testing/matmul")
def matmul(N: int, L: int, M: int, dtype: str) -> tuple[Any, list]:  # noqa: N803 - TVM's names
    """C = A x B with its two data axes split by tunable factors."""
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    k = s[C].op.reduce_axis[0]
    cfg = autotvm.get_config()
    cfg.define_split("tile_y", y, num_outputs=2)
    cfg.define_split("tile_x", x, num_outputs=2)
    yo, yi = cfg["tile_y"].apply(s, C, y)
    xo, xi = cfg["tile_x"].apply(s, C, x)
    s[C].reorder(yo, xo, k, yi, xi)
    return s, [A, B, C]


@autotvm.template("testing/bad_matmul")
def bad_matmul(N: int, L: int, M: int, dtype: str) -> tuple[Any, list]:  # noqa: N803 - TVM's names
    """On a target with ``-device=bad_device``, a matmul that skips the last k (a wrong answer)."""
    current = Target.current()
    if current is not None and "bad_device" in current.keys:
        A = te.placeholder((N, L), name="A", dtype=dtype)
        B = te.placeholder((L, M), name="B", dtype=dtype)
        k = te.reduce_axis((0, L - 1), name="k")
        C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
        s = te.create_schedule(C.op)
        y, x = s[C].op.axis
        cfg = autotvm.get_config()
        cfg.define_split("tile_y", y, num_outputs=2)
        cfg.define_split("tile_x", x, num_outputs=2)
        return s, [A, B, C]
    return matmul.template_func(N, L, M, dtype)


def get_sample_task(n: int = 128) -> tuple[Any, Target]:
    """(task, target) of the "testing/matmul" template on llvm."""
    target = Target("llvm")
    task = autotvm.task.create("testing/matmul", args=(n, n, n, "float32"), target=target)
    return task, target


def get_sample_records(n: int) -> list[tuple[MeasureInput, MeasureResult]]:
    """``n`` records of the sample task: config i % len(space), cost i + 1 seconds."""
    tsk, target = get_sample_task()
    records = []
    for i in range(n):
        inp = MeasureInput(str(target), tsk, tsk.config_space.get(i % len(tsk.config_space)))
        records.append((inp, MeasureResult((i + 1,), 0, i, time.time())))
    return records


class DummyRunner(Runner):
    """A runner that reports a random cost for every candidate without running it."""

    def __init__(self) -> None:
        super().__init__(1, 1)

    def run(self, measure_inputs: Any, build_results: Any) -> list[MeasureResult]:
        return [MeasureResult((np.random.random(),), 0, 0.2, time.time()) for _ in range(len(measure_inputs))]

    def get_build_kwargs(self) -> dict:
        return {}


__all__ = ["matmul", "bad_matmul", "get_sample_task", "get_sample_records", "DummyRunner"]
