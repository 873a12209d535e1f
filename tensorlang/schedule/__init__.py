"""Schedules: stages, loop transformations, placement, and bound inference."""

from .schedule import IterVarAttr, Schedule, Stage, create_schedule

__all__ = ["IterVarAttr", "Schedule", "Stage", "create_schedule"]
