"""Arithmetic analysis over te expressions: structural equality, intervals, simplification."""

from .analyzer import (
    Analyzer,
    ConstIntBound,
    IntervalSet,
    IntSet,
    ModularSet,
    detect_linear_equation,
)
from .interval import Interval, eval_interval, union
from .simplify import Simplifier, affine_in, can_prove, const_bound, relax, simplify
from .structural import structural_equal, structural_key

__all__ = ["Analyzer", "ConstIntBound", "IntSet", "IntervalSet", "ModularSet", "detect_linear_equation",
           "Interval", "eval_interval", "union", "Simplifier", "affine_in", "can_prove", "const_bound", "relax",
           "simplify", "structural_equal", "structural_key"]
