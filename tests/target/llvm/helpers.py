"""Shared helpers of the tests in this folder (split from test_llvm_codegen.py)."""

from __future__ import annotations

import os

import numpy as np

from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.target.llvm.build import build_llvm
from tensorlang.target.llvm.target import LLVMTarget
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HOST = LLVMTarget.from_string("llvm")
SERIAL, PARALLEL = S.ForKind.SERIAL, S.ForKind.PARALLEL
F32 = as_dtype("float32")
I64 = as_dtype("int64")

rng = np.random.default_rng()


# --- helpers ------------------------------------------------------------------------------

def c32(v: int) -> E.IntImm:
    return E.IntImm("int32", v)


def loop(var: E.Var, extent: E.PrimExpr | int, body: S.Stmt, kind: S.ForKind = SERIAL) -> S.For:
    ext = c32(extent) if isinstance(extent, int) else extent
    return S.For(var, c32(0), ext, kind, body)


def ld(buf: Buffer, index: E.PrimExpr, predicate: E.PrimExpr | None = None) -> E.Load:
    return E.Load(buf.dtype, buf.data, index, predicate)


def build(func: PrimFunc, target: LLVMTarget = HOST):
    return build_llvm(func, target)


def elementwise(name: str, in_dtypes: list[str], out_dtype: str, make, kind: S.ForKind = SERIAL) -> PrimFunc:
    """Out[i] = make(A[i], B[i], ...) over a symbolic length n."""
    n = E.Var("n", "int32")
    ins = [Buffer("AB"[k], as_dtype(dt), [n]) for k, dt in enumerate(in_dtypes)]
    out = Buffer("Out", as_dtype(out_dtype), [n])
    i = E.Var("i", "int32")
    body = loop(i, n, S.Store(out.data, make(*(ld(b, i) for b in ins)), i), kind)
    return PrimFunc(name, [*ins, out, n], body, user_arity=len(ins) + 1)


def rand(dtype: str, shape, low: float = -10, high: float = 10) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind in "iu":
        return rng.integers(max(low, np.iinfo(dt).min), min(high, np.iinfo(dt).max), size=shape,
                            endpoint=True).astype(dt)
    return rng.uniform(low, high, size=shape).astype(dt)


def nonzero(dtype: str, shape, low: int, high: int) -> np.ndarray:
    b = rand(dtype, shape, low, high)
    b[b == 0] = 1
    return b


def vec_loop(name: str, n: int, lanes: int, make, out_dtype: str = "float32", in_dtypes=("float32",)):
    """Out[16i:16i+16] = make(i, A, B, ...) with one vector statement per iteration."""
    ins = [Buffer("AB"[k], as_dtype(dt), [c32(n)]) for k, dt in enumerate(in_dtypes)]
    out = Buffer("Out", as_dtype(out_dtype), [c32(n)])
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    body = loop(i, n // lanes, S.Store(out.data, make(idx, *ins), idx))
    return PrimFunc(name, [*ins, out], body)
