"""TVM's ``autotvm.utils``: small helpers AutoTVM code imports from there (the constant-shape
helpers are topi's)."""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import TensorLangError

SI_PREFIXES = "yzafpn\u00b5m kMGTPEZY"  # TVM's order: 10^-24 .. 10^24, " " for none


class EmptyContext:
    """A context manager that does nothing (``with EmptyContext():``)."""

    def __enter__(self) -> EmptyContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def get_rank(values: Sequence[float]) -> np.ndarray:
    """The rank of each value, 0 for the largest."""
    order = np.argsort(-np.asarray(values))
    ranks = np.empty_like(order)
    ranks[order] = np.arange(len(order))
    return ranks


def sample_ints(low: int, high: int, m: int) -> list[int]:
    """``m`` distinct ints drawn uniformly from [low, high)."""
    if m > high - low:
        raise TensorLangError(f"sample_ints: cannot draw {m} distinct ints from [{low}, {high})")
    return random.sample(range(low, high), m)


def get_func_name(func: Any) -> str:
    """The name of a function (or of what a ``functools.partial`` wraps)."""
    return getattr(func, "func_name", None) or getattr(func, "__name__", None) or get_func_name(func.func)


def format_si_prefix(x: float, si_prefix: str) -> float:
    """``x`` in units of ``si_prefix`` (one of SI_PREFIXES: "G" gives x / 1e9)."""
    if si_prefix == " ":
        return x
    if not si_prefix or si_prefix not in SI_PREFIXES:
        raise TensorLangError(f"unknown SI prefix {si_prefix!r} (one of {SI_PREFIXES.replace(' ', '')!r})")
    return x / 10 ** (3 * (SI_PREFIXES.index(si_prefix) - SI_PREFIXES.index(" ")))


__all__ = ["EmptyContext", "get_rank", "sample_ints", "get_func_name", "format_si_prefix", "SI_PREFIXES",
           "get_const_int", "get_const_tuple"]  # noqa: F822 - the last two by __getattr__


def __getattr__(name: str) -> Any:
    # TVM's autotvm.utils also holds topi's get_const_int / get_const_tuple; topi sits above
    # autotune (its templates use it), so they are looked up there only when asked for.
    if name in ("get_const_int", "get_const_tuple"):
        return getattr(importlib.import_module("tensorlang.topi.utils"), name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
