"""TVM's ``topi.sparse`` helpers for ported code (the sparse computations are ``topi.nn.sparse_*``)."""

from . import utils

__all__ = ["utils"]
