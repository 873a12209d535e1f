"""The loop IR: statements over te expressions, lowered functions, and the passes over them."""

from .function import Buffer, PrimFunc
from .passes.lower_intrin import CallEffectKind, register_intrin_lowering, register_op_attr
from .stmt import (
                   Allocate,
                   Evaluate,
                   For,
                   ForKind,
                   IfThenElse,
                   LetStmt,
                   Provide,
                   Realize,
                   SeqStmt,
                   Stmt,
                   Store,
                   is_no_op,
                   no_op,
                   seq,
)

__all__ = ["CallEffectKind", "register_intrin_lowering", "register_op_attr",
           "Buffer", "PrimFunc", "Allocate", "Evaluate", "For", "ForKind", "IfThenElse", "LetStmt",
           "Provide", "Realize", "SeqStmt", "Stmt", "Store", "is_no_op", "no_op", "seq"]
