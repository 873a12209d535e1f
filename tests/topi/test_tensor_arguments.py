"""Every topi operator given something that is not a tensor where a tensor goes says which operator
and which argument, as a tensorlang error, instead of an AttributeError from deep inside it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ExprError, TensorLangError


def _operators() -> dict[str, object]:
    """The public compute functions of topi, topi.nn, topi.image and topi.vision (not schedules,
    target-specific strategies, testing references or helpers), found anew so new ones are checked."""
    found: dict[str, object] = {}
    for mod in (topi, topi.nn, topi.image, getattr(topi, "vision", topi)):
        for name in dir(mod):
            fn = getattr(mod, name)
            where = getattr(fn, "__module__", "") or ""
            if name.startswith("_") or not inspect.isfunction(fn) or not where.startswith("tensorlang.topi"):
                continue
            if any(part in where for part in (".cuda", ".x86", ".generic", "testing", ".utils")) or "schedule" in name:
                continue
            found.setdefault(f"{where}.{name}", fn)
    return found


OPERATORS = _operators()


def _required(fn) -> int:
    params = inspect.signature(fn).parameters.values()
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def test_the_sweep_sees_the_operators():
    names = {k.rpartition(".")[2] for k in OPERATORS}
    assert len(OPERATORS) > 150 and {"softmax", "relu", "sum", "conv2d_nchw", "sign", "exp"} <= names


@pytest.mark.parametrize("bogus", [[1.0, 2.0], "abc"], ids=["list", "str"])
def test_a_non_tensor_first_argument_is_a_tensorlang_error(bogus):
    raw = []
    for qual, fn in OPERATORS.items():
        args = [bogus] + [te.placeholder((4, 4), name=f"p{i}") for i in range(_required(fn) - 1)]
        try:
            fn(*args)
        except TensorLangError:
            pass
        except Exception as err:  # noqa: BLE001 - what the test looks for
            raw.append(f"{qual}: {type(err).__name__}: {err}")
    assert not raw, "\n".join(raw)


@pytest.mark.parametrize("call,message", [
    (lambda a: topi.exp([1.0]), "exp: x must be a tensor"),
    (lambda a: topi.sign("x"), "sign: x must be a tensor"),
    (lambda a: topi.sum([1, 2]), "sum: data must be a tensor"),
    (lambda a: topi.nn.softmax(np.ones((2, 2))), "softmax: x must be a tensor"),
    (lambda a: topi.elemwise_sum([a, 3.0]), r"elemwise_sum: xs\[1\] must be a tensor"),
    (lambda a: topi.nn.batch_matmul(a, [[1.0]]), "batch_matmul: tensor_b must be a tensor"),
    (lambda a: topi.nn.dense_pack(a, None), "dense_pack: weight must be a tensor"),
    (lambda a: topi.nn.fifo_buffer(a, "buf", axis=0), "fifo_buffer: buffer must be a tensor"),
    (lambda a: topi.reverse_sequence(a, [1, 2]), "reverse_sequence: seq_lengths must be a tensor"),
])
def test_the_error_names_the_operator_and_the_argument(call, message):
    a = te.placeholder((2, 3, 4), name="A")
    with pytest.raises(ExprError, match=message):
        call(a)


def test_checked_operators_still_compute_what_numpy_does():
    a = te.placeholder((5, 7), name="A")
    b = te.placeholder((5, 7), name="B")
    outs = [topi.sign(a), topi.nn.relu(a), topi.elemwise_sum([a, b]), topi.sum(a, axis=1)]
    s = te.create_schedule([o.op for o in outs])
    f = tl.build(s, [a, b, *outs])
    rng = np.random.default_rng()
    x, y = rng.standard_normal((5, 7)).astype("float32"), rng.standard_normal((5, 7)).astype("float32")
    got = [np.full((5, 7), np.nan, "float32") for _ in range(3)] + [np.full((5,), np.nan, "float32")]
    f(x, y, *got)
    for g, want in zip(got, [np.sign(x), np.maximum(x, 0), x + y, x.sum(axis=1)]):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)
