"""cache_read into hybrid-script and extern readers, and cache_write of their outputs (refused)."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, tir
from tensorlang.errors import ScheduleError

rng = np.random.default_rng()


@te.hybrid.script
def _double(a):
    o = output_tensor((4, 3), "float32")  # noqa: F821 - a hybrid-script builtin
    for i in range(4):
        for j in range(3):
            o[i, j] = a[i, j] * 2.0
    return o


def _extern_double(A):
    def body(ins, outs):
        ib = tir.ir_builder.create()
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, 12, name="k") as k:
            o[k] = a[k] * 2.0
        return ib.get()
    return te.extern((4, 3), [A], body, name="ext", dtype="float32")


@pytest.mark.parametrize("make", [_double, _extern_double], ids=["hybrid", "extern"])
def test_cache_read_into_a_script_reader_feeds_it_the_cache(make):
    # The reader was rebuilt as a plain compute: its code vanished and the output kept
    # whatever the array held (a silent wrong answer).
    A = te.placeholder((4, 3), name="a")
    o = make(A)
    s = te.create_schedule(o.op)
    AL = s.cache_read(A, "global", [o.op])
    assert AL.op.name == "a.global"
    f = tl.build(s, [A, o], target="llvm")
    a = rng.standard_normal((4, 3)).astype("float32")
    out = rng.standard_normal((4, 3)).astype("float32")
    f(a, out)
    np.testing.assert_allclose(out, 2 * a, rtol=1e-6)


@pytest.mark.parametrize("make", [_double, _extern_double], ids=["hybrid", "extern"])
def test_cache_write_of_a_script_stage_is_refused(make):
    A = te.placeholder((4, 3), name="a")
    o = make(A)
    s = te.create_schedule(o.op)
    with pytest.raises(ScheduleError, match="cannot be moved into a cache; cache_read it"):
        s.cache_write(o, "local")
