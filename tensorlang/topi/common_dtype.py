"""The one dtype that several input tensors of an op are all converted to."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from ..te.dtype import DType, promote
from ..te.tensor import Tensor


def common_dtype(tensors: Sequence[Tensor], what: str) -> DType:
    """The promotion (te/dtype.py's rules) of every input dtype at once.  An op that joins more than
    two inputs casts each of them to this dtype directly: promoting pairwise as it combines them
    would route an int32 through float32 on its way to float64 and lose its low bits."""
    return reduce(lambda a, b: promote(a, b, f" (in {what})"), (t.dtype for t in tensors))
