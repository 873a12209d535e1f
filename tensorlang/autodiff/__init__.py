"""Automatic differentiation of te computations (``te.gradient``): adjoints built as te computations."""

from .gradient import gradient

__all__ = ["gradient"]
