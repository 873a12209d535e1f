"""TVM's ``tvm.error`` names for ported code; they are the classes of ``tensorlang.errors``."""

from . import errors
from .errors import *  # noqa: F403 - TVM's tvm.error holds the same classes

TVMError = errors.TensorLangError
InternalError = errors.LoweringError
DiagnosticError = errors.ExprError
OpError = errors.ExprError
OpNotImplemented = errors.TargetError
OpAttributeInvalid = errors.ExprError
OpAttributeRequired = errors.ExprError
OpAttributeUnImplemented = errors.TargetError

__all__ = ["TVMError", "InternalError", "DiagnosticError", "OpError", "OpNotImplemented", "OpAttributeInvalid",
           "OpAttributeRequired", "OpAttributeUnImplemented", *errors.__all__]
