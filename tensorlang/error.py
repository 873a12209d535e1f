"""TVM's ``tvm.error`` names for ported code; they are the classes of ``tensorlang.errors``."""

from .errors import (
    ArgumentError,
    BuildError,
    DTypeError,
    ExprError,
    LoweringError,
    ScheduleError,
    TargetError,
    TensorLangError,
)

TVMError = TensorLangError
InternalError = LoweringError
DiagnosticError = ExprError
OpError = ExprError
OpNotImplemented = TargetError
OpAttributeInvalid = ExprError
OpAttributeRequired = ExprError
OpAttributeUnImplemented = TargetError

__all__ = ["TVMError", "InternalError", "DiagnosticError", "OpError", "OpNotImplemented", "OpAttributeInvalid",
           "OpAttributeRequired", "OpAttributeUnImplemented", "ArgumentError", "BuildError", "DTypeError",
           "ExprError", "LoweringError", "ScheduleError", "TargetError", "TensorLangError"]
