"""Measuring candidates: build in worker processes, run in isolated processes, check answers."""

from .executor import ExecutorError, Outcome, run_isolated
from .local import (
    Builder,
    BuildResult,
    LocalBuilder,
    LocalRunner,
    MeasureOption,
    MeasureOptionError,
    Runner,
    create_measure_batch,
    measure_option,
)
from .measure import MeasureErrorNo, MeasureInput, MeasureResult, TaskRef
from .rpc import RPCRunner

__all__ = ["Builder", "Runner", "MeasureErrorNo", "MeasureInput", "MeasureResult", "TaskRef", "BuildResult",
           "LocalBuilder",
           "LocalRunner", "RPCRunner", "MeasureOption", "MeasureOptionError", "create_measure_batch", "measure_option",
           "ExecutorError", "Outcome", "run_isolated"]
