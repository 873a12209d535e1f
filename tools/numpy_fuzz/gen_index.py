"""Index arithmetic: reads at random affine / floordiv / floormod / min / max index expressions of
the loop variables (clamped into range), under random schedules; exercises the simplifier and
bound analysis.  Reference: the same index computed with Python ints."""
from __future__ import annotations

from fuzzlib import CASE_IMPORT

DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17]


class IX:
    def __init__(self, te, py):
        self.te, self.py = te, py


def gen_ix(rng, depth, nvars):
    if depth <= 0 or rng.random() < 0.25:
        if rng.random() < 0.7:
            v = int(rng.integers(0, nvars))
            return IX(f"i{v}", f"i{v}")
        c = int(rng.integers(-9, 10))
        return IX(str(c), str(c))
    op = str(rng.choice(["+", "-", "*", "//", "%", "min", "max", "fd", "fm", "td", "tm", "sel"]))
    a = gen_ix(rng, depth - 1, nvars)
    if op in ("*", "//", "%", "fd", "fm", "td", "tm"):
        c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 16, -2, -3]))
        if op in ("//", "%", "fd", "fm", "td", "tm") and rng.random() < 0.2:
            c = -c
        b = IX(str(c), str(c)) if rng.random() < 0.75 or op != "*" else gen_ix(rng, depth - 1, nvars)
    else:
        b = gen_ix(rng, depth - 1, nvars)
    if op in ("+", "-", "*"):
        return IX(f"({a.te} {op} {b.te})", f"({a.py} {op} {b.py})")
    if op in ("//", "%"):
        return IX(f"({a.te} {op} {b.te})", f"F{'D' if op == '//' else 'M'}({a.py}, {b.py})")
    if op in ("fd", "fm"):
        fn = "floordiv" if op == "fd" else "floormod"
        return IX(f"te.{fn}({a.te}, {b.te})", f"F{'D' if op == 'fd' else 'M'}({a.py}, {b.py})")
    if op in ("td", "tm"):
        fn = "truncdiv" if op == "td" else "truncmod"
        return IX(f"te.{fn}({a.te}, {b.te})", f"T{'D' if op == 'td' else 'M'}({a.py}, {b.py})")
    if op == "sel":
        c = gen_ix(rng, depth - 1, nvars)
        return IX(f"te.if_then_else({c.te} < {a.te}, {a.te}, {b.te})", f"({a.py} if {c.py} < {a.py} else {b.py})")
    if b.te.startswith("i") and b.te[1:].isdigit():  # te.min(x, i) with a bare spatial index is refused
        a, b = b, a
    return IX(f"te.{op}({a.te}, {b.te})", f"{op}({a.py}, {b.py})")


def gen_index(rng, seed):
    nd = int(rng.integers(1, 4))
    shape = tuple(int(rng.choice(DIMS)) for _ in range(nd))
    P = int(rng.choice([1, 5, 16, 37, 64]))
    ix = gen_ix(rng, int(rng.integers(1, 5)), nd)
    mode = str(rng.choice(["clamp", "guard", "mod"]))
    iv = ", ".join(f"i{k}" for k in range(nd))
    if mode == "clamp":
        body = f"A[te.max(te.min({ix.te}, {P - 1}), 0)]"
        pyidx = f"max(min({ix.py}, {P - 1}), 0)"
        pybody = f"a[{pyidx}]"
    elif mode == "mod":
        body = f"A[te.floormod({ix.te}, {P})]"
        pybody = f"a[FM({ix.py}, {P})]"
    else:
        body = f"te.if_then_else(te.all({ix.te} >= 0, {ix.te} < {P}), A[{ix.te}], -1)"
        pybody = f"(a[({ix.py})] if 0 <= ({ix.py}) < {P} else -1)"
    L = ["import numpy as np, tensorlang as tl",
         "from tensorlang import te",
         CASE_IMPORT,
         "FD = lambda x, y: 0 if y == 0 else x // y",
         "FM = lambda x, y: 0 if y == 0 else x % y",
         "TD = lambda x, y: R._tdiv(x, y)",
         "TM = lambda x, y: R._tmod(x, y)",
         f"shape = {shape!r}; P = {P}",
         "A = te.placeholder((P,), dtype='int32', name='A')",
         f"C = te.compute(shape, lambda {iv}: {body}, name='C')",
         "s = te.create_schedule(C.op)"]
    sch = int(rng.integers(0, 6))
    if sch == 1:
        L.append(f"xo, xi = s[C].split(C.op.axis[-1], factor={int(rng.integers(1, 9))})")
    elif sch == 2 and nd > 1:
        L.append("fz = s[C].fuse(*C.op.axis)")
        L.append(f"xo, xi = s[C].split(fz, factor={int(rng.integers(1, 9))})")
    elif sch == 3:
        L.append(f"xo, xi = s[C].split(C.op.axis[0], nparts={int(rng.integers(1, 5))})")
        L.append("s[C].parallel(xo)")
    elif sch == 4:
        L.append(f"xo, xi = s[C].split(C.op.axis[-1], factor={int(rng.choice([4, 8, 16]))})")
        L.append("s[C].vectorize(xi)")
    elif sch == 5 and nd > 1:
        L.append("s[C].reorder(*reversed(C.op.axis))")
    tgt = "llvm -bounds-check" if rng.random() < 0.3 else "llvm"
    L += [f"f = tl.build(s, [A, C], target='{tgt}')",
          "a = np.arange(100, 100 + P, dtype='int32')",
          "c = np.zeros(shape, 'int32')",
          "f(a, c)",
          "want = np.zeros(shape, 'int32')",
          "for idx in np.ndindex(*shape):",
          f"    {iv}{',' if nd == 1 else ''} = [int(x) for x in idx]",
          f"    want[idx] = {pybody}",
          "R.compare(c, want)"]
    return "\n".join(L) + "\n", {"mode": mode, "sched": sch}
