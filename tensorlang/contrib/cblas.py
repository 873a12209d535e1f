"""Matrix products as extern stages (TVM's ``tvm.contrib.cblas``), computed by numpy's BLAS
through the packed functions ``tvm.contrib.cblas.matmul`` / ``batch_matmul``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime.packed import register_func
from ..te.extern import call_packed, extern
from ..te.tensor import Tensor


def _matmul(a: Any, b: Any, c: Any, transa: Any, transb: Any) -> None:
    x, y = a.numpy(), b.numpy()
    c.copyfrom(np.matmul(x.T if transa else x, y.T if transb else y).astype(c.dtype))


def _batch_matmul(a: Any, b: Any, c: Any, transa: Any, transb: Any) -> None:
    x, y = a.numpy(), b.numpy()
    c.copyfrom(np.matmul(x.transpose(0, 2, 1) if transa else x,
                         y.transpose(0, 2, 1) if transb else y).astype(c.dtype))


register_func("tvm.contrib.cblas.matmul", _matmul, override=True)
register_func("tvm.contrib.cblas.batch_matmul", _batch_matmul, override=True)


def matmul(lhs: Tensor, rhs: Tensor, transa: bool = False, transb: bool = False, **kwargs: Any) -> Tensor:
    """lhs x rhs (each optionally transposed) as an extern stage."""
    n = lhs.shape[1] if transa else lhs.shape[0]
    m = rhs.shape[0] if transb else rhs.shape[1]
    return extern((n, m), [lhs, rhs],
                  lambda ins, outs: call_packed("tvm.contrib.cblas.matmul", ins[0], ins[1], outs[0], transa, transb),
                  name="C", **kwargs)


def batch_matmul(lhs: Tensor, rhs: Tensor, transa: bool = False, transb: bool = False, **kwargs: Any) -> Tensor:
    """Batched lhs x rhs as an extern stage."""
    b = lhs.shape[0]
    n = lhs.shape[2] if transa else lhs.shape[1]
    m = rhs.shape[1] if transb else rhs.shape[2]
    return extern((b, n, m), [lhs, rhs],
                  lambda ins, outs: call_packed("tvm.contrib.cblas.batch_matmul", ins[0], ins[1], outs[0], transa,
                                                transb), name="C", **kwargs)
