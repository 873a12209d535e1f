"""Tasks (TVM's ``autotvm.task`` package): what is tunable, and the paths TVM code imports from
(``autotvm.task.space``, ``autotvm.task.dispatcher``, ``autotvm.task.topi_integration``)."""

from ..dispatcher import (
    ApplyConfig,
    ApplyFixedConfig,
    ApplyHistoryBest,
    DispatchContext,
    FallbackContext,
    clear_fallback_cache,
    get_config,
)
from ..space import ConfigEntity, ConfigSpace, FallbackConfigEntity
from . import dispatcher, space, topi_integration
from .task import TEMPLATES, FlopCountError, Task, compute_flop, create, plain_schedule, template, workload_key
from .topi_integration import register_topi_compute, register_topi_schedule

__all__ = ["ApplyConfig", "ApplyFixedConfig", "ApplyHistoryBest", "compute_flop", "FlopCountError",
           "DispatchContext", "FallbackContext", "clear_fallback_cache",
           "get_config", "ConfigEntity", "ConfigSpace", "FallbackConfigEntity", "dispatcher", "space",
           "topi_integration", "TEMPLATES", "Task", "create", "plain_schedule", "template", "workload_key",
           "register_topi_compute", "register_topi_schedule"]
