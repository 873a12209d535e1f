"""Reference semantics (numpy / Python ints) and comparison helpers for the tensorlang fuzzer.

Every reference op takes numpy arrays and explicit dtype names and implements what tensorlang
documents (README "The expression language", te/numeric.py module doc, te/dtype.py promotion).
HI = True evaluates floats in higher precision (float64 / longdouble) for conditioning checks.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

HI = False

# This directory, and the line every generated case program starts its imports with: it makes this
# module importable (as R) when a saved case runs standalone, wherever the repository is checked out.
FUZZ_DIR = str(Path(__file__).resolve().parent)
CASE_IMPORT = f"import sys; sys.path.insert(0, {FUZZ_DIR!r}); import fuzzlib as R"

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]
ALL = INTS + FLOATS + ["bool"]


class Mismatch(AssertionError):
    pass


class SignedZero(AssertionError):
    pass


# ----------------------------------------------------------------------------- dtypes

def kind(dt):
    if dt == "bool":
        return "bool"
    return "float" if dt.startswith("float") else ("uint" if dt.startswith("uint") else "int")


def bits(dt):
    return 1 if dt == "bool" else int(dt.lstrip("uintfloat"))


def promote(a, b):
    """tensorlang's promotion (te/dtype.py), None where it is an error."""
    if a == b:
        return a
    if a == "bool":
        return b
    if b == "bool":
        return a
    ka, kb = kind(a), kind(b)
    if ka == "float" or kb == "float":
        if ka == "float" and kb == "float":
            return a if bits(a) >= bits(b) else b
        return a if ka == "float" else b
    if ka == kb:
        return a if bits(a) >= bits(b) else b
    s, u = (a, b) if ka == "int" else (b, a)
    if bits(u) >= 64:
        return None
    return f"int{max(bits(s), bits(u) * 2)}"


def fdt(dt):
    if not HI:
        return np.dtype(dt)
    return np.dtype(np.longdouble) if dt == "float64" else np.dtype("float64")


def irange(dt):
    if dt == "bool":
        return 0, 1
    b = bits(dt)
    if kind(dt) == "int":
        return -(1 << (b - 1)), (1 << (b - 1)) - 1
    return 0, (1 << b) - 1


def wrap_int(v, dt):
    if dt == "bool":
        return 1 if v else 0
    b = bits(dt)
    v &= (1 << b) - 1
    if kind(dt) == "int" and v >= 1 << (b - 1):
        v -= 1 << b
    return v


def from_obj(obj, dt):
    """object array of Python ints -> dt array, wrapping."""
    obj = np.asarray(obj, dtype=object)
    flat = [wrap_int(int(v), dt) for v in obj.reshape(-1)]
    return np.array(flat, dtype=dt).reshape(obj.shape)


def to_obj(a):
    a = np.asarray(a)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = int(a[idx])
    return out


# ----------------------------------------------------------------------------- data

def special_values(dt):
    if dt == "bool":
        return [False, True]
    if kind(dt) == "float":
        fi = np.finfo(dt)
        return [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, float(fi.max), -float(fi.max),
                float(fi.tiny), float(fi.tiny) / 4, 1e-3, 100.0, -100.0, 88.9, -103.5, 3.0, 7.0, 1e4, -1e4]
    lo, hi = irange(dt)
    vals = [0, 1, 2, 3, 7, hi, hi - 1, lo, (hi + 1) // 2, bits(dt), bits(dt) - 1, bits(dt) + 1]
    if lo < 0:
        vals += [-1, -2, -3, lo + 1, -bits(dt)]
    return vals


def gen_data(rng, shape, dt, special=0.3, small=False):
    """Random data of dtype dt with special values injected (fraction ``special``)."""
    n = int(np.prod(shape)) if shape else 1
    if dt == "bool":
        a = rng.integers(0, 2, n).astype(bool)
    elif kind(dt) == "float":
        mode = rng.integers(0, 3)
        if mode == 0 or small:
            a = rng.standard_normal(n) * 3
        elif mode == 1:
            a = rng.integers(-8, 9, n).astype("float64")
        else:
            a = rng.standard_normal(n) * np.exp(rng.uniform(-8, 8, n))
        with np.errstate(over="ignore"):
            a = a.astype(dt)
    else:
        lo, hi = irange(dt)
        if small or rng.integers(0, 2):
            lo2, hi2 = max(lo, -9), min(hi, 9)
            a = rng.integers(lo2, hi2 + 1, n, dtype=np.int64).astype(dt)
        else:
            a = np.array([rng.integers(lo, hi, endpoint=True, dtype=np.dtype(dt)) for _ in range(n)], dtype=dt)
    if special and not small:
        sp = special_values(dt)
        for k in range(n):
            if rng.random() < special:
                v = sp[rng.integers(0, len(sp))]
                with np.errstate(over="ignore", invalid="ignore"):
                    a[k] = np.array(v).astype(dt) if dt != "bool" else v
    return a.reshape(shape)


# ----------------------------------------------------------------------------- casts

def _trunc(v, b):
    """x86 cvtt: toward zero; INT_MIN for NaN or out of [-2**(b-1), 2**(b-1))."""
    if v != v or not (-(2.0 ** (b - 1)) <= v < 2.0 ** (b - 1)):
        return -(1 << (b - 1))
    return int(math.trunc(v))


def float_to_int(x, src, dst):
    """tensorlang's documented float -> int conversion (codegen.py _float_to_int doc)."""
    x = np.asarray(x)
    if src == "float16":
        x = x.astype("float32")
    out = np.empty(x.shape, dtype=object)
    b = bits(dst)
    for idx in np.ndindex(x.shape):
        v = float(x[idx])
        if b < 32 or dst == "int32":
            r = _trunc(v, 32)
        elif b == 32 or kind(dst) == "int":
            r = _trunc(v, 64)
        else:  # uint64
            if v >= 2.0 ** 63:
                r = _trunc(v - 2.0 ** 63, 64) ^ -(1 << 63)
            else:
                r = _trunc(v, 64)
        out[idx] = r
    return from_obj(out, dst)


def cast(x, src, dst):
    x = np.asarray(x)
    if src == dst and not (HI and kind(dst) == "float"):
        return x.astype(dst) if x.dtype != np.dtype(dst) else x
    if dst == "bool":
        if kind(src) == "float":
            return x != 0  # NaN != 0 is True
        return x != 0
    if src == "bool":
        return x.astype(fdt(dst) if kind(dst) == "float" else dst)
    if kind(src) == "float" and kind(dst) == "float":
        if HI:
            return x.astype(fdt(dst))
        with np.errstate(over="ignore"):
            return x.astype(dst)
    if kind(src) == "float":
        if HI:  # convert from the high-precision value
            with np.errstate(all="ignore"):
                return float_to_int(x.astype("float64"), "float64", dst)
        return float_to_int(x, src, dst)
    if kind(dst) == "float":
        with np.errstate(over="ignore"):
            return x.astype(fdt(dst))
    return x.astype(dst)  # int -> int wraps


def const(v, dt):
    if kind(dt) == "float":
        with np.errstate(over="ignore"):
            return np.array(v, dtype=fdt(dt))
    if dt == "bool":
        return np.array(bool(v))
    return np.array(v).astype(dt) if -2**63 <= v < 2**63 else np.array(v, dtype=dt)


# ----------------------------------------------------------------------------- binary ops

def _tdiv(x, y):
    if y == 0:
        return 0
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _tmod(x, y):
    return 0 if y == 0 else x - y * _tdiv(x, y)


def _shift(left, x, y, dt):
    b = bits(dt)
    if 0 <= y < b:
        return (x << y) if left else (x >> y)
    return 0 if left or x >= 0 else -1


def _ipow(x, y, dt):
    if y < 0:
        if kind(dt) == "uint":
            raise AssertionError("negative exponent for unsigned")
        if x == 1:
            return 1
        if x == -1:
            return -1 if y % 2 else 1
        return 0
    b = bits(dt)
    return pow(x, y, 1 << b)


_INT_FN = {
    "add": lambda x, y, d: x + y, "sub": lambda x, y, d: x - y, "mul": lambda x, y, d: x * y,
    "floordiv": lambda x, y, d: 0 if y == 0 else x // y,
    "floormod": lambda x, y, d: 0 if y == 0 else x % y,
    "truncdiv": lambda x, y, d: _tdiv(x, y), "truncmod": lambda x, y, d: _tmod(x, y),
    "min": lambda x, y, d: min(x, y), "max": lambda x, y, d: max(x, y),
    "band": lambda x, y, d: x & y, "bor": lambda x, y, d: x | y, "bxor": lambda x, y, d: x ^ y,
    "shl": lambda x, y, d: _shift(True, x, y, d), "shr": lambda x, y, d: _shift(False, x, y, d),
    "power": _ipow,
}
_CMP = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal, "eq": np.equal,
        "ne": np.not_equal}
_FLOAT_FN = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "floormod": np.remainder, "truncdiv": np.true_divide, "truncmod": np.fmod,
    "min": np.minimum, "max": np.maximum, "fmin": np.fmin, "fmax": np.fmax, "power": np.power,
    "atan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign, "nextafter": np.nextafter,
}


def binop(op, pdt, rdt, a, adt, b, bdt):
    """a op b with operands converted to the promoted dtype pdt; result of dtype rdt."""
    a = cast(a, adt, pdt)
    b = cast(b, bdt, pdt)
    a, b = np.broadcast_arrays(a, b)
    if op in _CMP:
        with np.errstate(all="ignore"):
            return _CMP[op](a, b)
    if op in ("land", "lor"):
        return np.logical_and(a != 0, b != 0) if op == "land" else np.logical_or(a != 0, b != 0)
    if kind(pdt) == "float":
        fn = _FLOAT_FN[op if op not in ("fmin", "fmax") else op]
        with np.errstate(all="ignore"):
            if op == "nextafter" and HI:
                return np.nextafter(a.astype(pdt), b.astype(pdt)).astype(fdt(pdt))
            if op in ("power", "atan2", "hypot") and not HI and pdt != "float64":
                return fn(a.astype("float64"), b.astype("float64")).astype(pdt)
            return fn(a, b)
    if op in ("fmin", "fmax"):
        op = op[1:]
    if op == "truediv":
        op = "truncdiv"
    if pdt == "bool":
        fn = {"add": lambda x, y, d: x | y, "sub": lambda x, y, d: x ^ y, "mul": lambda x, y, d: x & y}.get(op) \
            or _INT_FN[op]
    else:
        fn = _INT_FN[op]
    xa, xb = to_obj(a), to_obj(b)
    out = np.empty(xa.shape, dtype=object)
    for idx in np.ndindex(xa.shape):
        out[idx] = fn(xa[idx], xb[idx], pdt)
    return from_obj(out, rdt)


def ldexp(a, adt, n, ndt):
    n = np.array(np.clip(to_obj(n), -65536, 65536), dtype=np.int64).reshape(np.shape(n))
    with np.errstate(all="ignore"):
        if adt == "float16" and not HI:
            return np.ldexp(a.astype("float32"), n.astype(np.int32)).astype("float16")
        return np.ldexp(np.asarray(a, fdt(adt)), n.astype(np.int32))


# ----------------------------------------------------------------------------- unary ops

def _erf(x):
    return np.vectorize(lambda v: math.erf(float(v)) if v == v else float("nan"), otypes=[np.float64])(x)


def _sigmoid(x):
    with np.errstate(all="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


_UFN = {
    "exp": np.exp, "exp2": np.exp2, "exp10": lambda x: np.power(10.0, x) if x.dtype != np.longdouble
    else np.power(np.longdouble(10), x),
    "log": np.log, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x), "tanh": np.tanh, "sigmoid": _sigmoid, "erf": _erf,
    "floor": np.floor, "ceil": np.ceil, "round": np.rint, "trunc": np.trunc, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "log1p": np.log1p, "expm1": np.expm1,
}
EXACT_UNARY = {"floor", "ceil", "round", "trunc", "sqrt"}


def unop(op, dt, rdt, a):
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        if op == "neg":
            if kind(dt) == "float":
                return -a
            return from_obj(-to_obj(a), dt)
        if op == "inv":
            if dt == "bool":
                return ~a
            return np.invert(a)
        if op == "abs":
            if kind(dt) == "float":
                return np.abs(a)
            if kind(dt) == "int":
                return from_obj(np.abs(to_obj(a)), dt)
            return a
        if op in ("isnan", "isinf", "isfinite"):
            if kind(dt) != "float":
                return np.full(a.shape, op == "isfinite")
            return {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite}[op](a)
        if op == "popcount":
            b = bits(dt)
            return from_obj(np.vectorize(lambda v: bin(int(v) & ((1 << b) - 1)).count("1"), otypes=[object])(a)
                            if a.size else to_obj(a), dt)
        if op == "clz":
            b = bits(dt)
            return np.vectorize(lambda v: b - (int(v) & ((1 << b) - 1)).bit_length(), otypes=[np.int64])(a) \
                .astype("int32") if a.size else np.zeros(a.shape, "int32")
        fn = _UFN[op]
        if HI:
            if op == "erf":
                return _erf(a.astype("float64")).astype(fdt(dt))
            return fn(a.astype(fdt(dt)))
        if op in EXACT_UNARY:
            return fn(a)
        return fn(a.astype("float64")).astype(dt)


def select(c, a, b):
    return np.where(np.asarray(c) != 0, a, b)


# ----------------------------------------------------------------------------- comparison

def _ordered(x):
    """Float array -> int64 array ordered like the floats (for ulp distances)."""
    x = np.asarray(x)
    ity = {2: np.int16, 4: np.int32, 8: np.int64}[x.dtype.itemsize]
    i = x.view(ity).astype(np.int64)
    lim = np.int64(np.iinfo(ity).min)
    return np.where(i < 0, lim - i, i)


def ulp_dist(a, b):
    a, b = np.asarray(a), np.asarray(b).astype(a.dtype)
    with np.errstate(over="ignore"):
        return np.abs(_ordered(a) - _ordered(b))


def describe(pos, got, want, inputs):
    parts = [f"at {pos}: got {got[pos]!r} want {want[pos]!r}"]
    for name, arr in inputs.items():
        arr = np.asarray(arr)
        if arr.shape == got.shape:
            parts.append(f"{name}={arr[pos]!r}")
    return " ".join(parts)


def compare(got, want, want_hi=None, exact=True, tol=16, inputs=None, what="result"):
    """Raise Mismatch (or SignedZero) if got differs from want beyond tolerance."""
    got, want = np.asarray(got), np.asarray(want)
    inputs = inputs or {}
    if got.shape != want.shape:
        raise Mismatch(f"{what}: shape {got.shape} != reference {want.shape}")
    if got.dtype.kind != "f":
        want = want.astype(got.dtype) if want.dtype != got.dtype else want
        bad = got != want
        if bad.any():
            pos = tuple(np.argwhere(bad)[0]) if got.ndim else ()
            raise Mismatch(f"{what}: {int(bad.sum())}/{bad.size} differ; " + describe(pos, got, want, inputs))
        return
    with np.errstate(all="ignore"):
        want = want.astype(got.dtype)
    gn, wn = np.isnan(got), np.isnan(want)
    ok_mask = np.ones(got.shape, bool)
    if not exact and want_hi is not None:
        with np.errstate(all="ignore"):
            wh = np.asarray(want_hi).astype(got.dtype)
        hn = np.isnan(wh)
        cond = (hn == wn) & (hn | (ulp_dist(np.where(hn, 0, want), np.where(hn, 0, wh)) <= tol))
        ok_mask &= cond  # only well-conditioned positions count
    nan_bad = (gn != wn) & ok_mask
    both = ~gn & ~wn & ok_mask
    if exact:
        val_bad = both & (got != want)
    else:
        d = ulp_dist(np.where(both, got, 0), np.where(both, want, 0))
        val_bad = both & (d > tol)
    bad = nan_bad | val_bad
    if bad.any():
        pos = tuple(np.argwhere(bad)[0]) if got.ndim else ()
        raise Mismatch(f"{what}: {int(bad.sum())}/{bad.size} differ ({int(ok_mask.sum())} checked); "
                       + describe(pos, got, want, inputs))
    if exact:
        zs = both & (got == 0) & (np.signbit(got) != np.signbit(want))
        if zs.any():
            pos = tuple(np.argwhere(zs)[0]) if got.ndim else ()
            raise SignedZero(f"{what}: sign of zero differs at {int(zs.sum())} positions; "
                             + describe(pos, got, want, inputs))


def compare_tol(got, want, atol, rtol=0.0, inputs=None, what="result"):
    """Floats: NaN positions equal, infinities equal, |got - want| <= atol + rtol*|want| elsewhere."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise Mismatch(f"{what}: shape {got.shape} != reference {want.shape}")
    if got.dtype.kind != "f":
        return compare(got, want, inputs=inputs, what=what)
    with np.errstate(all="ignore"):
        g, w = got.astype("float64"), want.astype("float64")
        atol = np.broadcast_to(np.asarray(atol, dtype="float64"), g.shape)
        gn, wn = np.isnan(g), np.isnan(w)
        gi, wi = np.isinf(g), np.isinf(w)
        fin = ~gn & ~wn & ~gi & ~wi
        bad = (gn != wn) | ((gi | wi) & ~gn & ~wn & (g != w)) | (fin & (np.abs(g - w) > atol + rtol * np.abs(w)))
        # a finite reference that overflows at the output dtype is fine when got is inf of that sign
    if bad.any():
        pos = tuple(np.argwhere(bad)[0]) if got.ndim else ()
        raise Mismatch(f"{what}: {int(bad.sum())}/{bad.size} differ beyond tolerance; "
                       + describe(pos, got, want, inputs or {}))


def is_tl_error(e):
    import tensorlang.errors as E
    return isinstance(e, E.TensorLangError)


def seq_reduce(a, axis, keepdims, op, acc_dt, out_dt):
    """Sequential fold over the reduce axes (increasing axis order, row-major), accumulating in
    acc_dt with fuzzlib.binop semantics, as te.sum / comm_reducer loops do."""
    a = np.asarray(a)
    nd = a.ndim
    if axis is None:
        axes = list(range(nd))
    else:
        axes = sorted({(x + nd) % nd for x in ([axis] if isinstance(axis, int) else axis)})
    keep = [d for d in range(nd) if d not in axes]
    t = np.transpose(a, keep + axes).reshape([a.shape[d] for d in keep] + [-1])
    t = cast(t, str(a.dtype), acc_dt)
    ident = {"add": 0, "mul": 1}[op]
    acc = np.broadcast_to(const(ident, acc_dt), t.shape[:-1]).astype(acc_dt)
    for k in range(t.shape[-1]):
        acc = np.asarray(binop(op, acc_dt, acc_dt, acc, acc_dt, t[..., k], acc_dt)).astype(acc_dt)
    out = cast(acc, acc_dt, out_dt)
    if keepdims:
        out = np.asarray(out).reshape([1 if d in axes else a.shape[d] for d in range(nd)])
    return np.asarray(out)
