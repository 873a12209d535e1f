"""TVM's ``tir.stmt_functor``: walk and rewrite statements and expressions."""

from __future__ import annotations

from ..te.functor import post_order_visit, substitute

__all__ = ["post_order_visit", "substitute"]
