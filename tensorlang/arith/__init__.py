"""Arithmetic analysis over te expressions: structural equality, intervals, simplification."""

from .interval import Interval, eval_interval, union
from .simplify import Simplifier, affine_in, can_prove, const_bound, relax, simplify
from .structural import structural_equal, structural_key

__all__ = ["Interval", "eval_interval", "union", "Simplifier", "affine_in", "can_prove", "const_bound", "relax",
           "simplify", "structural_equal", "structural_key"]
