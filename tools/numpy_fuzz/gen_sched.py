"""Random schedules (split/reorder/fuse/tile/vectorize/unroll/parallel/compute_at/compute_inline/cache_read/
cache_write/rfactor/pragma) on small computations, constant or symbolic shapes; a primitive tensorlang
refuses with a TensorLangError is noted and skipped; the result must equal the numpy reference."""
from __future__ import annotations

from fuzzlib import CASE_IMPORT

DIMS = [1, 2, 3, 5, 7, 8, 16, 17, 33]
DTYPES = ["int32", "int64", "int8", "uint8", "uint32", "float32", "float64", "float16"]

PRELUDE = '''import numpy as np, tensorlang as tl
from tensorlang import te
import tensorlang.errors as E
''' + CASE_IMPORT + '''
REFUSED = []
def leaf(T, r):
    lv = s[T].leaf_iter_vars
    return lv[r % len(lv)]
def prim(line, fn):
    try:
        return fn()
    except E.TensorLangError as e:
        REFUSED.append((line, type(e).__name__, str(e)[:200]))
        return None
'''


def gen_sched(rng, seed):
    comp = str(rng.choice(["ew", "mm", "two", "redcons", "ew3"]))
    dt = str(rng.choice(DTYPES))
    n, m, l = (int(rng.choice(DIMS)) for _ in range(3))
    sym = rng.random() < 0.3
    L = [PRELUDE, f"rng = np.random.default_rng({seed})", f"dt = '{dt}'", f"n, m, l = {n}, {m}, {l}"]
    if sym:  # symbolic sizes in the declaration, bound from the arrays at call time
        L.append("N_, M_, L_ = n, m, l; n, m, l = te.var('n'), te.var('m'), te.var('l')")
    stages = []  # (tensor name, has reduce)
    producers = []
    if comp == "ew":
        L += ["A = te.placeholder((n, m), dtype=dt, name='A'); B = te.placeholder((n, m), dtype=dt, name='B')",
              "C = te.compute((n, m), lambda i, j: A[i, j] * B[i, j] + A[i, j], name='C')",
              "ins = [A, B]; outs = [C]",
              "a = R.gen_data(rng, (n, m), dt, small=True); b = R.gen_data(rng, (n, m), dt, small=True)",
              "arrs = [a, b]",
              "want = [R.binop('add', dt, dt, R.binop('mul', dt, dt, a, dt, b, dt), dt, a, dt)]"]
        stages = [("C", False)]
    elif comp == "ew3":
        L += ["A = te.placeholder((n, m, l), dtype=dt, name='A'); B = te.placeholder((l,), dtype=dt, name='B')",
              "C = te.compute((n, m, l), lambda i, j, k: A[i, j, k] - B[k], name='C')",
              "ins = [A, B]; outs = [C]",
              "a = R.gen_data(rng, (n, m, l), dt, small=True); b = R.gen_data(rng, (l,), dt, small=True)",
              "arrs = [a, b]",
              "want = [R.binop('sub', dt, dt, a, dt, b, dt)]"]
        stages = [("C", False)]
    elif comp == "mm":
        L += ["A = te.placeholder((n, l), dtype=dt, name='A'); B = te.placeholder((l, m), dtype=dt, name='B')",
              "k = te.reduce_axis((0, l), name='k')",
              "C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name='C')",
              "ins = [A, B]; outs = [C]",
              "a = R.gen_data(rng, (n, l), dt, small=True); b = R.gen_data(rng, (l, m), dt, small=True)",
              "arrs = [a, b]",
              "want = [R.from_obj(np.matmul(R.to_obj(a), R.to_obj(b)), dt) if R.kind(dt) != 'float' else "
              "np.matmul(a.astype('float64'), b.astype('float64'))]"]
        stages = [("C", True)]
    elif comp == "two":
        L += ["A = te.placeholder((n, m), dtype=dt, name='A')",
              "P = te.compute((n, m), lambda i, j: A[i, j] * 3 + 1, name='P')",
              "C = te.compute((n, m), lambda i, j: P[i, j] + P[i, m - 1 - j], name='C')",
              "ins = [A]; outs = [C]",
              "a = R.gen_data(rng, (n, m), dt, small=True)",
              "arrs = [a]",
              "p = R.binop('add', dt, dt, R.binop('mul', dt, dt, a, dt, R.const(3, dt), dt), dt, R.const(1, dt), dt)",
              "want = [R.binop('add', dt, dt, p, dt, p[:, ::-1], dt)]"]
        stages = [("C", False), ("P", False)]
        producers = [("P", "C")]
    else:  # redcons
        L += ["A = te.placeholder((n, m), dtype=dt, name='A')",
              "k = te.reduce_axis((0, m), name='k')",
              "S = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name='S')",
              "C = te.compute((n, m), lambda i, j: A[i, j] - S[i], name='C')",
              "ins = [A]; outs = [C]",
              "a = R.gen_data(rng, (n, m), dt, small=True)",
              "arrs = [a]",
              "ssum = a.astype('float64').sum(axis=1) if R.kind(dt) == 'float' else "
              "R.from_obj(R.to_obj(a).sum(axis=1), dt)",
              "want = [a.astype('float64') - ssum[:, None] if R.kind(dt) == 'float' else "
              "R.binop('sub', dt, dt, a, dt, ssum[:, None], dt)]"]
        stages = [("C", False), ("S", True)]
        producers = [("S", "C")]
    if sym:
        k_ = next(i for i, x in enumerate(L) if x.startswith("ins = "))
        L.insert(k_ + 1, "n, m, l = N_, M_, L_")
    L.append("s = te.create_schedule([o.op for o in outs])")
    # structural primitives first
    r = rng.random()
    if r < 0.15:
        L.append("AA = prim('cache_read', lambda: s.cache_read(A, 'local', [%s]))" %
                 (producers[0][0] if producers else "C"))
    elif r < 0.3:
        L.append("CC = prim('cache_write', lambda: s.cache_write(C, 'local'))")
        L.append("if CC is not None: STAGES_EXTRA = ['CC']")
        stages = stages + [("CC", stages[0][1])]
        producers = producers + [("CC", "C")]
    elif r < 0.4 and comp in ("mm", "redcons"):
        red = "C" if comp == "mm" else "S"
        f = int(rng.integers(1, 6))
        L.append(f"ko_, ki_ = s[{red}].split(s[{red}].op.reduce_axis[0], factor={f})")
        L.append(f"RF = prim('rfactor', lambda: s.rfactor({red}, ki_))")
        if rng.random() < 0.5:
            L.append(f"if RF is not None: prim('rf_compute_at', lambda: s[RF].compute_at(s[{red}], "
                     f"s[{red}].op.axis[0]) if s[{red}].op.axis else None)")
    nprims = int(rng.integers(1, 7))
    for _ in range(nprims):
        st, has_red = stages[int(rng.integers(0, len(stages)))]
        p = str(rng.choice(["split", "split_nparts", "reorder", "fuse", "vectorize", "unroll", "parallel",
                            "compute_at", "compute_inline", "tile", "pragma"]))
        a1, a2 = int(rng.integers(0, 8)), int(rng.integers(1, 10))
        if p == "split":
            line = f"s[{st}].split(leaf({st}, {a1}), factor={a2})"
        elif p == "split_nparts":
            line = f"s[{st}].split(leaf({st}, {a1}), nparts={a2})"
        elif p == "reorder":
            perm_seed = int(rng.integers(0, 1000))
            line = (f"s[{st}].reorder(*[s[{st}].leaf_iter_vars[x] for x in "
                    f"np.random.default_rng({perm_seed}).permutation(len(s[{st}].leaf_iter_vars))])")
        elif p == "fuse":
            line = f"s[{st}].fuse(leaf({st}, {a1}), leaf({st}, {a1} + 1)) if len(s[{st}].leaf_iter_vars) > 1 " \
                   f"and {a1} % len(s[{st}].leaf_iter_vars) + 1 < len(s[{st}].leaf_iter_vars) else None"
        elif p == "vectorize":
            line = f"s[{st}].vectorize(s[{st}].leaf_iter_vars[-1])"
        elif p == "unroll":
            line = f"s[{st}].unroll(leaf({st}, {a1}))"
        elif p == "parallel":
            line = f"s[{st}].parallel(s[{st}].leaf_iter_vars[0])"
        elif p == "pragma":
            kind_ = str(rng.choice(["nontemporal", "prefetch", "unroll_explicit", "auto_unroll_max_step"]))
            val = {"nontemporal": "True", "prefetch": str(int(rng.integers(1, 64))), "unroll_explicit": "1",
                   "auto_unroll_max_step": "16"}[kind_]
            line = f"s[{st}].pragma(leaf({st}, {a1}), '{kind_}', {val})"
        elif p == "tile":
            line = f"s[{st}].tile(s[{st}].op.axis[0], s[{st}].op.axis[-1], {a2}, {int(rng.integers(1, 9))}) " \
                   f"if len(s[{st}].op.axis) > 1 else None"
        elif p == "compute_at":
            if not producers:
                continue
            prod, cons = producers[int(rng.integers(0, len(producers)))]
            line = f"s[{prod}].compute_at(s[{cons}], leaf({cons}, {a1}))"
            st = prod
        else:
            if not producers:
                continue
            prod, _ = producers[int(rng.integers(0, len(producers)))]
            line = f"s[{prod}].compute_inline()"
            st = prod
        if st == "CC":
            L.append(f"if CC is not None: prim({line!r}, lambda: {line})")
        else:
            L.append(f"prim({line!r}, lambda: {line})")
    L.append("f = tl.build(s, ins + outs, target='llvm -fp-contract=off')")
    L.append("outv = [np.zeros(np.shape(w), dtype=str(o.dtype)) for o, w in zip(outs, want)]")
    L.append("f(*arrs, *outv)")
    L.append("NOTE = 'refused: ' + '; '.join(r[0] + ' -> ' + r[1] for r in REFUSED) if REFUSED else ''")
    L.append("for got, w in zip(outv, want):")
    L.append("    if R.kind(dt) == 'float':")
    L.append("        w64 = np.asarray(w, dtype='float64')")
    L.append("        R.compare_tol(got, w64.astype(dt), 64 * np.finfo(dt).eps * (np.abs(w64) + 8 * max(l, m)))")
    L.append("    else:")
    L.append("        R.compare(got, w)")
    return "\n".join(L) + "\n", {"comp": comp, "dtype": dt}
