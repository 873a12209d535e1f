"""Auto-tuning: config spaces, tasks, fault-tolerant measurement, tuners and tuning logs.

The names follow TVM's classic AutoTVM so templates port by changing imports.
"""

import logging

from . import callback, env, measure, record, space, task
from .dispatcher import (
    ApplyConfig,
    ApplyHistoryBest,
    DispatchContext,
    FallbackContext,
    apply_fixed_config,
    apply_history_best,
    get_config,
)
from .env import GLOBAL_SCOPE
from .measure import (
    Builder,
    BuildResult,
    LocalBuilder,
    LocalRunner,
    MeasureErrorNo,
    MeasureInput,
    MeasureOption,
    MeasureResult,
    RPCRunner,
    Runner,
    TaskRef,
    create_measure_batch,
    measure_option,
)
from .space import ConfigEntity, ConfigSpace, FallbackConfigEntity, InstantiationError
from .task import Task, create, template
from .topi_integration import register_topi_compute, register_topi_schedule

# TVM's tutorials configure the "autotvm" logger to see each trial; the tuner logs there.
logger = logging.getLogger("autotvm")

__all__ = ["GLOBAL_SCOPE", "env", "space", "task", "logger",
           "register_topi_compute", "register_topi_schedule", "FallbackContext",
           "Builder", "Runner", "ApplyConfig", "ApplyHistoryBest", "DispatchContext", "apply_history_best",
           "get_config", "MeasureErrorNo", "MeasureInput", "MeasureResult", "ConfigEntity", "ConfigSpace",
           "FallbackConfigEntity", "InstantiationError", "Task", "template", "create", "apply_fixed_config",
           "callback", "measure", "record", "BuildResult", "LocalBuilder", "LocalRunner", "RPCRunner", "MeasureOption",
           "TaskRef",
           "create_measure_batch", "measure_option"]


def __getattr__(name: str) -> object:
    # The tuners pull in xgboost and scikit-learn (utils: topi; feature: lowering): import them
    # only when used.
    if name in ("tuner", "tophub", "utils", "database", "feature"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name in ("RayBuilder", "RayRunner", "RayCluster"):  # measurement on Ray (imports ray only when used)
        from .measure import ray
        return getattr(ray, name)
    raise AttributeError(f"module 'tensorlang.autotune' has no attribute '{name}'")
