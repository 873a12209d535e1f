"""Auto-tuning: config spaces, tasks, fault-tolerant measurement, tuners and tuning logs.

The names follow TVM's classic AutoTVM so templates port by changing imports.
"""

from . import space, task
from .dispatcher import ApplyConfig, ApplyHistoryBest, DispatchContext, apply_history_best, get_config
from .measure import MeasureErrorNo, MeasureInput, MeasureResult
from .space import ConfigEntity, ConfigSpace, FallbackConfigEntity, InstantiationError
from .task import Task, template

__all__ = ["space", "task", "ApplyConfig", "ApplyHistoryBest", "DispatchContext", "apply_history_best",
           "get_config", "MeasureErrorNo", "MeasureInput", "MeasureResult", "ConfigEntity", "ConfigSpace",
           "FallbackConfigEntity", "InstantiationError", "Task", "template"]
