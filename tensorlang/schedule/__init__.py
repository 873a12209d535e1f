"""Schedules: stages, loop transformations, placement, and bound inference."""

from ..te import AXIS_SEPARATOR
from ..te.extern import DeclBuffer as Buffer
from ..te.tensor import IterVar
from .bound_map import InferBound, Map, ScheduleOps, SchedulePostProcToPrimFunc
from .graph import CreateAttachPath, CreateReadGraph, PostDFSOrder, ScanFixPointAnalysis, ScanGetBody
from .inline import AutoInlineBroadcast, AutoInlineElemWise, AutoInlineInjective
from .relations import Fuse, Singleton, Split
from .schedule import IterVarAttr, Schedule, Stage, create_schedule

__all__ = ["AXIS_SEPARATOR", "AutoInlineBroadcast", "AutoInlineElemWise", "AutoInlineInjective", "Buffer", "IterVar",
           "CreateAttachPath", "CreateReadGraph", "PostDFSOrder", "ScanFixPointAnalysis", "ScanGetBody",
           "InferBound", "ScheduleOps", "SchedulePostProcToPrimFunc", "Map", "Fuse", "Singleton", "Split",
           "IterVarAttr", "Schedule", "Stage", "create_schedule"]
