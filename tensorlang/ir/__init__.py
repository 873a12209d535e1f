"""The loop IR: statements over te expressions, lowered functions, and the passes over them."""

from . import stmt
from .function import Buffer, PrimFunc
from .passes.lower_intrin import CallEffectKind, register_intrin_lowering, register_op_attr
from .serialization import load_json, save_json
from .stmt import *  # noqa: F403 - the statement nodes and helpers (stmt.__all__)

__all__ = ["CallEffectKind", "register_intrin_lowering", "register_op_attr", "load_json", "save_json", "Buffer",
           "PrimFunc", *stmt.__all__]
