"""The tensorlang error hierarchy: every error tensorlang raises on bad input derives from TensorLangError."""

from __future__ import annotations


class TensorLangError(RuntimeError):
    """Base class of every error tensorlang raises about user input or compilation.

    A ``RuntimeError``, as TVM's ``TVMError`` is, so ported ``except RuntimeError`` and
    ``pytest.raises(tvm.error.TVMError)`` keep working (``tensorlang.error.TVMError`` is this class)."""


class DTypeError(TensorLangError, TypeError):
    """A dtype is unknown, or two dtypes cannot be combined or converted as asked."""


class ExprError(TensorLangError, ValueError):
    """An expression, tensor or operation was declared wrongly (arity, shape, reducer use)."""


class ScheduleError(TensorLangError, ValueError):
    """A schedule primitive was used in a way that is illegal for the stage or axis it names."""


class LoweringError(TensorLangError):
    """A schedule could not be lowered to loop IR (bounds, attachment, vectorization legality)."""


class TargetError(TensorLangError, ValueError):
    """A target string is unknown, or a schedule uses a feature the target lacks."""


class BuildError(TensorLangError):
    """Code generation, LLVM compilation, linking or loading of a module failed."""


class LaunchLimitError(BuildError):
    """A kernel needs more of a per-block resource than the device has: the schedule is invalid
    for this target (the autotuner treats it like an instantiation error)."""


class ArgumentError(TensorLangError, TypeError):
    """A compiled function was called with the wrong number, shape, dtype or layout of arrays."""


class BoundsError(TensorLangError, IndexError):
    """A compiled function built with ``-bounds-check`` accessed a buffer outside its elements."""


class FunctionNotFoundError(TensorLangError, KeyError, AttributeError):
    """A module was asked for a function it does not hold.  TVM raises ``AttributeError`` there
    and dict-style code expects ``KeyError``; this is both, so either ``except`` catches it."""

    def __str__(self) -> str:
        # KeyError's own __str__ would quote the message like a dict key.
        return str(self.args[0]) if self.args else ""


__all__ = ["TensorLangError", "DTypeError", "ExprError", "ScheduleError", "LoweringError", "TargetError",
           "BuildError", "LaunchLimitError", "ArgumentError", "BoundsError",
           "FunctionNotFoundError"]
