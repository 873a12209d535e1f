"""Row softmax, declared only as a computation: the auto-scheduler finds its schedule.

    tensorlang tune --auto --target=llvm examples/softmax.py
"""

from __future__ import annotations

from tensorlang import te


def softmax(n: int, m: int):
    """out[i, j] = exp(x[i, j] - max_k x[i, k]) / sum_k exp(x[i, k] - max x[i, :])."""
    X = te.placeholder((n, m), name="X")
    k1 = te.reduce_axis((0, m), name="k1")
    mx = te.compute((n,), lambda i: te.max(X[i, k1], axis=k1), name="mx")
    e = te.compute((n, m), lambda i, j: te.exp(X[i, j] - mx[i]), name="e")
    k2 = te.reduce_axis((0, m), name="k2")
    s = te.compute((n,), lambda i: te.sum(e[i, k2], axis=k2), name="s")
    return [X, te.compute((n, m), lambda i, j: e[i, j] / s[i], name="out")]


def computations():
    """Entries for `tensorlang tune --auto`: {name: (function, arguments)}."""
    return {"softmax": (softmax, (4096, 4096))}
