"""Integer powers with a huge constant exponent build at once (LLVM's optimizer took time linear in
the exponent: minutes for 2**31 inside a reduction) and stay exact with wrap-around."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

_CHILD = r"""
import numpy as np, tensorlang as tl
from tensorlang import te
A = te.placeholder((5, 3), "{dt}", "A")
k = te.reduce_axis((0, 3), "k")
C = te.compute((5,), lambda i: te.sum(te.power(A[i, k], te.const({e}, "{dt}")), axis=k), name="C")
s = te.create_schedule(C.op)
if "{target}".startswith("cuda"):
    s[C].bind(C.op.axis[0], te.thread_axis("threadIdx.x"))
f = tl.build(s, [A, C], "{target}")
info = np.iinfo("{dt}")
a = np.random.default_rng().integers(info.min, info.max, (5, 3), dtype="{dt}", endpoint=True)
c = np.zeros(5, "{dt}")
f(a, c)
bits = info.bits
want = [sum(pow(int(v) % 2 ** bits, {e}, 2 ** bits) for v in row) % 2 ** bits for row in a]
got = [int(v) % 2 ** bits for v in c]
assert got == want, (got, want)
print("ok")
"""


@pytest.mark.parametrize("dt,e,target", [("uint64", 4294967291, "llvm"), ("int32", 2147483647, "llvm"),
                                         ("uint64", 2 ** 63 + 5, "cuda -emulate")])
def test_huge_constant_exponent_builds_quickly_and_exactly(dt, e, target):
    # In a child with a deadline: the regression is a build that never ends.
    out = subprocess.run([sys.executable, "-c", _CHILD.format(dt=dt, e=e, target=target)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_small_constant_exponents_still_fold():
    A = te.placeholder((4,), "int32", "A")
    B = te.compute((4,), lambda i: te.power(A[i], 5), name="B")
    s = te.create_schedule(B.op)
    assert "tl.opaque" not in str(tl.lower(s, [A, B]))
    f = tl.build(s, [A, B])
    a = np.random.default_rng().integers(-5000, 5000, 4).astype("int32")
    b = np.zeros(4, "int32")
    f(a, b)
    np.testing.assert_array_equal(b, (a.astype(np.int64) ** 5).astype(np.int32))
