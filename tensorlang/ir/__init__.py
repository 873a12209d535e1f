"""The loop IR: statements over te expressions, lowered functions, and the passes over them."""

from ..te.expr import Op, PrimExpr
from . import stmt, transform
from .function import Buffer, GlobalVar, PrimFunc
from .module import IRModule
from .passes.lower_intrin import CallEffectKind, register_intrin_lowering, register_op_attr
from .range import Range
from .serialization import load_json, save_json
from .stmt import *  # noqa: F403 - the statement nodes and helpers (stmt.__all__)
from .structural_equal import assert_structural_equal, structural_equal, structural_hash

__all__ = ["assert_structural_equal", "structural_equal", "structural_hash", "Op", "PrimExpr",
           "CallEffectKind", "register_intrin_lowering", "register_op_attr", "load_json", "save_json", "Buffer",
           "GlobalVar", "IRModule", "PrimFunc", "transform", "Range", *stmt.__all__]
