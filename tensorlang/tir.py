"""TVM's ``tvm.tir`` expression names, for ported code: the same objects as in ``tensorlang.te``,
plus buffers, extern/intrinsic calls and ``ir_builder`` for hand-written kernels."""

from .ir import builder as ir_builder
from .ir import stmt_functor
from .ir import user_passes as transform
from .ir.function import PrimFunc
from .ir.passes.lower_intrin import CallEffectKind
from .ir.stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store
from .te import all, any, expr, intrin
from .te.expr import *  # noqa: F403 - te's expression nodes and constructors are tir's
from .te.expr import StringImm
from .te.extern import DeclBuffer as Buffer
from .te.extern import (
    call_extern,
    call_intrin,
    call_llvm_intrin,
    call_llvm_pure_intrin,
    call_packed,
    call_pure_extern,
    decl_buffer,
    reinterpret,
)
from .te.intrin import *  # noqa: F403 - and so are its math intrinsics
from .te.operation import size_var
from .te.reduction import CommReducer, comm_reducer, max, min, sum  # noqa: A004 - TVM's tir.max is the reducer
from .te.tensor import IterVar


def SizeVar(name: str = "size", dtype: str = "int32") -> Var:  # noqa: N802, F405 - TVM's constructor name
    """A symbolic size: TVM's ``tir.SizeVar(name, dtype)``, the same variable ``te.size_var`` makes."""
    return size_var(name, dtype)

__all__ = ["CallEffectKind", "PrimFunc", "ir_builder", "stmt_functor", "transform",
           "Allocate", "Evaluate", "For", "ForKind", "IfThenElse", "LetStmt", "SeqStmt", "Stmt", "Store",
           "StringImm", "Buffer", "call_extern", "call_intrin", "call_llvm_intrin", "call_llvm_pure_intrin",
           "reinterpret", "call_packed", "call_pure_extern", "decl_buffer",
           *expr.__all__, "all", "any", *intrin.__all__,
           "CommReducer", "IterVar", "SizeVar", "comm_reducer", "max", "min", "sum"]
