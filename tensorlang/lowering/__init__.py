"""Lowering: a schedule and its arguments to a loop-IR PrimFunc, as one ordered pass pipeline.

Sits between ``schedule`` (what the user asked for) and ``ir`` (the loop IR and its passes),
so that ``ir`` never imports ``schedule``.
"""

from .pipeline import lower_schedule

__all__ = ["lower_schedule"]
