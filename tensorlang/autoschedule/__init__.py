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
``PreloadMeasuredStates`` to resume, ``TaskScheduler(tasks).tune(options)`` (round-robin or
gradient, a custom objective, callbacks), ``ApplyHistoryBest(log)`` for dispatch, ``RecordReader``.
Its loop-state API works too (``loop_state``): ``dag.get_init_state()``, ``state.split(...)`` and
the other steps, ``dag.apply_steps_from_state(state)``; and so do custom sketch rules
(``PreloadCustomSketchRule``, ``custom_rules``), whose sketches the search fills in.
"""

import importlib

from .. import tvm_paths
from . import cost_model, dispatcher, workload_registry
from ._ffi_api import DeserializeSearchTask, SerializeSearchTask
from .dag import ComputeDAG, SketchError
from .dispatcher import ApplyHistoryBest, ApplyHistoryBestOrSample, DispatchContext, FallbackContext
from .hardware import HardwareModel, HardwareParams, hardware_for
from .measure_input import MeasureInput, MeasureResult, recover_measure_input
from .policy import (
           EmptyPolicy,
           PreloadCustomSketchRule,
           PreloadMeasuredStates,
           RandomModel,
           SearchPolicy,
           SketchPolicy,
           XGBModel,
)
from .records import (
           RecordReader,
           dump_record_to_string,
           load_best_record,
           load_record_from_string,
           load_records,
           save_records,
)
from .scheduler import TaskScheduler, tune_tasks
from .scheduler_callbacks import LogEstimatedLatency, PrintTableInfo, ShowProgress, TaskSchedulerCallback
from .search import SketchSearch
from .sketch import Sketch, apply_sketch, generate_sketches
from .task import DeprecatedAPIError, LayoutRewriteOption, SearchTask, auto_schedule, create_task
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
from .workload_registry import WorkloadError, make_workload_key, register_workload

# TVM's package imports its submodules, so ``auto_scheduler.measure.MeasureInput`` works after a
# plain ``from tvm import auto_scheduler``.  Those tensorlang keeps in this package are views of its
# names (``tvm_paths``): importing them here makes each an attribute, as in TVM.
tvm_paths.install()  # idempotent; this package may be imported while tensorlang's own __init__ runs
for _name in ("compute_dag", "measure", "measure_record", "search_policy", "search_task", "task_scheduler",
              "loop_state", "utils", "feature"):
    importlib.import_module(f"{__name__}.{_name}")
del _name

__all__ = ["SearchTask", "tune_tasks", "TaskScheduler", "SketchSearch", "ComputeDAG", "SketchError", "Sketch",
           "HardwareModel", "hardware_for", "apply_sketch", "generate_sketches", "ShowProgress", "DeprecatedAPIError",
           # TVM 0.12's auto_scheduler names (``from tensorlang import autoschedule as auto_scheduler``)
           "register_workload", "make_workload_key", "WorkloadError", "TuningOptions", "TuningOptionsError",
           "RecordToFile", "RecordReader", "LocalBuilder", "LocalRunner", "LocalRPCMeasureContext", "SketchPolicy",
           "EmptyPolicy", "XGBModel", "RandomModel", "PreloadMeasuredStates", "PreloadCustomSketchRule",
           "HardwareParams", "LayoutRewriteOption", "load_records", "save_records", "load_best_record",
           "dump_record_to_string", "load_record_from_string", "MeasureInput", "MeasureResult",
           "PythonBasedMeasureCallback", "MeasureCallback", "ApplyHistoryBest", "ApplyHistoryBestOrSample",
           "DispatchContext", "FallbackContext", "TaskSchedulerCallback", "PrintTableInfo", "LogEstimatedLatency",
           "create_task", "auto_schedule", "SerializeSearchTask", "DeserializeSearchTask",
           "cost_model", "dispatcher", "workload_registry", "recover_measure_input", "SearchPolicy"]
