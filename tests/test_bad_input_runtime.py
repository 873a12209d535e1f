"""Bad arguments to build, the device-array runtime and the packed-function registry get a
tensorlang error naming the argument, not a bare Python exception from inside."""

from __future__ import annotations

import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError, TargetError, TensorLangError


def test_build_of_one_tensor_as_args_says_to_pass_a_list():
    # It iterated the tensor and said "tensor C cannot be iterated".
    A = te.placeholder((4,), name="A")
    C = te.compute((4,), lambda i: A[i] + 1.0, name="C")
    s = te.create_schedule(C.op)
    for fn in (tl.build, tl.lower):
        with pytest.raises(TargetError, match=r"\(s, args\): args must be the list of argument tensors .* got "
                                              r"the tensor C alone; pass \[\.\.\., C\]"):
            fn(s, C)


def test_nd_empty_without_a_dtype():
    with pytest.raises(ArgumentError, match="nd.empty: a dtype is required"):
        tl.nd.empty((3,), dtype=None)


def test_device_of_a_bool():
    with pytest.raises(ArgumentError, match="device expects a device name"):
        tl.device(True)


@pytest.mark.parametrize("args, fragment", [
    ((None, lambda: 0), "register_func needs a non-empty string name"),
    ((7, lambda: 0), "register_func needs a non-empty string name"),
    (("bad_input.not_callable", 3), r"register_func\('bad_input.not_callable', f\): f must be a function"),
])
def test_register_func_refuses_what_it_could_not_call(args, fragment):
    with pytest.raises(TensorLangError, match=fragment):
        tl.register_func(*args)
    assert tl.get_global_func("bad_input.not_callable", allow_missing=True) is None


def test_register_func_decorator_of_a_non_function():
    with pytest.raises(TensorLangError, match=r"register_func\('bad_input.deco'\) decorates a function"):
        tl.register_func("bad_input.deco")(3)


def test_get_global_func_of_a_non_name():
    with pytest.raises(TensorLangError, match="get_global_func expects a function name"):
        tl.get_global_func(3, allow_missing=True)
