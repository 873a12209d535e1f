"""ir.verify: each invariant accepts lowered IR and catches the node that breaks it."""

from __future__ import annotations

import pytest

from tensorlang.errors import LoweringError
from tensorlang.ir import stmt as S
from tensorlang.ir.verify import INVARIANTS, verify
from tensorlang.te import expr as E
from tensorlang.te import placeholder

I32, F32 = "int32", "float32"


def c32(v: int) -> E.IntImm:
    return E.IntImm(I32, v)


def test_lanes_match_catches_a_vector_value_at_a_scalar_index():
    buf = E.Var("A", "handle")
    good = S.Store(buf, E.Broadcast(E.FloatImm(F32, 1.0), 4), E.Ramp(c32(0), c32(1), 4))
    verify(good, ["lanes_match"], "test")
    bad = S.Store(buf, E.Broadcast(E.FloatImm(F32, 1.0), 4), c32(0))
    with pytest.raises(LoweringError, match="after test: invariant 'lanes_match'.*4-lane value .* 1-lane index"):
        verify(bad, ["lanes_match"], "test")


def test_flat_catches_provide():
    A = placeholder((4,), name="A")
    with pytest.raises(LoweringError, match="'flat'.*Provide remains"):
        verify(S.Provide(A, E.FloatImm(F32, 0.0), [c32(1)]), ["flat"], "storage_flatten")


@pytest.mark.parametrize("kind,name", [(S.ForKind.UNROLLED, "no_unrolled_loops"),
                                       (S.ForKind.VECTORIZED, "no_vectorized_loops")])
def test_loop_kinds(kind, name):
    i = E.Var("i", I32)
    body = S.Store(E.Var("A", "handle"), E.FloatImm(F32, 1.0), i)
    verify(S.For(i, c32(0), c32(8), S.ForKind.SERIAL, body), [name], "x")
    with pytest.raises(LoweringError, match=f"'{name}'.*loop i is still {kind.name}"):
        verify(S.For(i, c32(0), c32(8), kind, body), [name], "x")


def test_no_trivial_loops_spares_gpu_bindings():
    i = E.Var("i", I32)
    body = S.Store(E.Var("A", "handle"), E.FloatImm(F32, 1.0), i)
    verify(S.For(i, c32(0), c32(1), S.ForKind.THREAD_BINDING, body, "threadIdx.x"), ["no_trivial_loops"], "x")
    with pytest.raises(LoweringError, match="constant extent 1"):
        verify(S.For(i, c32(0), c32(1), S.ForKind.SERIAL, body), ["no_trivial_loops"], "x")


def test_every_invariant_has_a_checker():
    assert set(INVARIANTS) == {"lanes_match", "flat", "no_unrolled_loops", "no_vectorized_loops",
                               "no_trivial_loops"}


def test_no_nested_allocation_catches_a_buffer_allocated_inside_itself():
    buf = E.Var("L", "handle")
    store = S.Store(buf, E.FloatImm(F32, 1.0), c32(0))
    siblings = S.SeqStmt([S.Allocate(buf, F32, c32(2), "local", store), S.Allocate(buf, F32, c32(2), "local", store)])
    verify(siblings, ["no_nested_allocation"], "x")  # one after the other (unrolled copies): fine
    nested = S.Allocate(buf, F32, c32(2), "local", siblings)
    with pytest.raises(LoweringError, match="'no_nested_allocation'.*buffer L is allocated again inside its own"):
        verify(nested, ["no_nested_allocation"], "inject_double_buffer")
