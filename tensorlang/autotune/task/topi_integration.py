"""TVM's module path ``autotvm.task.topi_integration``."""

from ..topi_integration import register_topi_compute, register_topi_schedule

__all__ = ["register_topi_compute", "register_topi_schedule"]
