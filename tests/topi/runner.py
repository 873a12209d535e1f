"""What the topi tests share: fresh random inputs, and running a built module (or building one with
a plain schedule) on numpy arrays, its outputs filled with random garbage first so an element the
operator forgets to write shows."""

from __future__ import annotations

import contextlib

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.topi.utils import get_const_tuple

rng = np.random.default_rng()


def rand(*shape: int, dtype: str = "float32") -> np.ndarray:
    """Standard-normal data of ``shape``."""
    return rng.standard_normal(shape).astype(dtype)


def call(f, outs, arrays):
    """Run module ``f`` on the input ``arrays``; the output array (or list of them) comes back."""
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    res = [rng.standard_normal(get_const_tuple(o.shape)).astype(str(o.dtype)) for o in outs]
    f(*arrays, *res)
    return res if len(res) > 1 else res[0]


def run_plain(outs, inputs, arrays, target: str = "llvm"):
    """Build ``outs`` with a plain ``te.create_schedule`` for ``target`` and run it (``call``)."""
    out_list = outs if isinstance(outs, (list, tuple)) else [outs]
    f = tl.build(te.create_schedule([o.op for o in out_list]), list(inputs) + list(out_list), target=target)
    return call(f, outs, arrays)


@contextlib.contextmanager
def counting_calls(name):
    """The list of calls made to the packed function ``name`` while inside: it is registered again
    as a wrapper that records each call and runs the original, which is restored after."""
    original = tl.get_global_func(name)
    calls = []

    def counted(*args):
        calls.append(len(args))
        return original(*args)
    tl.register_func(name, counted, override=True)
    try:
        yield calls
    finally:
        tl.register_func(name, original, override=True)
