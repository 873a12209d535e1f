"""Template-free auto-scheduling: a good schedule for a ``te`` computation without writing a template.

    task = autoschedule.SearchTask(matmul, args=(1024, 1024, 1024), target="llvm")
    task.tune(n_trials=64, log="tuning_logs/matmul.auto.json")
    s, args = task.apply_best("tuning_logs/matmul.auto.json")

Sketches come from rules over the computation's DAG (``sketch``), decisions from an analytic
prior of the hardware (``prior``, ``hardware``) refined by evolutionary search guided by an
XGBoost model of lowered-IR features (``search``, ``cost_model``); trials are measured and
logged exactly like template trials.  ``tune_tasks`` shares a budget among several tasks.
"""

from .dag import ComputeDAG, SketchError
from .hardware import HardwareModel, hardware_for
from .scheduler import TaskScheduler, tune_tasks
from .search import SketchSearch
from .sketch import Sketch, apply_sketch, generate_sketches
from .task import SearchTask

__all__ = ["SearchTask", "tune_tasks", "TaskScheduler", "SketchSearch", "ComputeDAG", "SketchError", "Sketch",
           "HardwareModel", "hardware_for", "apply_sketch", "generate_sketches"]
