"""Schedules: stages, loop transformations, placement, and bound inference."""

from .bound_map import InferBound, Map
from .relations import Fuse, Singleton, Split
from .schedule import IterVarAttr, Schedule, Stage, create_schedule

__all__ = ["InferBound", "Map", "Fuse", "Singleton", "Split", "IterVarAttr", "Schedule", "Stage", "create_schedule"]
