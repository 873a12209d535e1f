"""Targets, code generation backends and the runtime modules they produce."""

from .target import Target, as_target

__all__ = ["Target", "as_target"]
