"""Measuring candidates: build in worker processes, run in isolated processes, check answers."""

from .measure import MeasureErrorNo, MeasureInput, MeasureResult, TaskRef

__all__ = ["MeasureErrorNo", "MeasureInput", "MeasureResult", "TaskRef"]
