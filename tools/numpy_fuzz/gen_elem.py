"""Random elementwise expression trees (te source + fuzzlib reference source)."""
from __future__ import annotations

import math

import fuzzlib as R
import numpy as np
from fuzzlib import ALL, CASE_IMPORT, FLOATS, INTS, bits, kind, promote

ARITH = ["add", "sub", "mul", "truediv", "floordiv", "floormod", "te_floordiv", "te_floormod", "truncdiv",
         "truncmod", "fmod", "min", "max", "fmin", "fmax"]
CMP = ["lt", "le", "gt", "ge", "eq", "ne"]
BITW = ["band", "bor", "bxor", "shl", "shr"]
FLOATBIN = ["atan2", "hypot", "copysign", "nextafter"]
MATH = ["exp", "exp2", "exp10", "log", "log2", "log10", "sqrt", "rsqrt", "tanh", "sigmoid", "erf", "floor", "ceil",
        "round", "trunc", "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh",
        "log1p", "expm1"]
INEXACT = set(MATH) - R.EXACT_UNARY | {"power_f", "atan2", "hypot"}

TE_BIN = {
    "add": "({a} + {b})", "sub": "({a} - {b})", "mul": "({a} * {b})", "truediv": "({a} / {b})",
    "floordiv": "({a} // {b})", "floormod": "({a} % {b})", "te_floordiv": "te.floordiv({a}, {b})",
    "te_floormod": "te.floormod({a}, {b})", "truncdiv": "te.truncdiv({a}, {b})", "truncmod": "te.truncmod({a}, {b})",
    "fmod": "te.fmod({a}, {b})", "min": "te.min({a}, {b})", "max": "te.max({a}, {b})", "fmin": "te.fmin({a}, {b})",
    "fmax": "te.fmax({a}, {b})", "lt": "({a} < {b})", "le": "({a} <= {b})", "gt": "({a} > {b})",
    "ge": "({a} >= {b})", "eq": "({a} == {b})", "ne": "({a} != {b})", "band": "({a} & {b})", "bor": "({a} | {b})",
    "bxor": "({a} ^ {b})", "shl": "({a} << {b})", "shr": "({a} >> {b})", "power": "te.power({a}, {b})",
    "atan2": "te.atan2({a}, {b})", "hypot": "te.hypot({a}, {b})", "copysign": "te.copysign({a}, {b})",
    "nextafter": "te.nextafter({a}, {b})", "land": "te.all({a}, {b})", "lor": "te.any({a}, {b})",
}
DIVS = {"truediv", "floordiv", "floormod", "te_floordiv", "te_floormod", "truncdiv", "truncmod", "fmod"}
# reference op names in fuzzlib.binop
REF_BIN = {"te_floordiv": "floordiv", "te_floormod": "floormod", "fmod": "truncmod"}


class Node:
    def __init__(self, te, ref, dt, exact=True, is_const=False, value=None, ops=()):
        self.te, self.ref, self.dt, self.exact = te, ref, dt, exact
        self.is_const, self.value = is_const, value
        self.ops = set(ops)


def pylit(v):
    if isinstance(v, float):
        if v != v:
            return 'float("nan")'
        if math.isinf(v):
            return 'float("inf")' if v > 0 else '-float("inf")'
        return repr(v)
    return repr(int(v))


class ElemGen:
    def __init__(self, rng, nleaves, leaf_dtypes):
        self.rng = rng
        self.leaves = [Node(f"P{k}(*i)", f"p{k}", dt) for k, dt in enumerate(leaf_dtypes)]
        for k, lf in enumerate(self.leaves):
            lf.ops = {f"leaf:{lf.dt}"}

    def choice(self, seq):
        return seq[self.rng.integers(0, len(seq))]

    def leaf(self):
        return self.choice(self.leaves)

    def pyconst(self, other_dt, op):
        """A Python scalar that fits the dtype it will adopt (te/dtype.py rule 6)."""
        rng = self.rng
        is_div = op in ("truediv", "floordiv", "floormod", "te_floordiv", "te_floormod", "truncdiv", "truncmod",
                        "fmod")
        if kind(other_dt) == "float" and rng.random() < 0.5:
            v = self.choice([0.5, -1.5, 2.0, 3.25, -0.0, 1e-3, 7.0, float("nan"), float("inf"), -float("inf"), 100.0])
            if is_div and v == 0:
                v = 2.0
            return float(v), other_dt
        if kind(other_dt) != "float" and rng.random() < 0.15:
            return float(self.choice([0.5, -1.5, 2.0, float("nan")])), "float32"
        adopt = "int32" if other_dt == "bool" else other_dt
        lo, hi = R.irange(adopt) if kind(adopt) != "float" else (-(1 << 20), 1 << 20)
        cands = [v for v in [0, 1, 2, 3, 5, 7, -1, -2, -3, 8, 31, 33, 63, 64] if lo <= v <= hi]
        if kind(adopt) != "float" and rng.random() < 0.2:
            cands = [lo, hi]
        v = self.choice(cands)
        if is_div and v == 0:
            v = 1
        if op in ("shl", "shr") and kind(adopt) != "float":
            v = self.choice([v for v in [0, 1, 3, bits(adopt) - 1, bits(adopt), bits(adopt) + 5] if lo <= v <= hi])
        if kind(adopt) == "float":
            v = min(v, 100)
        return int(v), adopt

    def adopt(self, n, other_dt):
        v = n.value
        if isinstance(v, float):
            n.dt = other_dt if kind(other_dt) == "float" else "float32"
        else:
            n.dt = "int32" if other_dt == "bool" else other_dt
            if kind(n.dt) != "float":
                lo, hi = R.irange(n.dt)
                if not lo <= v <= hi:
                    n.value = v = 1
        n.te = pylit(v)
        n.ref = f"R.const({pylit(v)}, '{n.dt}')"

    def cast_to(self, n, dt):
        if n.dt == dt:
            return n
        return Node(f"{n.te}.astype('{dt}')", f"R.cast({n.ref}, '{n.dt}', '{dt}')", dt, n.exact,
                    ops=n.ops | {f"cast:{n.dt}->{dt}"})

    def tconst(self):
        dt = self.choice(ALL)
        if kind(dt) == "float":
            v = float(self.choice([0.1, 1 / 3, 1e-5, -2.5, 3.0, 0.0, -0.0, float("nan"), float("inf"), 1e-30,
                                   65504.0, 1e30, 0.7, 123.456]))
            if dt == "float16" and abs(v) > 65504 and v == v and abs(v) != float("inf"):
                v = 0.1
            if abs(v) < 6e-8 and v != 0 and dt == "float16":
                v = 1e-5
        elif dt == "bool":
            v = bool(self.rng.integers(0, 2))
        else:
            lo, hi = R.irange(dt)
            v = int(self.choice([lo, hi, 0, 1, 3, -1 if lo < 0 else 2, 100 if hi >= 100 else 5]))
        lit = pylit(v) if not isinstance(v, bool) else repr(v)
        n = Node(f"te.const({lit}, '{dt}')", f"R.const({lit}, '{dt}')", dt, True, ops={f"tconst:{dt}"})
        n.zero = kind(dt) != "float" and not v  # an integer x // te.const(0) is refused (ExprError)
        return n

    def gen(self, depth):
        rng = self.rng
        if depth <= 0 or rng.random() < 0.2:
            return self.tconst() if rng.random() < 0.12 else self.leaf()
        r = rng.random()
        if r < 0.5:
            return self.binary(depth)
        if r < 0.8:
            return self.unary(depth)
        if r < 0.9:
            return self.select(depth)
        return self.cast_to(self.gen(depth - 1), self.choice(ALL))

    def operands(self, depth, op):
        a = self.gen(depth - 1)
        if self.rng.random() < 0.3:
            v, cdt = self.pyconst(a.dt, op)
            b = Node(pylit(v), None, cdt, True, is_const=True, value=v)
        else:
            b = self.gen(depth - 1)
        if self.rng.random() < 0.5:
            a, b = b, a
        return a, b

    def binary(self, depth):
        rng = self.rng
        cls = rng.random()
        if cls < 0.45:
            op = self.choice(ARITH + ["power"])
        elif cls < 0.65:
            op = self.choice(CMP)
        elif cls < 0.85:
            op = self.choice(BITW)
        elif cls < 0.93:
            op = self.choice(FLOATBIN + ["ldexp"])
        else:
            op = self.choice(["land", "lor"])
        a, b = self.operands(depth, op)
        if a.is_const and b.is_const:
            b = self.leaf()
        if getattr(b, "zero", False) and op in DIVS:
            b = self.leaf()
        if op == "ldexp":
            x = a if not a.is_const else b
            if kind(x.dt) != "float":
                x = self.cast_to(x, self.choice(FLOATS))
            n = self.gen(depth - 1)
            if kind(n.dt) not in ("int", "uint"):
                n = self.cast_to(n, self.choice(INTS))
            return Node(f"te.ldexp({x.te}, {n.te})", f"R.ldexp({x.ref}, '{x.dt}', {n.ref}, '{n.dt}')", x.dt,
                        x.exact and n.exact, ops=x.ops | n.ops | {"ldexp"})
        adt, bdt = a.dt, b.dt
        pdt = promote(adt, bdt)
        if pdt is None:  # uint64 with a signed int
            b = self.cast_to(b, "uint64") if not b.is_const else b
            a = self.cast_to(a, "uint64") if not a.is_const else a
            adt, bdt = a.dt, b.dt
            pdt = promote(adt, bdt)
        # make the op legal for pdt
        if op in BITW or op in ("land", "lor"):
            if kind(pdt) == "float":
                a = self.cast_to(a, "int32") if not a.is_const else None
                b = self.cast_to(b, "int32") if not b.is_const else None
                if a is None or b is None:
                    return self.binary(depth)
                pdt = promote(a.dt, b.dt)
            if op in ("shl", "shr") and pdt == "bool":
                a = self.cast_to(a, "int8") if not a.is_const else a
                b = self.cast_to(b, "int8") if not b.is_const else b
                pdt = promote(a.dt, b.dt)
        if op in FLOATBIN and kind(pdt) != "float":
            if a.is_const or b.is_const:
                return self.binary(depth)
            a = self.cast_to(a, self.choice(FLOATS))
            pdt = promote(a.dt, b.dt)
        if op in ("truediv", "truncdiv") and pdt == "bool":
            op = "floordiv"
        # constants: the dtype they adopt from the (final) other operand, and their reference value
        for n, other in ((a, b), (b, a)):
            if n.is_const:
                self.adopt(n, other.dt)
        pdt = promote(a.dt, b.dt)
        rdt = "bool" if op in CMP or op in ("land", "lor") or (op in ("band", "bor", "bxor") and pdt == "bool") \
            else pdt
        ref_op = REF_BIN.get(op, op)
        refpdt = pdt
        if op == "power" and pdt == "bool":
            rdt = refpdt = "int8"
        if op in ("band", "bor", "bxor") and pdt == "bool":
            ref_op = {"band": "land", "bor": "lor", "bxor": "ne"}[op]
        # te/expr.py _and_or: & | are logical on two conditions (above), and a condition with an integer
        # promotes and is bitwise, as numpy (repros/10 of the first run, fixed in tensorlang 7c4686c)
        exact = a.exact and b.exact and not (op in ("power", "atan2", "hypot") and kind(pdt) == "float")
        te_src = TE_BIN[op].format(a=a.te, b=b.te)
        ref = f"R.binop('{ref_op}', '{refpdt}', '{rdt}', {a.ref}, '{a.dt}', {b.ref}, '{b.dt}')"
        return Node(te_src, ref, rdt, exact, ops=a.ops | b.ops | {f"{op}:{pdt}"})

    def unary(self, depth):
        a = self.gen(depth - 1)
        dt = a.dt
        r = self.rng.random()
        if r < 0.55:
            op = self.choice(MATH)
            if kind(dt) != "float":
                a = self.cast_to(a, self.choice(FLOATS))
                dt = a.dt
        else:
            op = self.choice(["neg", "inv", "abs", "isnan", "isinf", "isfinite", "popcount", "clz"])
            if op == "neg" and dt == "bool":
                op = "inv"
            if op == "inv" and kind(dt) == "float":
                op = "neg"
            if op in ("popcount", "clz") and kind(dt) not in ("int", "uint"):
                a = self.cast_to(a, self.choice(INTS))
                dt = a.dt
        te_src = {"neg": f"(-{a.te})", "inv": f"(~{a.te})"}.get(op, f"te.{op}({a.te})")
        rdt = "bool" if op in ("isnan", "isinf", "isfinite") else ("int32" if op == "clz" else dt)
        exact = a.exact and op not in INEXACT
        return Node(te_src, f"R.unop('{op}', '{dt}', '{rdt}', {a.ref})", rdt, exact, ops=a.ops | {f"{op}:{dt}"})

    def select(self, depth):
        c = self.gen(depth - 1)
        if kind(c.dt) == "float":
            c = Node(f"({c.te} > 0)", f"R.binop('gt', '{c.dt}', 'bool', {c.ref}, '{c.dt}', R.const(0, '{c.dt}'), "
                     f"'{c.dt}')", "bool", c.exact, ops=c.ops)
        a, b = self.operands(depth, "select")
        if a.is_const and b.is_const:
            b = self.leaf()
        pdt = promote(a.dt, b.dt)
        if pdt is None:
            a = self.cast_to(a, "int64") if not a.is_const else a
            b = self.cast_to(b, "int64") if not b.is_const else b
            pdt = promote(a.dt, b.dt)
            if pdt is None:
                return self.leaf()
        for n, other in ((a, b), (b, a)):
            if n.is_const:
                self.adopt(n, other.dt)
        pdt = promote(a.dt, b.dt)
        ref = (f"R.select({c.ref}, R.cast({a.ref}, '{a.dt}', '{pdt}'), R.cast({b.ref}, '{b.dt}', '{pdt}'))")
        return Node(f"te.if_then_else({c.te}, {a.te}, {b.te})", ref, pdt, a.exact and b.exact and c.exact,
                    ops=a.ops | b.ops | c.ops | {"select"})


SHAPE_DIMS = [1, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17]


def rand_shape(rng, max_nd=3, max_elems=240):
    while True:
        nd = int(rng.integers(0, max_nd + 1))
        shape = tuple(int(SHAPE_DIMS[rng.integers(0, len(SHAPE_DIMS))]) for _ in range(nd))
        if int(np.prod(shape)) <= max_elems:
            return shape


def elem_schedule_lines(rng, ndim, out="OUT"):
    if ndim == 0:
        return []
    c = int(rng.integers(0, 6))
    ax = f"{out}.op.axis"
    if c == 0:
        return []
    if c == 1:
        return [f"s[{out}].vectorize({ax}[-1])"]
    if c == 2:
        f = int(rng.integers(1, 9))
        return [f"xo, xi = s[{out}].split({ax}[-1], factor={f})", f"s[{out}].vectorize(xi)"]
    if c == 3:
        lines = []
        if ndim > 1:
            lines.append(f"fused = s[{out}].fuse(*{ax})")
            lines.append(f"s[{out}].parallel(fused)")
        else:
            lines.append(f"s[{out}].parallel({ax}[0])")
        return lines
    if c == 4:
        return [f"s[{out}].unroll({ax}[-1])"]
    f = int(rng.integers(2, 17))
    return [f"xo, xi = s[{out}].split({ax}[-1], factor={f})", f"s[{out}].parallel(xo)", f"s[{out}].vectorize(xi)"]


def gen_elemwise(rng, seed):
    nleaves = int(rng.integers(1, 4))
    dts = [str(rng.choice(ALL)) for _ in range(nleaves)]
    if rng.random() < 0.5:  # often one dtype family
        dts = [dts[0]] * nleaves
    shape = rand_shape(rng)
    g = ElemGen(rng, nleaves, dts)
    if shape and rng.random() < 0.3:
        # loop indices as int32 leaves: index arithmetic meets data arithmetic in the simplifier
        for ax in range(len(shape)):
            # "+ 0": te.fmax(x, i) with a bare spatial index is read as a reduction axis (refused)
            leaf = Node(f"(i[{ax}] + 0)", f"I{ax}", "int32")
            leaf.ops = {"leaf:index"}
            g.leaves.append(leaf)
    depth = int(rng.integers(1, 5))
    node = g.gen(depth)
    if node.is_const:
        node = g.leaf()
    sched = elem_schedule_lines(rng, len(shape))
    contract = "off"
    lines = [
        "import numpy as np, tensorlang as tl",
        "from tensorlang import te",
        CASE_IMPORT,
        f"rng = np.random.default_rng({seed})",
        f"shape = {shape!r}",
    ]
    for k, dt in enumerate(dts):
        lines.append(f"P{k} = te.placeholder(shape, dtype='{dt}', name='P{k}')")
    pnames = ", ".join(f"P{k}" for k in range(nleaves))
    lines.append(f"def body({pnames}, i):\n    return {node.te}")
    lines.append(f"OUT = te.compute(shape, lambda *i: body({pnames}, i), name='OUT')")
    lines.append(f"assert str(OUT.dtype) == '{node.dt}', ('dtype', str(OUT.dtype), '{node.dt}')")
    lines.append("s = te.create_schedule(OUT.op)")
    lines += sched
    args = ", ".join(f"P{k}" for k in range(nleaves))
    lines.append(f"f = tl.build(s, [{args}, OUT], target='llvm -fp-contract={contract}')")
    for k, dt in enumerate(dts):
        lines.append(f"p{k} = R.gen_data(rng, shape, '{dt}')")
    lines.append(f"out = np.zeros(shape, dtype='{node.dt}')")
    pargs = ", ".join(f"p{k}" for k in range(nleaves))
    lines.append(f"f({pargs}, out)")
    lines.append("I0, I1, I2 = (list(np.indices(shape, dtype='int32')) + [None] * 3)[:3]")
    lines.append(f"def ref({pargs}):\n    return {node.ref}")
    lines.append(f"want = np.broadcast_to(np.asarray(ref({pargs})), shape)")
    if not node.exact:
        lines.append(f"R.HI = True\nwant_hi = np.broadcast_to(np.asarray(ref({pargs})), shape)\nR.HI = False")
    else:
        lines.append("want_hi = None")
    inputs = "{" + ", ".join(f"'p{k}': p{k}" for k in range(nleaves)) + "}"
    lines.append(f"R.compare(out, want, want_hi, exact={node.exact}, inputs={inputs})")
    if node.exact and shape and rng.random() < 0.5:
        lines += _folding_lines(rng, shape, dts, node.dt)
    return "\n".join(lines) + "\n", {"ops": sorted(node.ops), "exact": node.exact}


def _folding_lines(rng, shape, dts, out_dt):
    """Constant folding must agree with the compiled code: the same expression with every leaf
    (loop indices included) replaced by its value at a few positions, as te.const, folded by te
    and the simplifier (whatever is left is compiled), bit for bit equal to ``out`` there."""
    n = int(np.prod(shape))
    picks = sorted({int(x) for x in rng.integers(0, n, 4)})
    lines = [f"positions = [np.unravel_index(k, shape) for k in {picks!r}]", "folded = []"]
    consts = ", ".join(
        f"(lambda *_, v=p{k}[pos]: te.const(v.item(), '{dt}'))" for k, dt in enumerate(dts))
    lines.append(
        "for pos in positions:\n"
        "    try:\n"
        f"        e = body({consts}, tuple(te.const(int(x), 'int32') for x in pos))\n"
        "    except tl.TensorLangError as ex:  # x // 0 with a constant 0 is refused, as TVM does\n"
        "        if 'constant zero' not in str(ex):\n"
        "            raise\n"
        "        continue\n"
        "    folded.append((pos, te.compute((1,), lambda *_, e=e: e, name=f'F{len(folded)}')))")
    lines.append(
        "if folded:\n"
        "    fs = te.create_schedule([t.op for _, t in folded])\n"
        "    ff = tl.build(fs, [t for _, t in folded], target='llvm -fp-contract=off')\n"
        f"    bufs = [np.zeros(1, '{out_dt}') for _ in folded]\n"
        "    ff(*bufs)\n"
        "    for (pos, _), b in zip(folded, bufs):\n"
        "        R.compare(b, out[pos].reshape(1), exact=True, what=f'constant-folded at {pos}')")
    return lines
