"""Vector float32 exp, log, tanh and erf as straight-line polynomial code in the generated IR.

LLVM lowers ``llvm.exp.v16f32`` to sixteen calls of libm's ``expf`` and tanh/erf go lane by lane
through libm too; these versions stay in vector registers.  Each is an internal ``alwaysinline``
function defined once per module (``__tl_vm_<name>_<type>``) and works on any lane count,
scalars included, so a vectorized loop and its scalar tail agree bit for bit.

Guarantees (float32, checked against numpy's float64 results by tests/target/test_vecmath.py):
- exp: at most 1 ulp on normal results (Cody-Waite reduction by ln 2, a degree-6 polynomial
  as one chain of six FMAs, then y * 2^n rounded once, so results down to the smallest
  subnormal come out right: on AVX-512 by ``vscalefps``, elsewhere by two exact power-of-two
  factors built from integers; the two give the same bits, as both round the exact product once;
  without AVX-512 a vector whose every n is in [-126, 126] takes a branch with one factor and
  no clamps, exact there, so it gives the same bits too; scalars stay branch-free);
  +inf above 88.72284, 0 below -103.97, exp(-inf) = 0, exp(inf) = inf.
- log: at most 2 ulp (exponent split, mantissa in [sqrt(1/2), sqrt(2)), degree-8 polynomial),
  subnormal inputs included; log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
- tanh: at most 3 ulp (odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above), ±1 at ±inf.
- erf: at most 3 ulp (odd polynomial below 1, 1 - exp(-x^2) g(1/x) up to 3.92, then ±1).
- NaN in gives NaN out; the sign of zero is kept by tanh and erf.
Coefficients were fitted by weighted least squares on Chebyshev nodes (exp's reweighted
towards equal relative error; log follows Cephes' well-known single-precision form).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import llvmlite.ir as ir

FUNCTIONS = ("exp", "log", "tanh", "erf")

Declare = Callable[[str, ir.Type, list[ir.Type]], ir.Function]

_F32 = ir.FloatType()
_I32 = ir.IntType(32)
_I1 = ir.IntType(1)

# exp(r) = 1 + r + r^2 P(r) on [-ln 2 / 2, ln 2 / 2], evaluated as one Horner chain of six FMAs
# (highest degree first; relative error 3.1e-9 before rounding).
_EXP_POLY = (1.3814539415761828e-3, 8.36874544620514e-3, 4.166838899254799e-2, 1.666652113199234e-1,
             4.999999403953552e-1, 1.0, 1.0)
_LN2_HI, _LN2_LO = 0.693359375, -2.12194440e-4
# Inputs are clamped to [-104, 89]: exp(-104) rounds to 0 and exp(89) overflows to inf, so
# the clamps change no result.
_EXP_CLAMP_HI, _EXP_CLAMP_LO = 89.0, -104.0
_ROUND_MAGIC = 12582912.0  # 1.5 * 2^23
_MAGIC_BITS = 0x4B400000
_LOG_POLY = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
             -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)
# tanh(x) = x + x^3 Q(x^2) on [0, 0.625]; highest degree first.
_TANH_POLY = (-0.006139049772173166, 0.021033354103565216, -0.05386102572083473, 0.13332870602607727,
              -0.3333333134651184)
# erf(x) = x R(x^2) on [0, 1].
_ERF_POLY = (7.898209878476337e-05, -0.0008024353883229196, 0.00519005348905921, -0.026854809373617172,
             0.11283612251281738, -0.3761262893676758, 1.128379225730896)
# erfc(x) exp(x^2) = G(1/x) on [1, 4].
_ERFC_TAIL = (0.029479417949914932, -0.2360130101442337, 0.8563586473464966, -1.8512612581253052,
              2.618479013442993, -2.4626777172088623, 1.4143080711364746, -0.2662183940410614,
              -0.23371532559394836, -0.005732749123126268, 0.5645893812179565, -1.2412046089593787e-05)
_ERF_ONE = 3.92  # erf rounds to 1 in float32 from here on


def supports(elem: ir.Type) -> bool:
    """Whether ``elem`` (the element type of a value) has vector math here: float32 only."""
    return isinstance(elem, ir.FloatType)


def call(b: ir.IRBuilder, declare: Declare, name: str, x: ir.Value, avx512: bool = False) -> ir.Value:
    """``name(x)`` for a float32 scalar or vector ``x``, emitted at ``b``; ``avx512``: the
    target has AVX-512F (x86), whose ``vscalefps`` scales by 2^n in one instruction."""
    fn = _function(b.module, declare, name, x.type, avx512)
    return b.call(fn, [x])


def _suffix(ty: ir.Type) -> str:
    return f"v{ty.count}f32" if isinstance(ty, ir.VectorType) else "f32"


def _function(module: ir.Module, declare: Declare, name: str, ty: ir.Type, avx512: bool) -> ir.Function:
    symbol = f"__tl_vm_{name}_{_suffix(ty)}{'_avx512' if avx512 else ''}"
    try:
        return module.get_global(symbol)
    except KeyError:
        pass
    fn = ir.Function(module, ir.FunctionType(ty, [ty]), name=symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    em = _Emitter(ir.IRBuilder(fn.append_basic_block("entry")), declare, ty, module, avx512)
    em.b.ret(getattr(em, name)(fn.args[0]))
    return fn


class _Emitter:
    """Constants, intrinsics and the four functions for one type (scalar or vector float32)."""

    def __init__(self, b: ir.IRBuilder, declare: Declare, ty: ir.Type, module: ir.Module, avx512: bool = False):
        self.b, self.declare, self.ty, self.module, self.avx512 = b, declare, ty, module, avx512
        lanes = ty.count if isinstance(ty, ir.VectorType) else 0
        self.ity = ir.VectorType(_I32, lanes) if lanes else _I32

    # -- helpers --

    def f(self, value: float) -> ir.Constant:
        c = ir.Constant(_F32, value)
        return ir.Constant(self.ty, [c] * self.ty.count) if isinstance(self.ty, ir.VectorType) else c

    def i(self, value: int) -> ir.Constant:
        c = ir.Constant(_I32, value)
        return ir.Constant(self.ity, [c] * self.ity.count) if isinstance(self.ity, ir.VectorType) else c

    def intrinsic(self, base: str, *args: ir.Value) -> ir.Value:
        fn = self.declare(f"llvm.{base}.{_suffix(self.ty)}", self.ty, [a.type for a in args])
        return self.b.call(fn, list(args))

    def fma(self, a: ir.Value, x: ir.Value, c: ir.Value) -> ir.Value:
        return self.intrinsic("fmuladd", a, x, c)

    def horner(self, x: ir.Value, coeffs: Sequence[float]) -> ir.Value:
        acc: ir.Value = self.f(coeffs[0])
        for c in coeffs[1:]:
            acc = self.fma(acc, x, self.f(c))
        return acc

    def lt(self, a: ir.Value, c: float) -> ir.Value:
        return self.b.fcmp_ordered("<", a, self.f(c))

    def gt(self, a: ir.Value, c: float) -> ir.Value:
        return self.b.fcmp_ordered(">", a, self.f(c))

    def isnan(self, a: ir.Value) -> ir.Value:
        return self.b.fcmp_unordered("uno", a, a)

    # -- the functions --

    def exp(self, x: ir.Value) -> ir.Value:
        # AVX-512's vscalefps scales any n in one instruction: nothing to save.  Scalars stay
        # branch-free, so LLVM's loop vectorizer still turns a plain loop of exp into vector code
        # (with the branch, a scalar loop of exp over 65536 floats took 55 us instead of 30).
        if self.avx512 or not isinstance(self.ty, ir.VectorType):
            return self.exp_exact(x)
        b = self.b
        # Where every lane's n = round(x / ln 2) lies in [-126, 126], 2^n is one normal float
        # built from n's bits and y * 2^n is exact: no clamps and one product instead of the
        # two-factor scaling, about a third of exp's arithmetic.  Any other lane (subnormal or
        # infinite results, NaN, the clamps) sends the whole vector through exp_exact.  Both
        # paths give the same bits, so which one a vector takes never shows in a result.
        t = self.fma(x, self.f(1.0 / math.log(2.0)), self.f(_ROUND_MAGIC))
        n = b.fsub(t, self.f(_ROUND_MAGIC))
        in_range = b.fcmp_ordered("<=", self.intrinsic("fabs", n), self.f(126.0))  # NaN: false
        bits = ir.IntType(self.ty.count)
        in_range = b.icmp_unsigned("==", b.bitcast(in_range, bits), ir.Constant(bits, -1))
        with b.if_else(in_range, likely=True) as (fast, exact):
            with fast:
                r = self.fma(n, self.f(-_LN2_HI), x)
                r = self.fma(n, self.f(-_LN2_LO), r)
                y = self.horner(r, _EXP_POLY)
                # t's bits are MAGIC_BITS + n: (n + 127) << 23 is 2^n's bit pattern.
                scale = b.shl(b.add(b.bitcast(t, self.ity), self.i(127 - _MAGIC_BITS)), self.i(23))
                fast_result = b.fmul(y, b.bitcast(scale, self.ty))
                fast_block = b.block
            with exact:
                exact_result = self.exp_exact(x)
                exact_block = b.block
        result = b.phi(self.ty)
        result.add_incoming(fast_result, fast_block)
        result.add_incoming(exact_result, exact_block)
        return result

    def exp_exact(self, x: ir.Value) -> ir.Value:
        """exp for every input, branch-free: clamps, then 2^n as two factors."""
        b = self.b
        # Clamped as minps/maxps do (a NaN stays NaN): past the clamps the result is inf or 0
        # anyway, and the polynomial and scaling below never see an infinity.
        xs = b.select(b.fcmp_ordered("<", self.f(_EXP_CLAMP_HI), x), self.f(_EXP_CLAMP_HI), x)
        xs = b.select(b.fcmp_ordered(">", self.f(_EXP_CLAMP_LO), xs), self.f(_EXP_CLAMP_LO), xs)
        # n = round(x / ln 2) by adding 1.5 * 2^23, whose float spacing is 1: t's low mantissa
        # bits are then n in two's complement.  (No fptosi, which makes NaN poison.)
        t = self.fma(xs, self.f(1.0 / math.log(2.0)), self.f(_ROUND_MAGIC))
        n = b.fsub(t, self.f(_ROUND_MAGIC))
        r = self.fma(n, self.f(-_LN2_HI), xs)
        r = self.fma(n, self.f(-_LN2_LO), r)
        y = self.horner(r, _EXP_POLY)
        ni = b.sub(b.bitcast(t, self.ity), self.i(_MAGIC_BITS))
        if self.avx512:
            return self.scalef(y, n, ni)
        # 2^n as two factors, so n down to -150 (subnormal results) and up to 128 (overflow to
        # inf) needs no special case: y * 2^n1 is exact, the second product rounds once.
        n1 = b.ashr(ni, self.i(1))
        n2 = b.sub(ni, n1)
        s1 = b.bitcast(b.shl(b.add(n1, self.i(127)), self.i(23)), self.ty)
        s2 = b.bitcast(b.shl(b.add(n2, self.i(127)), self.i(23)), self.ty)
        return b.fmul(b.fmul(y, s1), s2)

    def scalef(self, y: ir.Value, n: ir.Value, ni: ir.Value) -> ir.Value:
        """y * 2^n rounded once, for integral n (given as a float ``n`` and as integers ``ni``) on
        AVX-512F.  ``vscalefps`` takes n as a float, so whole 16-lane pieces skip the integer
        conversion ``llvm.ldexp`` would add; other widths go through ``llvm.ldexp``, which LLVM
        lowers to ``vscalefps``/``vscalefss`` as well."""
        b, ty = self.b, self.ty
        pieces = ty.count // 16 if isinstance(ty, ir.VectorType) and ty.count % 16 == 0 else 0
        if pieces == 0 or pieces & (pieces - 1):
            ity = f"v{ty.count}i32" if isinstance(ty, ir.VectorType) else "i32"
            fn = self.declare(f"llvm.ldexp.{_suffix(ty)}.{ity}", ty, [ty, self.ity])
            return b.call(fn, [y, ni])
        v16 = ir.VectorType(_F32, 16)
        fn = self.declare("llvm.x86.avx512.mask.scalef.ps.512", v16, [v16, v16, v16, ir.IntType(16), _I32])
        all_lanes, current_rounding = ir.Constant(ir.IntType(16), -1), ir.Constant(_I32, 4)
        parts = []
        for start in range(0, ty.count, 16):
            lanes = ir.Constant(ir.VectorType(_I32, 16), [ir.Constant(_I32, start + k) for k in range(16)])
            yp = b.shuffle_vector(y, y, lanes) if ty.count > 16 else y
            n_part = b.shuffle_vector(n, n, lanes) if ty.count > 16 else n
            parts.append(b.call(fn, [yp, n_part, yp, all_lanes, current_rounding]))
        while len(parts) > 1:  # concatenate pairwise (shufflevector joins two equal halves)
            width = parts[0].type.count * 2
            joined = ir.Constant(ir.VectorType(_I32, width), [ir.Constant(_I32, k) for k in range(width)])
            parts = [b.shuffle_vector(lo, hi, joined) for lo, hi in zip(parts[::2], parts[1::2])]
        return parts[0]

    def log(self, x: ir.Value) -> ir.Value:
        b = self.b
        tiny = self.lt(x, 1.1754943508222875e-38)  # subnormal (or <= 0: handled at the end)
        xs = b.select(tiny, b.fmul(x, self.f(8388608.0)), x)
        adj = b.select(tiny, self.i(-23), self.i(0))
        bits = b.bitcast(xs, self.ity)
        e = b.add(b.sub(b.and_(b.lshr(bits, self.i(23)), self.i(0xFF)), self.i(126)), adj)
        m = b.bitcast(b.or_(b.and_(bits, self.i(0x007FFFFF)), self.i(0x3F000000)), self.ty)  # [0.5, 1)
        low = self.lt(m, math.sqrt(0.5))
        e = b.sub(e, b.zext(low, self.ity))
        f = b.fsub(b.select(low, b.fadd(m, m), m), self.f(1.0))
        z = b.fmul(f, f)
        y = b.fmul(self.horner(f, _LOG_POLY), b.fmul(f, z))
        ef = b.sitofp(e, self.ty)
        y = self.fma(ef, self.f(_LN2_LO), y)
        y = self.fma(z, self.f(-0.5), y)
        res = self.fma(ef, self.f(_LN2_HI), b.fadd(f, y))
        res = b.select(b.fcmp_ordered("==", x, self.f(math.inf)), self.f(math.inf), res)
        res = b.select(b.fcmp_ordered("==", x, self.f(0.0)), self.f(-math.inf), res)
        return b.select(b.fcmp_unordered("<", x, self.f(0.0)), self.f(math.nan), res)

    def tanh(self, x: ir.Value) -> ir.Value:
        b = self.b
        ax = self.intrinsic("fabs", x)
        z = b.fmul(x, x)
        # copysign: x + x^3 q rounds -0.0 to +0.0 (tanh is odd, so the sign is x's anyway).
        small = self.intrinsic("copysign", self.fma(b.fmul(x, z), self.horner(z, _TANH_POLY), x), x)
        e = self.exp(b.fmul(ax, self.f(2.0)))
        large = b.fsub(self.f(1.0), b.fdiv(self.f(2.0), b.fadd(e, self.f(1.0))))
        large = self.intrinsic("copysign", large, x)
        return b.select(self.lt(ax, 0.625), small, large)

    def erf(self, x: ir.Value) -> ir.Value:
        b = self.b
        ax = self.intrinsic("fabs", x)
        small = b.fmul(x, self.horner(b.fmul(x, x), _ERF_POLY))
        a = b.select(self.gt(ax, 4.0), self.f(4.0), b.select(self.lt(ax, 1.0), self.f(1.0), ax))
        g = self.horner(b.fdiv(self.f(1.0), a), _ERFC_TAIL)
        large = b.fsub(self.f(1.0), b.fmul(self.exp(b.fneg(b.fmul(a, a))), g))
        large = b.select(b.fcmp_ordered(">=", ax, self.f(_ERF_ONE)), self.f(1.0), large)
        large = b.select(self.isnan(x), x, self.intrinsic("copysign", large, x))
        return b.select(self.lt(ax, 1.0), small, large)
