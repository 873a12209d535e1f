"""TVM's ``tvm.contrib.pickle_memoize.memoize``: cache a function's results by its arguments
(test files wrap their numpy reference computations in it).  The cache lives for the process:
TVM's also pickles it to disk at exit, which only saves time across runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def memoize(key: str, save_at_exit: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@memoize("topi.tests.test_topi_conv2d.verify_conv2d")``: calls with equal (hashable)
    arguments return the first call's result."""
    if not isinstance(key, str):
        raise TypeError(f"memoize expects a key string, got {key!r}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        cache: dict[tuple, Any] = {}

        @functools.wraps(fn)
        def memoized(*args: Any) -> Any:
            for a in args:
                if not isinstance(a, (int, float, str, bool, tuple, type(None))):
                    raise TypeError(f"memoize('{key}'): argument {a!r} cannot be a cache key (use numbers, "
                                    f"strings and tuples)")
            if args not in cache:
                cache[args] = fn(*args)
            return cache[args]
        return memoized
    return deco


__all__ = ["memoize"]
