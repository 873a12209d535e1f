"""Random reductions: te.sum/max/min/fmax/fmin, a product comm_reducer and an argmax tuple reducer,
over random axes, with where= conditions; the reference folds sequentially in loop order."""
from __future__ import annotations

import numpy as np
from fuzzlib import ALL, CASE_IMPORT, kind
from gen_elem import SHAPE_DIMS

REDUCERS = ["sum", "max", "min", "fmax", "fmin", "prod", "argmax", "argmin"]


def gen_reduce(rng, seed):
    nd = int(rng.integers(1, 4))
    while True:
        shape = tuple(int(SHAPE_DIMS[rng.integers(0, len(SHAPE_DIMS))]) for _ in range(nd))
        if int(np.prod(shape)) <= 400:
            break
    dt = str(rng.choice(ALL))
    red = str(rng.choice(REDUCERS))
    nred = int(rng.integers(1, nd + 1))
    raxes = sorted(rng.choice(nd, nred, replace=False).tolist())
    order = list(raxes)
    rng.shuffle(order)  # order of the reduce axes in axis=[...]
    spatial = [d for d in range(nd) if d not in raxes]
    out_shape = tuple(shape[d] for d in spatial)
    body_kind = int(rng.integers(0, 4))
    where_kind = int(rng.integers(0, 4))
    sched = int(rng.integers(0, 5))
    L = []
    L.append("import numpy as np, tensorlang as tl")
    L.append("from tensorlang import te")
    L.append(CASE_IMPORT)
    L.append(f"rng = np.random.default_rng({seed})")
    L.append(f"shape = {shape!r}; out_shape = {out_shape!r}")
    L.append(f"A = te.placeholder(shape, dtype='{dt}', name='A')")
    L.append(f"B = te.placeholder(shape, dtype='{dt}', name='B')")
    for d in raxes:
        L.append(f"k{d} = te.reduce_axis((0, {shape[d]}), name='k{d}')")
    # index expression
    sp_names = [f"i{n}" for n in range(len(spatial))]
    idx = []
    for d in range(nd):
        idx.append(f"k{d}" if d in raxes else sp_names[spatial.index(d)])
    ix = ", ".join(idx)
    if body_kind == 0 or dt == "bool" and body_kind == 1:
        body, ref_body = f"A[{ix}]", "a"
    elif body_kind == 1:
        body, ref_body = f"(A[{ix}] * B[{ix}])", f"R.binop('mul', '{dt}', '{dt}', a, '{dt}', b, '{dt}')"
    elif body_kind == 2:
        body, ref_body = f"te.if_then_else(B[{ix}] > A[{ix}], A[{ix}], B[{ix}])", \
            f"np.where(R.binop('gt', '{dt}', 'bool', b, '{dt}', a, '{dt}'), a, b)"
    else:
        body, ref_body = f"(A[{ix}] - B[{ix}])" if dt != "bool" else f"(A[{ix}] | B[{ix}])", \
            (f"R.binop('sub', '{dt}', '{dt}', a, '{dt}', b, '{dt}')" if dt != "bool"
             else "R.binop('lor', 'bool', 'bool', a, 'bool', b, 'bool')")
    axis = "[" + ", ".join(f"k{d}" for d in order) + "]"
    if where_kind == 0:
        where, ref_where = None, "np.ones(a.shape, bool)"
    elif where_kind == 1:
        where = f"A[{ix}] != B[{ix}]" if dt != "bool" else f"A[{ix}] != B[{ix}]"
        ref_where = f"R.binop('ne', '{dt}', 'bool', a, '{dt}', b, '{dt}')"
    elif where_kind == 2:
        d = raxes[0]
        lim = int(rng.integers(1, shape[d] + 1))
        where, ref_where = f"k{d} < {lim}", f"(np.indices(a.shape)[{d}] < {lim})"
    else:
        d = raxes[-1]
        where, ref_where = f"k{d} % 2 == 0", f"(np.indices(a.shape)[{d}] % 2 == 0)"
    wsrc = f", where={where}" if where else ""
    lam = f"lambda {', '.join(sp_names)}:" if sp_names else "lambda:"
    if red in ("sum", "max", "min", "fmax", "fmin"):
        L.append(f"OUT = te.compute(out_shape, {lam} te.{red}({body}, axis={axis}{wsrc}), name='OUT')")
        outs = ["OUT"]
    elif red == "prod":
        L.append("prod = te.comm_reducer(lambda x, y: x * y, lambda t: te.const(1, dtype=t), name='prod')")
        L.append(f"OUT = te.compute(out_shape, {lam} prod({body}, axis={axis}{wsrc}), name='OUT')")
        outs = ["OUT"]
    else:
        cmp = ">=" if red == "argmax" else "<="
        ident = "te.min_value(t1)" if red == "argmax" else "te.max_value(t1)"
        L.append("def fcombine(x, y):")
        L.append(f"    lhs = te.if_then_else((x[1] {cmp} y[1]), x[0], y[0])")
        L.append(f"    rhs = te.if_then_else((x[1] {cmp} y[1]), x[1], y[1])")
        L.append("    return lhs, rhs")
        L.append("def fidentity(t0, t1):")
        L.append(f"    return te.const(-1, t0), {ident}")
        L.append(f"argred = te.comm_reducer(fcombine, fidentity, name='{red}')")
        # flat index over the reduce axes in axis= order
        flat = None
        for d in order:
            flat = f"k{d}" if flat is None else f"({flat} * {shape[d]} + k{d})"
        L.append(f"OUT_idx, OUT = te.compute(out_shape, {lam} argred(((({flat})).astype('int32'), {body}), "
                 f"axis={axis}{wsrc}), name='OUT')")
        outs = ["OUT_idx", "OUT"]
    L.append("s = te.create_schedule(OUT.op)")
    # order-preserving schedules only (the reference folds in loop order)
    if sched == 1 and spatial:
        L.append("s[OUT].parallel(OUT.op.axis[0])")
    elif sched == 2 and spatial:
        L.append("s[OUT].vectorize(OUT.op.axis[-1])")
    elif sched == 3:
        f = int(rng.integers(1, 6))
        L.append(f"ko, ki = s[OUT].split(OUT.op.reduce_axis[-1], factor={f})")
    elif sched == 4 and spatial:
        L.append("s[OUT].unroll(OUT.op.axis[-1])")
    L.append(f"f = tl.build(s, [A, B, {', '.join(outs)}], target='llvm -fp-contract=off')")
    L.append(f"a = R.gen_data(rng, shape, '{dt}'); b = R.gen_data(rng, shape, '{dt}')")
    for o in outs:
        L.append(f"{o.lower()} = np.zeros(out_shape, dtype=str({o}.dtype))")
    L.append(f"f(a, b, {', '.join(o.lower() for o in outs)})")
    # reference
    perm = spatial + order
    L.append(f"vals = np.asarray({ref_body}); mask = np.asarray({ref_where})")
    L.append(f"vals = np.transpose(vals, {perm}).reshape(out_shape + (-1,))")
    L.append(f"mask = np.transpose(np.broadcast_to(mask, a.shape), {perm}).reshape(out_shape + (-1,))")
    if red in ("sum", "max", "min", "fmax", "fmin", "prod"):
        op = {"sum": "add", "prod": "mul"}.get(red, red)
        if red in ("fmax", "fmin") and kind(dt) != "float":
            op = red[1:]
        if red == "sum":
            ident = "R.const(0, dt)"
        elif red == "prod":
            ident = "R.const(1, dt)"
        elif red in ("max", "min"):
            if kind(dt) == "float":
                ident = f"R.const({'-' if red == 'max' else ''}np.inf, dt)"
            else:
                ident = f"R.const(R.irange(dt)[{0 if red == 'max' else 1}], dt)"
        else:
            ident = "R.const(np.nan, dt)" if kind(dt) == "float" else \
                f"R.const(R.irange(dt)[{0 if red == 'fmax' else 1}], dt)"
        L.append(f"dt = '{dt}'")
        L.append(f"acc = np.broadcast_to({ident}, out_shape).astype(dt)")
        L.append("for k in range(vals.shape[-1]):")
        L.append(f"    nxt = R.binop('{op}', dt, dt, acc, dt, vals[..., k], dt).astype(dt)")
        L.append("    acc = np.where(mask[..., k], nxt, acc)")
        L.append("R.compare(out, acc, exact=True, inputs={})")
    else:
        cmpop = "ge" if red == "argmax" else "le"
        L.append(f"dt = '{dt}'")
        L.append(f"accv = np.broadcast_to(R.const(R.irange(dt)[{0 if red == 'argmax' else 1}] "
                 f"if R.kind(dt) != 'float' else {'-' if red == 'argmax' else ''}np.inf, dt), out_shape).astype(dt)"
                 if kind(dt) != "float" else
                 f"accv = np.full(out_shape, np.finfo(dt).{'min' if red == 'argmax' else 'max'}, dtype=dt)")
        if dt == "bool":
            L[-1] = f"accv = np.full(out_shape, {red == 'argmin'}, dtype=bool)"
        L.append("acci = np.full(out_shape, -1, dtype='int32')")
        L.append("for k in range(vals.shape[-1]):")
        L.append(f"    keep = R.binop('{cmpop}', dt, 'bool', accv, dt, vals[..., k], dt)")
        L.append("    m = mask[..., k]")
        L.append("    acci = np.where(m & ~keep, k, acci); accv = np.where(m & ~keep, vals[..., k], accv)")
        L.append("R.compare(out_idx, acci, what='index')")
        L.append("R.compare(out, accv, exact=True, what='value')")
    return "\n".join(L) + "\n", {"reducer": red, "dtype": dt, "where": where_kind, "sched": sched}
