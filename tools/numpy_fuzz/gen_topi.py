"""topi operators vs numpy on random data."""
from __future__ import annotations

import numpy as np
from fuzzlib import ALL, CASE_IMPORT, FLOATS, INTS, kind, promote
from gen_elem import SHAPE_DIMS, pylit

HEAD = ["import numpy as np, tensorlang as tl",
        "from tensorlang import te, topi",
        CASE_IMPORT]

BCAST = {  # topi name -> (reference op, needs)
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "truediv", "floor_divide": "floordiv",
    "floor_mod": "floormod", "mod": "truncmod", "power": "power", "maximum": "max", "minimum": "min",
    "equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
    "logical_and": "land", "logical_or": "lor", "logical_xor": "lxor", "bitwise_and": "band", "bitwise_or": "bor",
    "bitwise_xor": "bxor", "left_shift": "shl", "right_shift": "shr",
}


def rshape(rng, nd=None, max_elems=200, dims=SHAPE_DIMS):
    while True:
        n = int(rng.integers(0, 4)) if nd is None else nd
        s = tuple(int(dims[rng.integers(0, len(dims))]) for _ in range(n))
        if int(np.prod(s)) <= max_elems:
            return s


def bshape_pair(rng):
    out = rshape(rng, int(rng.integers(1, 4)))
    def derive():
        nd = int(rng.integers(0, len(out) + 1))
        s = list(out[len(out) - nd:])
        for k in range(nd):
            if rng.random() < 0.3:
                s[k] = 1
        return tuple(s)
    return derive(), derive()


def sub_broadcast(rng, seed, L):
    name = str(rng.choice(list(BCAST)))
    op = BCAST[name]
    sa, sb = bshape_pair(rng)
    da = str(rng.choice(ALL))
    db = da if rng.random() < 0.6 else str(rng.choice(ALL))
    if promote(da, db) is None:
        db = da
    p = promote(da, db)
    bitwise = op in ("band", "bor", "bxor", "shl", "shr")
    if bitwise and kind(p) == "float":
        da = db = str(rng.choice(INTS + ["bool"]))
        p = da
    if op == "truediv" and p == "bool":
        da = db = p = "int8"
    if op == "sub" and p == "bool":  # numpy (and topi.subtract) refuse bool - bool
        da = db = p = "int8"
    scalar = rng.random() < 0.25
    L.append(f"A = te.placeholder({sa!r}, dtype='{da}', name='A')")
    L.append(f"a = R.gen_data(rng, {sa!r}, '{da}')")
    if scalar:
        if kind(p) == "float":
            v = float(rng.choice([0.5, 2.0, -3.0, 0.0]))
        else:
            lo, hi = (0, 1) if p == "bool" else (-3 if kind(da) == "int" else 0, 5)
            v = int(rng.integers(lo, hi + 1))
        if op in ("truediv", "floordiv", "floormod", "truncmod") and v == 0:
            v = 1 if not isinstance(v, float) else 2.0
        cdt = ("int32" if da == "bool" else da) if isinstance(v, int) else (da if kind(da) == "float" else "float32")
        if op in ("shl", "shr") and da == "bool":
            cdt = "int8"  # topi shifts cast the bool tensor to int8 first; the scalar meets int8
        L.append(f"C = topi.{name}(A, {pylit(v)})")
        rb, bdt = f"R.const({pylit(v)}, '{cdt}')", cdt
        args, arrs = "A", "a"
        db = cdt
    else:
        L.append(f"B = te.placeholder({sb!r}, dtype='{db}', name='B')")
        L.append(f"b = R.gen_data(rng, {sb!r}, '{db}')")
        L.append(f"C = topi.{name}(A, B)")
        rb, bdt = "b", db
        args, arrs = "A, B", "a, b"
    p = promote(da, db)
    if p is None:
        L.clear()
        return None
    L.append("s = te.create_schedule(C.op)")
    L.append(f"f = tl.build(s, [{args}, C], target='llvm -fp-contract=off')")
    L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
    L.append(f"f({arrs}, c)")
    # reference per TL's rules
    rop, rdt, rp = op, p, p
    if op in ("eq", "ne", "lt", "le", "gt", "ge", "land", "lor", "lxor"):
        rdt = "bool"
    if op in ("land", "lor", "lxor"):
        if op == "lxor":
            L.append(f"want = np.logical_xor(np.asarray(a) != 0, np.asarray({rb}) != 0)")
        else:
            L.append(f"want = R.binop('{op}', '{p}', 'bool', a, '{da}', {rb}, '{bdt}')")
    else:
        if op in ("band", "bor", "bxor") and p == "bool":
            rop, rdt = {"band": "land", "bor": "lor", "bxor": "ne"}[op], "bool"
        if op in ("floordiv", "floormod", "truncmod") and da == "bool" and db == "bool":
            # numpy divides two bools as int8 (and so does topi)
            L.append(f"a_ref = R.cast(a, 'bool', 'int8'); b_ref = R.cast({rb}, 'bool', 'int8')")
            L.append(f"want = R.binop('{rop}', 'int8', 'int8', a_ref, 'int8', b_ref, 'int8')")
            rdt = "int8"
        elif op in ("shl", "shr") and (da == "bool" or db == "bool"):
            # topi shifts cast bools to int8 first
            da2 = "int8" if da == "bool" else da
            db2 = "int8" if db == "bool" else db
            rp = rdt = promote(da2, db2)
            L.append(f"a = a; a_ref = R.cast(a, '{da}', '{da2}'); b_ref = R.cast({rb}, '{bdt}', '{db2}')")
            L.append(f"want = R.binop('{rop}', '{rp}', '{rdt}', a_ref, '{da2}', b_ref, '{db2}')")
        else:
            if op == "power" and p == "bool":
                rp = rdt = "int8"
            L.append(f"want = R.binop('{rop}', '{rp}', '{rdt}', a, '{da}', {rb}, '{bdt}')")
    L.append(f"assert str(C.dtype) == '{rdt}', ('dtype', str(C.dtype), '{rdt}')")
    exact = not (op == "power" and kind(p) == "float")
    if exact:
        L.append("R.compare(c, np.broadcast_to(want, c.shape), exact=True, inputs={})")
    else:
        L.append("R.compare(c, np.broadcast_to(want, c.shape), np.broadcast_to(want, c.shape), exact=False, tol=4)")
    return f"broadcast:{name}:{p}"


def axis_arg(rng, nd, multi=True):
    c = rng.random()
    if c < 0.2 or nd == 0:
        return None
    if c < 0.6 or not multi:
        a = int(rng.integers(0, nd))
        return a - nd if rng.random() < 0.3 else a
    k = int(rng.integers(1, nd + 1))
    return tuple(int(x) for x in sorted(rng.choice(nd, k, replace=False)))


def sub_reduce(rng, seed, L):
    name = str(rng.choice(["sum", "max", "min", "prod", "all", "any", "argmax", "argmin"]))
    shape = rshape(rng, int(rng.integers(1, 4)))
    dt = str(rng.choice(ALL))
    keep = bool(rng.integers(0, 2))
    ax = axis_arg(rng, len(shape), multi=name not in ("argmax", "argmin"))
    L.append(f"A = te.placeholder({shape!r}, dtype='{dt}', name='A')")
    L.append(f"C = topi.{name}(A, axis={ax!r}, keepdims={keep})")
    L.append("s = te.create_schedule(C.op)")
    L.append("f = tl.build(s, [A, C], target='llvm -fp-contract=off')")
    L.append(f"a = R.gen_data(rng, {shape!r}, '{dt}')")
    L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
    L.append("f(a, c)")
    npax = ax
    if name in ("sum", "prod"):
        fn = "np.sum" if name == "sum" else "np.prod"
        # exact: TL folds sequentially in its loop order (float16 sums in float32, documented)
        acc = "float32" if dt == "float16" else dt  # numpy multiplies float16 in float32 too
        L.append(f"want = R.seq_reduce(a, {npax!r}, {keep}, '{'add' if name == 'sum' else 'mul'}', '{acc}', '{dt}')")
        L.append("R.compare(c, want, exact=True)")
        if kind(dt) != "float":  # and numpy's own wrap-around result, in the dtype
            L.append(f"want = {fn}(a, axis={npax!r}, keepdims={keep}, dtype='{dt}')")
            L.append("R.compare(c, want)")
    elif name in ("max", "min"):
        L.append(f"want = np.{name}(a, axis={npax!r}, keepdims={keep})")
        L.append("R.compare(c, want)")
    elif name in ("all", "any"):
        L.append(f"want = np.{name}(a, axis={npax!r}, keepdims={keep})")
        L.append("R.compare(c, want)")
    else:
        L.append(f"want = np.{name}(a, axis={npax!r}, keepdims={keep})")
        L.append("R.compare(c, want.astype(c.dtype))")
    return f"reduce:{name}:{dt}"


def sub_layout(rng, seed, L):
    name = str(rng.choice(["transpose", "reshape", "concatenate", "split", "take", "strided_slice", "where", "clip",
                           "cast", "cumsum", "cumprod", "flip", "expand_dims", "squeeze", "tile", "repeat", "stack",
                           "full", "sign", "gather", "one_hot"]))
    dt = str(rng.choice(ALL))
    nd = int(rng.integers(1, 4))
    shape = rshape(rng, nd)
    L.append(f"shape = {shape!r}")
    L.append(f"A = te.placeholder(shape, dtype='{dt}', name='A')")
    L.append(f"a = R.gen_data(rng, shape, '{dt}')")
    extra_in, extra_arr = "", ""
    if name == "transpose":
        perm = None if rng.random() < 0.3 else [int(x) for x in rng.permutation(nd)]
        if perm is not None and rng.random() < 0.3:
            perm = [p - nd for p in perm]
        L.append(f"C = topi.transpose(A, {perm!r})")
        want = f"np.transpose(a, {perm!r})"
    elif name == "reshape":
        n = int(np.prod(shape))
        facs = [d for d in range(1, n + 1) if n % d == 0]
        d1 = int(rng.choice(facs))
        ns = [d1, n // d1]
        if rng.random() < 0.3:
            ns = [d1, -1]
        if rng.random() < 0.2:
            ns = [n]
        L.append(f"C = topi.reshape(A, {ns!r})")
        want = f"a.reshape({ns!r})"
    elif name in ("concatenate", "stack"):
        ax = int(rng.integers(-nd, nd)) if name == "concatenate" else int(rng.integers(-nd - 1, nd + 1))
        k = int(rng.integers(1, 4))
        shapes = []
        for j in range(k):
            s = list(shape)
            if name == "concatenate":
                s[ax] = int(rng.integers(1, 4))
            shapes.append(tuple(s))
        for j, s in enumerate(shapes):
            L.append(f"X{j} = te.placeholder({s!r}, dtype='{dt}', name='X{j}')")
            L.append(f"x{j} = R.gen_data(rng, {s!r}, '{dt}')")
        xs = ", ".join(f"X{j}" for j in range(k))
        L.append(f"C = topi.{name}([{xs}], {ax})")
        extra_in = ", " + xs
        extra_arr = ", " + ", ".join(f"x{j}" for j in range(k))
        want = f"np.{name}([{', '.join(f'x{j}' for j in range(k))}], {ax})"
    elif name == "split":
        ax = int(rng.integers(-nd, nd))
        n = shape[ax]
        if rng.random() < 0.5:
            facs = [d for d in range(1, n + 1) if n % d == 0]
            sec = int(rng.choice(facs))
        else:
            sec = sorted({int(x) for x in rng.integers(1, n + 1, int(rng.integers(1, 3)))})
            if rng.random() < 0.2:
                sec = sorted({int(x) for x in rng.integers(0, n + 3, 2)})
        L.append(f"Cs = topi.split(A, {sec!r}, {ax})")
        L.append("s = te.create_schedule([c.op for c in Cs])")
        L.append("f = tl.build(s, [A, *Cs], target='llvm')")
        L.append("cs = [np.zeros([int(x) for x in c.shape], dtype=str(c.dtype)) for c in Cs]")
        L.append("f(a, *cs)")
        L.append(f"wants = np.split(a, {sec!r}, {ax})")
        L.append("assert len(wants) == len(cs), ('sections', len(cs), len(wants))")
        L.append("for got, w in zip(cs, wants): R.compare(got, w)")
        return f"layout:split:{dt}"
    elif name == "take":
        idt = str(rng.choice(INTS))
        ishape = rshape(rng, int(rng.integers(0, 3)), max_elems=20)
        axis = None if rng.random() < 0.3 else int(rng.integers(-nd, nd))
        mode = str(rng.choice(["clip", "wrap"]))
        L.append(f"I = te.placeholder({ishape!r}, dtype='{idt}', name='I')")
        L.append(f"ind = R.gen_data(rng, {ishape!r}, '{idt}')")
        L.append(f"C = topi.take(A, I, axis={axis!r}, mode='{mode}')")
        extra_in, extra_arr = ", I", ", ind"
        n = int(np.prod(shape)) if axis is None else shape[axis]
        if mode == "clip":
            L.append(f"norm = np.array([min(max(int(v), 0), {n} - 1) for v in ind.reshape(-1)], dtype=np.int64)"
                     f".reshape(ind.shape)")
        else:
            L.append(f"norm = np.array([int(v) % {n} for v in ind.reshape(-1)], dtype=np.int64).reshape(ind.shape)")
        want = f"np.take(a, norm, axis={axis!r})"
    elif name == "strided_slice":
        k = int(rng.integers(1, nd + 1))
        begin, end, strides = [], [], []
        for d in range(k):
            n = shape[d]
            st = int(rng.choice([1, 1, 2, 3, -1, -2]))
            b = int(rng.integers(-n - 2, n + 3))
            e = int(rng.integers(-n - 2, n + 3))
            begin.append(b)
            end.append(e)
            strides.append(st)
        sl = ", ".join(f"slice({b}, {e}, {s})" for b, e, s in zip(begin, end, strides))
        L.append(f"C = topi.strided_slice(A, {begin!r}, {end!r}, {strides!r})")
        want = f"a[{sl},]"
    elif name == "where":
        cdt = str(rng.choice(ALL))
        sc, sx = bshape_pair(rng)
        sa = tuple(np.broadcast_shapes(sc, sx))
        if rng.random() < 0.5 and len(sa) > 0:
            sa = tuple(1 if rng.random() < 0.3 else d for d in sa)
        L[-3] = f"shape = {sa!r}"
        L[-1] = f"a = R.gen_data(rng, shape, '{dt}')"
        L.append(f"Cd = te.placeholder({sc!r}, dtype='{cdt}', name='Cd')")
        L.append(f"cd = R.gen_data(rng, {sc!r}, '{cdt}')")
        L.append(f"Y = te.placeholder({sx!r}, dtype='{dt}', name='Y')")
        L.append(f"y = R.gen_data(rng, {sx!r}, '{dt}')")
        L.append("C = topi.where(Cd, A, Y)")
        extra_in, extra_arr = ", Cd, Y", ", cd, y"
        # A broadcast with the others too
        want = "np.where(cd != 0, a, y)"
        args = "Cd, A, Y"
        L.append("s = te.create_schedule(C.op)")
        L.append(f"f = tl.build(s, [{args}, C], target='llvm')")
        L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
        L.append("f(cd, a, y, c)")
        L.append(f"R.compare(c, {want})")
        return f"layout:where:{dt}"
    elif name == "clip":
        if kind(dt) == "float":
            lo, hi = sorted([float(rng.choice([-1.5, 0.0, 2.0, -np.inf, 3.5])) for _ in range(2)])
        elif dt == "bool":
            lo, hi = 0, 1
        else:
            lo_, hi_ = (-5, 5) if kind(dt) == "int" else (0, 9)
            lo, hi = sorted(int(x) for x in rng.integers(lo_, hi_, 2))
        L.append(f"C = topi.clip(A, {pylit(lo)}, {pylit(hi)})")
        want = f"np.maximum(np.minimum(a, np.array({pylit(hi)}, '{dt}')), np.array({pylit(lo)}, '{dt}'))"
    elif name == "cast":
        to = str(rng.choice(ALL))
        L.append(f"C = topi.cast(A, '{to}')")
        want = f"R.cast(a, '{dt}', '{to}')"
    elif name in ("cumsum", "cumprod"):
        axis = None if rng.random() < 0.3 else int(rng.integers(-nd, nd))
        odt = None if rng.random() < 0.6 else str(rng.choice(INTS + FLOATS))
        excl = bool(rng.integers(0, 2))
        L.append(f"C = topi.{name}(A, axis={axis!r}, dtype={odt!r}, exclusive={excl})")
        rdt = odt or ("int64" if dt == "bool" else dt)
        np_fn = "np.cumsum" if name == "cumsum" else "np.cumprod"
        ident = 0 if name == "cumsum" else 1
        L.append(f"src = R.cast(a, '{dt}', '{rdt}')")
        L.append(f"with np.errstate(all='ignore'): full = {np_fn}(src, axis={axis!r}, dtype='{rdt}')")
        if excl:
            L.append(f"flat = src.reshape(-1) if {axis!r} is None else src")
            L.append(f"ax_ = 0 if {axis!r} is None else {axis!r}")
            L.append(f"with np.errstate(all='ignore'): inc = {np_fn}(flat, axis=ax_, dtype='{rdt}')")
            L.append("pad = [(0, 0)] * inc.ndim; pad[ax_] = (1, 0)")
            L.append(f"want = np.pad(inc, pad, constant_values={ident})")
            L.append("want = np.take(want, range(inc.shape[ax_]), axis=ax_)")
        else:
            L.append("want = full")
        L.append("s = te.create_schedule(C.op)")
        L.append("f = tl.build(s, [A, C], target='llvm -fp-contract=off')")
        L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
        L.append("f(a, c)")
        L.append(f"assert str(C.dtype) == '{rdt}', ('dtype', str(C.dtype), '{rdt}')")
        L.append("R.compare(c, want, exact=True)")
        return f"layout:{name}:{dt}"
    elif name == "flip":
        ax = int(rng.integers(-nd, nd))
        L.append(f"C = topi.flip(A, {ax})")
        want = f"np.flip(a, {ax})"
    elif name == "expand_dims":
        ax = int(rng.integers(-nd - 1, nd + 1))
        k = int(rng.integers(1, 3))
        L.append(f"C = topi.expand_dims(A, {ax}, {k})")
        want = f"a.reshape(a.shape[:({ax} + a.ndim + 1) % (a.ndim + 1)] + (1,) * {k} + " \
               f"a.shape[({ax} + a.ndim + 1) % (a.ndim + 1):]) if {ax} < 0 else " \
               f"a.reshape(a.shape[:{ax}] + (1,) * {k} + a.shape[{ax}:])"
    elif name == "squeeze":
        ones = [d for d in range(nd) if shape[d] == 1]
        ax = None if not ones or rng.random() < 0.4 else int(rng.choice(ones))
        L.append(f"C = topi.squeeze(A, {ax!r})")
        want = f"np.squeeze(a, {ax!r})"
    elif name == "tile":
        reps = [int(x) for x in rng.integers(1, 3, int(rng.integers(1, 4)))]
        L.append(f"C = topi.tile(A, {reps!r})")
        want = f"np.tile(a, {reps!r})"
    elif name == "repeat":
        ax = int(rng.integers(-nd, nd))
        r = int(rng.integers(1, 4))
        L.append(f"C = topi.repeat(A, {r}, {ax})")
        want = f"np.repeat(a, {r}, {ax})"
    elif name == "full":
        v = rng.choice([0.1, 1e300, -2.5, 7, 300, -1, True, float("nan"), 2**40, 1e-40])
        v = v.item() if hasattr(v, "item") else v
        L.append(f"C = topi.full(shape, '{dt}', {pylit(v) if not isinstance(v, bool) else v})")
        L.append("s = te.create_schedule(C.op)")
        L.append("f = tl.build(s, [C], target='llvm')")
        L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
        L.append("f(c)")
        L.append("with np.errstate(all='ignore'):")
        L.append(f"    want = np.full(shape, np.array({pylit(v) if not isinstance(v, bool) else v}), dtype='{dt}') "
                 f"if R.kind('{dt}') != 'float' or True else None")
        if kind(dt) != "float" and isinstance(v, float):
            L[-1] = f"    want = R.cast(np.full(shape, {pylit(v)}, dtype='float64'), 'float64', '{dt}')"
        L.append("R.compare(c, want)")
        return f"layout:full:{dt}"
    elif name == "sign":
        if dt == "bool":
            dt = "int8"
            L[-2] = f"A = te.placeholder(shape, dtype='{dt}', name='A')"
            L[-1] = f"a = R.gen_data(rng, shape, '{dt}')"
        L.append("C = topi.sign(A)")
        want = "np.sign(a)"
    elif name == "gather":
        ax = int(rng.integers(-nd, nd))
        ishape = list(shape)
        ishape[ax] = int(rng.integers(1, 4))
        idt = str(rng.choice(["int32", "int64", "int8", "uint8"]))
        L.append(f"I = te.placeholder({tuple(ishape)!r}, dtype='{idt}', name='I')")
        L.append(f"ind = rng.integers(0, {shape[ax]}, {tuple(ishape)!r}).astype('{idt}')")
        L.append(f"C = topi.gather(A, {ax}, I)")
        extra_in, extra_arr = ", I", ", ind"
        want = f"np.take_along_axis(a, ind.astype(np.int64), {ax})"
    else:  # one_hot
        depth = int(rng.integers(1, 6))
        idt = str(rng.choice(["int32", "int64", "int8"]))
        ax = int(rng.integers(-1, nd + 1))
        L[-2] = f"A = te.placeholder(shape, dtype='{idt}', name='A')"
        L[-1] = f"a = rng.integers(-2, {depth} + 2, shape).astype('{idt}')"
        odt = dt if dt != "bool" else "int32"
        L.append(f"C = topi.one_hot(A, te.const(1, '{odt}'), te.const(0, '{odt}'), {depth}, {ax}, '{odt}')")
        L.append(f"ax_ = {ax} if {ax} >= 0 else a.ndim + 1 + {ax}")
        L.append(f"oh = (a[..., None] == np.arange({depth})).astype('{odt}')")
        want = "np.moveaxis(oh, -1, ax_)"
    L.append("s = te.create_schedule(C.op)")
    L.append(f"f = tl.build(s, [A{extra_in}, C], target='llvm')")
    L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
    L.append(f"f(a{extra_arr}, c)")
    L.append(f"R.compare(c, {want})")
    return f"layout:{name}:{dt}"


def sub_nn(rng, seed, L):
    name = str(rng.choice(["softmax", "log_softmax", "matmul", "nn.matmul", "dense", "batch_matmul"]))
    if name in ("softmax", "log_softmax"):
        dt = str(rng.choice(FLOATS))
        nd = int(rng.integers(1, 4))
        shape = rshape(rng, nd)
        ax = int(rng.integers(-nd, nd))
        special = 0.0 if rng.random() < 0.7 else 0.1
        L.append(f"A = te.placeholder({shape!r}, dtype='{dt}', name='A')")
        L.append(f"C = topi.nn.{name}(A, axis={ax})")
        L.append("s = te.create_schedule(C.op)")
        L.append("f = tl.build(s, [A, C], target='llvm')")
        L.append(f"a = R.gen_data(rng, {shape!r}, '{dt}', special={special})")
        L.append("c = np.zeros(a.shape, dtype=str(C.dtype))")
        L.append("f(a, c)")
        L.append("x = a.astype('float64')")
        L.append("with np.errstate(all='ignore'):")
        # x - max rounded in the input dtype, as the kernel computes it (exp amplifies that rounding)
        L.append(f"    m = np.max(x, axis={ax}, keepdims=True); d = (a - m.astype(a.dtype)).astype('float64'); "
                 f"e = np.exp(d); ssum = np.sum(e, axis={ax}, keepdims=True)")
        if name == "softmax":
            L.append("    want = e / ssum")
            L.append(f"    atol = 8 * np.finfo('{dt}').eps * np.abs(want) + 8 * np.finfo('{dt}').smallest_subnormal + "
                     f"{'1e-4' if dt == 'float16' else '0'}")
        else:
            L.append("    want = d - np.log(ssum)")
            L.append(f"    atol = 8 * np.finfo('{dt}').eps * (np.abs(x) + np.abs(m) + 1)")
        L.append("R.compare_tol(c, want, atol)")
        return f"nn:{name}:{dt}"
    dt = str(rng.choice(INTS + FLOATS + ["int8", "int32", "float32"]))
    M, K, N = (int(SHAPE_DIMS[rng.integers(0, len(SHAPE_DIMS))]) for _ in range(3))
    B = int(rng.choice([1, 2, 3]))
    out_dtype = None
    if name in ("nn.matmul", "dense", "batch_matmul") and rng.random() < 0.3:
        out_dtype = str(rng.choice(["int32", "int64", "float32", "float64"]))
        if kind(dt) == "float" and kind(out_dtype) != "float":
            out_dtype = "float64"
    ta, tb = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
    if name == "matmul":
        sa = (K, M) if ta else (M, K)
        sb = (N, K) if tb else (K, N)
        call = f"topi.matmul(A, Bt, {ta}, {tb})"
    elif name == "nn.matmul":
        sa = (K, M) if ta else (M, K)
        sb = (N, K) if tb else (K, N)
        call = f"topi.nn.matmul(A, Bt, out_dtype={out_dtype!r}, transpose_a={ta}, transpose_b={tb})"
    elif name == "dense":
        ta, tb = False, True
        sa, sb = (M, K), (N, K)
        call = f"topi.nn.dense(A, Bt, out_dtype={out_dtype!r})"
    else:
        ba = B if rng.random() < 0.8 else 1
        bb = B if rng.random() < 0.8 else 1
        sa = (ba, K, M) if ta else (ba, M, K)
        sb = (bb, N, K) if tb else (bb, K, N)
        call = f"topi.nn.batch_matmul(A, Bt, out_dtype={out_dtype!r}, transpose_a={ta}, transpose_b={tb})"
    odt = out_dtype or dt
    L.append(f"A = te.placeholder({sa!r}, dtype='{dt}', name='A')")
    L.append(f"Bt = te.placeholder({sb!r}, dtype='{dt}', name='Bt')")
    L.append(f"C = {call}")
    L.append("s = te.create_schedule(C.op)")
    L.append("f = tl.build(s, [A, Bt, C], target='llvm')")
    small = kind(dt) == "float"
    L.append(f"a = R.gen_data(rng, {sa!r}, '{dt}', small={small}); b = R.gen_data(rng, {sb!r}, '{dt}', small={small})")
    L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
    L.append("f(a, b, c)")
    L.append(f"assert str(C.dtype) == '{odt}', ('dtype', str(C.dtype), '{odt}')")
    L.append(f"aa = R.cast(a, '{dt}', '{odt}'); bb = R.cast(b, '{dt}', '{odt}')")
    if len(sa) == 2:
        L.append(f"aa = aa.T if {ta} else aa; bb = bb.T if {tb} else bb")
    else:
        L.append(f"aa = np.swapaxes(aa, 1, 2) if {ta} else aa; bb = np.swapaxes(bb, 1, 2) if {tb} else bb")
    if kind(odt) == "float":
        L.append("want = np.matmul(aa.astype('float64'), bb.astype('float64'))")
        L.append("mag = np.matmul(np.abs(aa.astype('float64')), np.abs(bb.astype('float64')))")
        L.append(f"R.compare_tol(c, want.astype('{odt}'), ({K} + 2) * np.finfo('{odt}').eps * mag + "
                 f"np.finfo('{odt}').eps * np.abs(want))")
    else:
        L.append("want = R.from_obj(np.matmul(R.to_obj(aa), R.to_obj(bb)), '" + odt + "')")
        L.append("R.compare(c, want)")
    return f"nn:{name}:{dt}->{odt}"


def sub_extra(rng, seed, L):
    """scatter with narrow index dtypes, average pools of integers and float16, broadcast_to."""
    name = str(rng.choice(["scatter", "avg_pool", "broadcast_to"]))
    if name == "scatter":
        n = int(rng.choice([1, 3, 130, 300, 40000]))
        m = int(rng.integers(0, 40))
        idt = str(rng.choice(["int8", "int16", "uint8", "int32", "int64", "uint16"]))
        dt = str(rng.choice(["float32", "int32", "int8"]))
        L.append(f"D = te.placeholder(({n},), dtype='{dt}', name='D')")
        L.append(f"I = te.placeholder(({m},), dtype='{idt}', name='I')")
        L.append(f"U = te.placeholder(({m},), dtype='{dt}', name='U')")
        L.append("C = topi.scatter(D, I, U, 0)")
        L.append("f = tl.build(te.create_schedule(C.op), [D, I, U, C], target='llvm')")
        L.append(f"d = R.gen_data(rng, ({n},), '{dt}'); u = R.gen_data(rng, ({m},), '{dt}')")
        L.append(f"info = np.iinfo('{idt}'); i = rng.integers(max(info.min, -2 * {n}), min(info.max, 2 * {n}), "
                 f"({m},), endpoint=True).astype('{idt}')")
        L.append("c = np.zeros_like(d)")
        L.append("f(d, i, u, c)")
        L.append("want = d.copy()")
        L.append(f"for k in range({m}):\n    j = int(i[k]) + ({n} if int(i[k]) < 0 else 0)\n"
                 f"    if 0 <= j < {n}:\n        want[j] = u[k]")
        L.append("R.compare(c, want, exact=True)")
        return f"extra:scatter:{idt}"
    if name == "avg_pool":
        dt = str(rng.choice(["int8", "uint8", "int16", "int32", "float16", "float32"]))
        k = int(rng.integers(1, 4))
        st = int(rng.integers(1, 3))
        pd = int(rng.integers(0, k))
        h = int(rng.integers(k, 7))
        cip = bool(rng.integers(0, 2))
        shape = (1, 2, h, h)
        L.append(f"A = te.placeholder({shape!r}, dtype='{dt}', name='A')")
        L.append(f"C = topi.nn.pool2d(A, ({k}, {k}), ({st}, {st}), (1, 1), ({pd},) * 4, 'avg', "
                 f"count_include_pad={cip})")
        L.append("f = tl.build(te.create_schedule(C.op), [A, C], target='llvm')")
        if dt.startswith("float"):
            L.append(f"a = (rng.standard_normal({shape!r}) * (20000 if '{dt}' == 'float16' else 1)).astype('{dt}')")
        else:
            L.append(f"info = np.iinfo('{dt}'); a = rng.integers(info.min, info.max, {shape!r}, endpoint=True)"
                     f".astype('{dt}')")
        L.append("c = np.zeros([int(x) for x in C.shape], dtype=str(C.dtype))")
        L.append("f(a, c)")
        L.append(f"p = np.pad(a.astype('float64'), ((0, 0), (0, 0), ({pd}, {pd}), ({pd}, {pd})))")
        L.append(f"ones = np.pad(np.ones(({h}, {h})), {pd})")
        L.append("want = np.zeros(c.shape); mag = np.zeros(c.shape)")
        L.append(f"for y in range(c.shape[2]):\n    for x in range(c.shape[3]):\n"
                 f"        win = (slice(y * {st}, y * {st} + {k}), slice(x * {st}, x * {st} + {k}))\n"
                 f"        cnt = {k * k} if {cip} else max(ones[win].sum(), 1)\n"
                 f"        want[:, :, y, x] = p[(slice(None), slice(None)) + win].sum(axis=(2, 3)) / cnt\n"
                 f"        mag[:, :, y, x] = np.abs(p[(slice(None), slice(None)) + win]).sum(axis=(2, 3)) / cnt")
        if dt.startswith("float"):
            # float32 sums round each of the k*k additions; float16 adds up in float32, rounded once
            L.append(f"R.compare_tol(c, want.astype('{dt}'), ({k * k} + 2) * np.finfo('float32').eps * mag + "
                     f"np.finfo('{dt}').eps * np.abs(want))")
        else:
            L.append(f"R.compare(c, np.trunc(want).astype('{dt}'), exact=True)")
        return f"extra:avg_pool:{dt}"
    src = rshape(rng, int(rng.integers(0, 4)), max_elems=60)
    dst = list(src)
    for k in range(len(dst)):
        if rng.random() < 0.3:
            dst[k] = 1 if rng.random() < 0.5 else int(rng.integers(0, 4))
    dst = [int(rng.integers(0, 3)) for _ in range(int(rng.integers(0, 3)))] + dst
    dst = tuple(dst)
    try:
        np.broadcast_to(np.zeros(src), dst)
        ok = True
    except ValueError:
        ok = False
    L.append(f"A = te.placeholder({src!r}, dtype='float32', name='A')")
    if not ok:
        L.append("try:")
        L.append(f"    topi.broadcast_to(A, {dst!r})")
        L.append("except tl.TensorLangError:\n    pass")
        L.append(f"else:\n    raise AssertionError('broadcast_to {src} -> {dst} accepted; numpy refuses it')")
        return "extra:broadcast_to:refused"
    L.append(f"C = topi.broadcast_to(A, {dst!r})")
    L.append("f = tl.build(te.create_schedule(C.op), [A, C], target='llvm')")
    L.append(f"a = R.gen_data(rng, {src!r}, 'float32')")
    L.append("c = np.zeros([int(x) for x in C.shape], dtype='float32')")
    L.append("f(a, c)")
    L.append(f"R.compare(c, np.broadcast_to(a, {dst!r}), exact=True)")
    return "extra:broadcast_to"


def gen_topi(rng, seed):
    L = list(HEAD) + [f"rng = np.random.default_rng({seed})"]
    sub = str(rng.choice(["broadcast", "reduce", "layout", "nn", "extra"], p=[0.27, 0.22, 0.27, 0.12, 0.12]))
    fn = {"broadcast": sub_broadcast, "reduce": sub_reduce, "layout": sub_layout, "nn": sub_nn,
          "extra": sub_extra}[sub]
    body = []
    tag = fn(rng, seed, body)
    if tag is None:
        body = []
        tag = sub_reduce(rng, seed, body)
    return "\n".join(L + body) + "\n", {"op": tag}
