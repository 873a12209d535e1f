"""TVM's ``tvm.tir`` expression names, for ported code: the same objects as in ``tensorlang.te``,
plus buffers, extern/intrinsic calls and ``ir_builder`` for hand-written kernels."""

from typing import Any

# A package path, so TVM's module paths under tvm.tir (``from tensorlang.tir.stmt_functor import
# post_order_visit``) reach tensorlang.tvm_paths, which answers them from this module's names.
__path__: list[str] = []

from .errors import DTypeError, ExprError
from .ir import analysis, stmt, stmt_functor
from .ir import builder as ir_builder
from .ir import user_passes as transform
from .ir.alias import AliasMeta
from .ir.function import PrimFunc
from .ir.passes.lower_intrin import CallEffectKind
from .ir.stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, Provide, Realize, SeqStmt, Stmt, Store
from .ir.stmt_functor import stmt_list, stmt_seq
from .te import all, any, expr, intrin
from .te.expr import *  # noqa: F403 - te's expression nodes and constructors are tir's
from .te.expr import Call as _CallNode
from .te.expr import StringImm
from .te.expr import convert as _convert
from .te.extern import DeclBuffer as Buffer
from .te.extern import (
    call_extern,
    call_intrin,
    call_packed,
    call_pure_extern,
    decl_buffer,
    reinterpret,
    trace,
)
from .te.extern import call_llvm_intrin as _call_llvm_intrin
from .te.extern import call_llvm_pure_intrin as _call_llvm_pure_intrin
from .te.intrin import *  # noqa: F403 - and so are its math intrinsics
from .te.layout import BijectiveLayout, Layout, bijective_layout, layout
from .te.operation import size_var
from .te.reduction import CommReducer, comm_reducer, max, min, sum  # noqa: A004 - TVM's tir.max is the reducer
from .te.tensor import IterVar


class BufferStore(metaclass=AliasMeta):
    """TVM's ``BufferStore(buffer, value, indices)``: a ``Store`` (lowered buffers are flat, so
    ``indices`` holds one index); ``isinstance`` matches every Store."""

    _target = Store

    def __new__(cls, buffer: Any, value: Any, indices: Any) -> Store:
        if isinstance(buffer, Buffer):  # TVM 0.12's form: a declared buffer and one index per dimension
            return Store(buffer.data, _buffer_value(buffer, value), buffer.offset_of(_index_list(indices)))
        return Store(buffer, _convert(value), _flat_index(indices, "BufferStore"))


class BufferLoad(metaclass=AliasMeta):
    """TVM's ``BufferLoad(buffer, indices)`` of a declared buffer (``tir.decl_buffer``, one index
    per dimension): a ``Load`` of its data at the flat offset.  ``isinstance`` matches every
    ``Load`` (``.buffer``, ``.indices``).  A bare handle has no element type: read it with
    ``tir.Load(dtype, buffer, index)``."""

    _target = Load  # noqa: F405

    def __new__(cls, buffer: Any, indices: Any, *args: Any, **kwargs: Any) -> Load:  # noqa: F405
        if isinstance(buffer, Buffer):
            return Load(buffer.dtype, buffer.data, buffer.offset_of(_index_list(indices)))  # noqa: F405
        raise ExprError("tir.BufferLoad(buffer, indices): buffer must be a tir.decl_buffer (it knows the element "
                        f"type), got {type(buffer).__name__}; read a bare handle as tir.Load(dtype, buffer, index)")


def _index_list(indices: Any) -> list:
    return list(indices) if isinstance(indices, (list, tuple)) else [indices]


def _buffer_value(buffer: Any, value: Any) -> Any:
    """``value`` as an element of ``buffer``: a Python number takes the buffer's dtype; an
    expression must already have it (as TVM's BufferStore requires)."""
    if isinstance(value, (bool, int, float)):
        return const(value, buffer.dtype)  # noqa: F405
    value = _convert(value)
    if value.dtype.element_of() != buffer.dtype:
        raise DTypeError(f"tir.BufferStore: value of dtype {value.dtype} stored into buffer {buffer.name} of "
                         f"dtype {buffer.dtype}; cast it first (value.astype('{buffer.dtype}'))")
    return value


def _flat_index(indices: Any, where: str) -> Any:
    if isinstance(indices, (list, tuple)):
        if len(indices) != 1:
            raise ExprError(f"tir.{where}: lowered buffers are flat, so indices holds one index, got {len(indices)}")
        indices = indices[0]
    return _convert(indices)


class Call(metaclass=AliasMeta):
    """TVM's ``tir.Call(dtype, op, args)``: an intrinsic call (``op`` a name or ``ir.Op``; a None
    dtype is void), built as ``call_intrin`` builds it; ``isinstance`` matches every call."""

    _target = _CallNode

    def __new__(cls, dtype: Any, op: Any, args: Any = (), span: Any = None) -> Any:
        return call_intrin(dtype, getattr(op, "name", op), *list(args))


def _check_not_void(dtype: Any, where: str, name: str) -> None:
    """TVM spells an intrinsic that returns nothing with dtype "" or "void" (or None)."""
    if dtype is None or (isinstance(dtype, str) and dtype.strip() in ("", "void")):
        raise DTypeError(f"tir.{where}({dtype!r}, {name!r}, ...): void LLVM intrinsics (dtype '' or 'void', "
                         "called only for their effect) are not supported: tensorlang's LLVM code generator "
                         "gives every intrinsic call a value; use an intrinsic that returns one")


def call_llvm_intrin(dtype: Any, name: str, *args: Any) -> Any:
    """TVM's ``call_llvm_intrin``: the LLVM intrinsic ``name`` with side effects (the first
    argument is the count of overloaded argument types); a void ``dtype`` is refused by name."""
    _check_not_void(dtype, "call_llvm_intrin", name)
    return _call_llvm_intrin(dtype, name, *args)


def call_llvm_pure_intrin(dtype: Any, name: str, *args: Any) -> Any:
    """TVM's ``call_llvm_pure_intrin``: ``call_llvm_intrin`` of an intrinsic without side effects."""
    _check_not_void(dtype, "call_llvm_pure_intrin", name)
    return _call_llvm_pure_intrin(dtype, name, *args)


# te code reads tensors; a ProducerLoad is a TensorRead.
ProducerLoad = TensorRead  # noqa: F405
ProducerStore = Provide
ProducerRealize = Realize


def SizeVar(name: str = "size", dtype: str = "int32") -> Var:  # noqa: N802, F405 - TVM's constructor name
    """A symbolic size: TVM's ``tir.SizeVar(name, dtype)``, the same variable ``te.size_var`` makes."""
    return size_var(name, dtype)

# TensorIR's scheduling (TVM 0.8+) is a different stack from te's: say so where a user reaches for it.
_TENSORIR = ("Schedule", "BlockRV", "LoopRV", "Block", "BlockRealize", "While")


def __getattr__(name: str) -> Any:
    if name in _TENSORIR:
        raise AttributeError(f"module 'tensorlang.tir' has no attribute '{name}': TensorIR scheduling and its "
                             "statements are not part of tensorlang, which schedules te computations "
                             "(te.create_schedule, or tensorlang.autoschedule without a template)")
    raise AttributeError(f"module 'tensorlang.tir' has no attribute '{name}'")


__all__ = ["CallEffectKind", "PrimFunc", "analysis", "ir_builder", "stmt", "stmt_functor", "transform",
           "Allocate", "Evaluate", "For", "ForKind", "IfThenElse", "LetStmt", "SeqStmt", "Stmt", "Store",
           "BufferLoad", "BufferStore", "ProducerLoad", "ProducerRealize", "ProducerStore", "Provide", "Realize",
           "stmt_list", "stmt_seq", "BijectiveLayout", "Layout", "bijective_layout", "layout",
           "StringImm", "Buffer", "call_extern", "call_intrin", "call_llvm_intrin", "call_llvm_pure_intrin",
           "reinterpret", "call_packed", "call_pure_extern", "decl_buffer", "trace",
           *expr.__all__, "all", "any", *intrin.__all__,
           "CommReducer", "IterVar", "SizeVar", "comm_reducer", "max", "min", "sum"]
