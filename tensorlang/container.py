"""TVM's ``tvm.container`` names that ported code checks results against."""

from .schedule.bound_map import Map

__all__ = ["Map"]
