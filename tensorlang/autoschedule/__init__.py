"""Template-free auto-scheduling: a good schedule for a ``te`` computation without writing a template.

    task = autoschedule.SearchTask(matmul, args=(1024, 1024, 1024), target="llvm")
    task.tune(n_trials=64, log="tuning_logs/matmul.auto.json")
    s, args = task.apply_best("tuning_logs/matmul.auto.json")

Sketches come from rules over the computation's DAG (``sketch``), decisions from an analytic
prior of the hardware (``prior``, ``hardware``) refined by evolutionary search guided by an
XGBoost model of lowered-IR features (``search``, ``cost_model``); trials are measured and
logged exactly like template trials.  ``tune_tasks`` shares a budget among several tasks.

TVM 0.12's ``auto_scheduler`` code ports with ``from tensorlang import autoschedule as
auto_scheduler``: ``register_workload``, ``SearchTask(func=, args=, target=)``,
``task.tune(TuningOptions(num_measure_trials=, measure_callbacks=[RecordToFile(log)]))``,
``task.apply_best(log)``, ``task.print_best(log)``, ``SketchPolicy``/``XGBModel``/
``PreloadMeasuredStates`` to resume, ``TaskScheduler(tasks).tune(options)``.
"""

from .dag import ComputeDAG, SketchError
from .hardware import HardwareModel, HardwareParams, hardware_for
from .policy import PreloadCustomSketchRule, PreloadMeasuredStates, RandomModel, SketchPolicy, XGBModel
from .records import load_best_record, load_records, save_records
from .scheduler import TaskScheduler, tune_tasks
from .search import SketchSearch
from .sketch import Sketch, apply_sketch, generate_sketches
from .task import LayoutRewriteOption, SearchTask
from .tuning_options import (
           LocalBuilder,
           LocalRPCMeasureContext,
           LocalRunner,
           MeasureCallback,
           PythonBasedMeasureCallback,
           RecordToFile,
           TuningOptions,
           TuningOptionsError,
)
from .workload_registry import WorkloadError, register_workload

__all__ = ["SearchTask", "tune_tasks", "TaskScheduler", "SketchSearch", "ComputeDAG", "SketchError", "Sketch",
           "HardwareModel", "hardware_for", "apply_sketch", "generate_sketches",
           # TVM 0.12's auto_scheduler names (``from tensorlang import autoschedule as auto_scheduler``)
           "register_workload", "WorkloadError", "TuningOptions", "TuningOptionsError", "RecordToFile", "LocalBuilder",
           "LocalRunner", "LocalRPCMeasureContext", "SketchPolicy", "XGBModel", "RandomModel",
           "PreloadMeasuredStates", "PreloadCustomSketchRule", "HardwareParams", "LayoutRewriteOption", "load_records",
           "save_records", "load_best_record", "PythonBasedMeasureCallback", "MeasureCallback"]
