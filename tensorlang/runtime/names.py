"""TVM's ``tvm.runtime`` class names that ported code tests against or builds with: ``Module``
(every built module), ``PackedFunc`` (any callable a module or the registry hands out),
``DataType`` (and ``DataTypeCode``), ``String`` and ``const``."""

from __future__ import annotations

from typing import Any

from ..ir.alias import AliasMeta
from ..target.abi import SignedModule
from ..target.source_module import SourceModule
from ..te.dtype import DType, as_dtype
from ..te.expr import PrimExpr
from ..te.expr import const as _const


class Module(metaclass=AliasMeta):
    """``isinstance(m, tvm.runtime.Module)`` holds for what ``tvm.build`` and ``load_module``
    return; build modules with those, not with this class."""

    _target = (SignedModule, SourceModule)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("tvm.runtime.Module cannot be built directly: use tvm.build or tvm.runtime.load_module")


class _CallableMeta(AliasMeta):
    def __instancecheck__(cls, obj: Any) -> bool:
        return callable(obj) and not isinstance(obj, type)


class PackedFunc(metaclass=_CallableMeta):
    """``isinstance(f, tvm.runtime.PackedFunc)`` holds for the functions tensorlang hands out
    (module entries, ``get_global_func`` results, ``time_evaluator``): plain Python callables."""

    _target = object

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("tvm.runtime.PackedFunc cannot be built directly: register a Python function with "
                        "tvm.register_func")


def DataType(dtype: str | DType) -> DType:  # noqa: N802 - TVM's class name
    """TVM's ``DataType("float16")``: tensorlang's dtype (``bits``, ``lanes``, ``str()``)."""
    return as_dtype(dtype)


class DataTypeCode:
    """TVM's ``DataTypeCode``: the values of ``DataType(...).type_code``."""

    INT = 0
    UINT = 1
    FLOAT = 2
    HANDLE = 3
    BFLOAT = 4


def String(value: str) -> str:  # noqa: N802 - TVM's class name
    """TVM's ``runtime.String``: a Python str here."""
    return str(value)


def const(value: Any, dtype: str | None = None) -> PrimExpr:
    """TVM's ``runtime.const``: a constant expression (as ``tir.const``)."""
    return _const(value, dtype)


__all__ = ["DataType", "DataTypeCode", "Module", "PackedFunc", "String", "const"]
