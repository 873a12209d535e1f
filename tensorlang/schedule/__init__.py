"""Schedules: stages, loop transformations, placement, and bound inference."""

from ..te.extern import DeclBuffer as Buffer
from ..te.tensor import IterVar
from .bound_map import InferBound, Map, ScheduleOps
from .inline import AutoInlineBroadcast, AutoInlineElemWise, AutoInlineInjective
from .relations import Fuse, Singleton, Split
from .schedule import IterVarAttr, Schedule, Stage, create_schedule

__all__ = ["AutoInlineBroadcast", "AutoInlineElemWise", "AutoInlineInjective", "Buffer", "IterVar",
           "InferBound", "ScheduleOps", "Map", "Fuse", "Singleton", "Split", "IterVarAttr", "Schedule", "Stage",
           "create_schedule"]
