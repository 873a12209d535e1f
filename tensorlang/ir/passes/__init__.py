"""Loop-IR passes: each module holds one ``Stmt -> Stmt`` pass and documents what it guarantees."""

from .remove_no_op import remove_no_op
from .unroll_loops import unroll_loops
from .vectorize_loops import vectorize_loops

__all__ = ["remove_no_op", "unroll_loops", "vectorize_loops"]
