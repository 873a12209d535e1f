"""The analytic prior: random decisions for a sketch, mutations of them, and a hardware-model score.

``random_decisions`` draws every split slot by handing each prime factor of the extent to a
random level; ``mutate`` moves one prime factor between two levels of one slot, or redraws a
choice.  ``prior_score`` estimates, from the ``HardwareModel`` alone, how well the decisions use
the machine (log scale, higher is better): on CPUs enough independent vector accumulators to
cover FMA latency without spilling registers, full vector lanes, few loads per FMA, tiles that
fit the caches and parallel work that divides evenly among threads; on GPUs enough threads per
block in whole warps, a register tile per thread that fits, shared memory within the limit and
enough blocks.  Sampling many random candidates and keeping the best by this score makes the
first measured batch good before any measurement.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from ..autotune.space import InstantiationError
from .dag import ComputeDAG, StageInfo, tensor_reads, vars_of
from .hardware import HardwareModel
from .sketch import (
    AT,
    FLAT,
    GCROSS,
    GFLAT,
    GROWS,
    GTILE,
    INLINE,
    LANE_BLOCK_PLACES,
    LANE_ORDERS,
    LANE_UNPACK,
    LANES,
    MAX_ACCUMULATORS,
    PTILE,
    RFACTOR,
    ROOT,
    ROWS,
    SIMPLE,
    TILE,
    ChoiceSlot,
    Sketch,
    Slot,
    SplitSlot,
    _kind,
    blocked_reduce_axis,
    calls_math,
)


def prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def random_split(slot: SplitSlot, rng: random.Random) -> list[int]:
    """Each prime factor of the extent to a random level (the innermost only while it stays
    within ``slot.max_last``); for a slot with ``lasts``, half the time the innermost is one of
    them and the prime factors of ``ceil(extent / innermost)`` go to the outer levels."""
    parts = [1] * slot.parts
    if slot.lasts and rng.random() < 0.5:
        parts[-1] = rng.choice(slot.lasts)
        for p in prime_factors(-(-slot.extent // parts[-1])):
            parts[rng.randrange(slot.parts - 1)] *= p
        return parts
    for p in prime_factors(slot.extent):
        i = rng.randrange(slot.parts)
        if i == slot.parts - 1 and slot.max_last and parts[i] * p > slot.max_last:
            i = rng.randrange(slot.parts - 1)
        parts[i] *= p
    return parts


def with_last(slot: SplitSlot, last: int, parts: list[int]) -> list[int]:
    """``parts`` with innermost factor ``last``: the middle levels kept where they still divide
    what is left of ``ceil(extent / last)``, the outermost level taking the rest."""
    rest = -(-slot.extent // last)
    middle = list(parts[1:-1])
    for i, m in enumerate(middle):
        if rest % m:
            middle[i] = 1
        rest //= middle[i]
    return [rest, *middle, last]


def random_decisions(slots: list[Slot], rng: random.Random) -> dict[str, Any]:
    """Every slot drawn uniformly (splits: each prime factor to a random level)."""
    return {s.name: random_split(s, rng) if isinstance(s, SplitSlot) else rng.choice(s.choices) for s in slots}


def mutate(decisions: Mapping[str, Any], slots: list[Slot], rng: random.Random) -> dict[str, Any]:
    """A copy of ``decisions`` with one slot changed (a prime factor moved, or another choice)."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in decisions.items()}
    movable = [s for s in slots if (isinstance(s, SplitSlot) and s.extent > 1) or
               (isinstance(s, ChoiceSlot) and len(s.choices) > 1)]
    if not movable:
        return out
    slot = rng.choice(movable)
    if isinstance(slot, ChoiceSlot):
        out[slot.name] = rng.choice([c for c in slot.choices if c != out[slot.name]])
        return out
    parts = out[slot.name]
    if slot.lasts and (not slot.exact(parts) or rng.random() < 0.3):
        # A register tile that need not divide: another innermost size, or a factor moved
        # between the outer levels (which keeps their product).
        if rng.random() < 0.5 or slot.parts < 3 or all(v == 1 for v in parts[:-1]):
            choices = [v for v in (*slot.lasts, *_divisors(slot.extent, slot.max_last)) if v != parts[-1]]
            if choices:
                out[slot.name] = with_last(slot, rng.choice(choices), parts)
            return out
        outer = parts[:-1]
        src = rng.choice([i for i, v in enumerate(outer) if v > 1])
        p = rng.choice(prime_factors(outer[src]))
        dst = rng.choice([i for i in range(len(outer)) if i != src])
        parts[src] //= p
        parts[dst] *= p
        return out
    src = rng.choice([i for i, v in enumerate(parts) if v > 1])
    p = rng.choice(prime_factors(parts[src]))
    dst = rng.choice([i for i in range(len(parts)) if i != src])
    if dst == len(parts) - 1 and slot.max_last and parts[dst] * p > slot.max_last:
        return out        # the innermost level is full: this mutation is a no-op
    parts[src] //= p
    parts[dst] *= p
    return out


def _divisors(n: int, top: int) -> list[int]:
    return [d for d in range(1, (top or n) + 1) if n % d == 0]


# --- the score ---------------------------------------------------------------------------------------

def _log(x: float) -> float:
    return math.log(max(x, 1e-6))


def _even(n: int, workers: int) -> float:
    """Share of ``workers`` busy when ``n`` equal pieces are dealt out."""
    if n <= 0:
        return 1e-3
    return n / (math.ceil(n / workers) * workers)


def _vector_eff(n: int, lanes: int) -> float:
    if n <= 1:
        return 1.0 / lanes
    return n / (math.ceil(n / lanes) * lanes)


def _tile_cpu(info: StageInfo, d: Mapping[str, Any], hw: HardwareModel) -> float:
    sp = [d[f"{info.key}.s{i}"] for i in range(len(info.spatial))]
    rd = [d[f"{info.key}.r{i}"] for i in range(len(info.reduce))]
    lanes = hw.lanes(info.dtype_bits)
    inner = sp[-1][3]
    others = math.prod(s[3] for s in sp[:-1])
    vecs = math.ceil(inner / lanes)
    acc = others * vecs
    regs = hw.vector_registers - 4
    score = _log(_vector_eff(inner, lanes))
    # Units x latency chains only just cover the FMA latency; loads and broadcasts between the
    # FMAs need half as many again (on Zen 5, 8 accumulators fall short of peak, 12 reach it).
    score += _log(min(1.0, acc / (1.5 * hw.accumulators)))
    if acc > regs:
        score -= 0.5 * (acc - regs)          # spills: every extra accumulator costs loads and stores
    loads = others + vecs                     # broadcasts of one operand, vectors of the other
    score += 0.5 * _log(min(1.0, 1.5 * acc / loads))
    # FMAs per load: past what covers the latency, a taller tile still saves loads and broadcasts
    # (5 x 64 and 6 x 64 beat 4 x 64) while the accumulators, one operand vector and a broadcast
    # fit the register file.
    score += 0.3 * _log(min(1.0, acc / loads / 2.4))
    if acc + vecs + 1 > hw.vector_registers:
        score -= 0.3
    tiles = [s[2] * s[3] for s in sp]
    covered = math.prod(-(-n // t) * t for n, t in zip(info.spatial, tiles))
    score += _log(info.points / covered)      # guarded tails compute (and waste) whole tiles
    elem = info.dtype_bits // 8
    tile = math.prod(s[2] * s[3] for s in sp) * elem
    score += 0.5 * _log(min(1.0, hw.l1_bytes / 2 / tile))
    red_inner = math.prod(r[1] for r in rd)
    red_total = math.prod(info.reduce)
    # Operands streamed per outer-tile: rows and columns of the tile over the whole reduction.
    panel = (math.prod(s[2] * s[3] for s in sp[:-1]) + sp[-1][2] * sp[-1][3]) * red_total * elem
    score += 0.3 * _log(min(1.0, hw.l2_bytes / panel))
    score += 0.2 * _log(min(1.0, red_inner / 2)) + 0.1 * _log(min(1.0, 64 / red_inner))
    par = math.prod(s[0] for s in sp)
    score += _log(_even(par, hw.threads)) + (0 if par >= hw.threads else -1.0)
    score += 0.2 * _log(min(1.0, par / (4 * hw.threads)))
    return score


def _lanes_cpu(info: StageInfo, d: Mapping[str, Any], hw: HardwareModel) -> float:
    """The lanes sketch's register tile: ``reg_n`` columns x ``bn`` lanes, each reduction step
    ``reg_n`` broadcasts and ``bn / lanes`` weight vectors for ``reg_n * bn / lanes`` FMAs."""
    key = info.key
    bn, reg_n = d[f"{key}.bn"], d[f"{key}.reg_n"]
    lanes = hw.lanes(info.dtype_bits)
    vecs = math.ceil(bn / lanes)
    acc = reg_n * vecs
    score = _log(_vector_eff(bn, lanes))
    score += _log(min(1.0, acc / (1.5 * hw.accumulators)))
    regs = hw.vector_registers - 4
    if acc > regs:
        score -= 0.5 * (acc - regs)
    loads = reg_n + vecs
    score += 0.5 * _log(min(1.0, 1.5 * acc / loads)) + 0.3 * _log(min(1.0, acc / loads / 2.4))
    if acc + vecs + 1 > hw.vector_registers:
        score -= 0.3
    width = info.spatial[-1]
    score += _log(width / (math.ceil(width / reg_n) * reg_n))   # a guarded last tile
    # The weights one column block streams over (blocked reduction x the rest x the lanes)
    # should stay in L1 while the block's columns pass.
    r = blocked_reduce_axis(info)
    inner = d[f"{key}.r"][1]
    block = inner * math.prod(info.reduce) // info.reduce[r] * bn * info.dtype_bits // 8
    score += 0.3 * _log(min(1.0, hw.l1_bytes / 2 / block)) + 0.2 * _log(min(1.0, inner / 8))
    rows = info.points // (width * bn)
    score += _log(_even(rows, hw.threads)) + (0 if rows >= hw.threads else -1.0)
    # What examples/conv2d.py measured: unpacking a row from L1 beats a pass over memory, all
    # weight blocks over a row in cache beat the reverse, and the others matter little.
    score += (0.1 * (d[f"{key}.unpack"] == LANE_UNPACK[0]) + 0.05 * (d[f"{key}.blocks"] == LANE_BLOCK_PLACES[0])
              + 0.02 * (d[f"{key}.order"] == LANE_ORDERS[0]) + 0.02 * bool(d[f"{key}.unroll"]))
    return score


# Virtual threads of a GPU tile (all axes together) beyond which a candidate is not proposed, as
# TVM's max_vthread_extent: each is a copy of the thread's body, and a 997-row tile given 997 of
# them took 20 s to build (or could not be unrolled at all) for no gain.
MAX_VTHREADS = 8


def _tile_gpu(info: StageInfo, d: Mapping[str, Any], hw: HardwareModel) -> float:
    sp = [d[f"{info.key}.s{i}"] for i in range(len(info.spatial))]
    rd = [d[f"{info.key}.r{i}"] for i in range(len(info.reduce))]
    threads = math.prod(s[2] for s in sp)
    if threads > hw.max_threads_per_block or math.prod(s[1] for s in sp) > MAX_VTHREADS:
        return -50.0
    per_thread = math.prod(s[1] * s[3] for s in sp)
    blocks = math.prod(s[0] for s in sp)
    elem = info.dtype_bits // 8
    shared = (math.prod(s[1] * s[2] * s[3] for s in sp[:-1]) + math.prod(s[1] * s[2] * s[3] for s in sp[-1:])) \
        * math.prod(r[1] for r in rd) * elem
    if shared > hw.max_shared_bytes:
        return -50.0
    score = _log(min(1.0, threads / 128)) + _log(_even(threads, hw.warp_size))
    score += _log(min(1.0, per_thread / 8)) + _log(min(1.0, 64 / per_thread))
    score += _log(min(1.0, blocks / 64))
    return score


def _flat(n: int, v: int, hw: HardwareModel, bits: int) -> float:
    lanes = hw.lanes(bits)
    return (_log(_vector_eff(v, lanes)) + _log(min(1.0, 8 * lanes / v) ** 0.3)
            + _log(_even(n // v, hw.threads)) + _log(min(1.0, (n // v) / hw.threads)))


def _stage_score(info: StageInfo, plan: str, d: Mapping[str, Any], hw: HardwareModel) -> float:
    kind, anchor = _kind(plan)
    key = info.key
    if kind == TILE:
        return _tile_cpu(info, d, hw)
    if kind == PTILE:
        # Packing pays when a panel (the reduction x the tile's columns) overflows L1, where the
        # unpacked columns' row stride would thrash it, and there are rows enough to reuse it.
        sp = d[f"{key}.s{len(info.spatial) - 1}"]
        panel = math.prod(info.reduce) * sp[2] * sp[3] * info.dtype_bits // 8
        reuse = info.points // info.spatial[-1]
        return _tile_cpu(info, d, hw) + (0.15 if panel > hw.l1_bytes // 2 and reuse >= 64 else -0.15)
    if kind == LANES:
        return _lanes_cpu(info, d, hw)
    if kind == ROOT:
        return 0.0
    if kind == GTILE:
        return _tile_gpu(info, d, hw)
    if kind == RFACTOR:
        _, kio, kii = d[f"{key}.rf"]
        lanes = hw.lanes(info.dtype_bits)
        s = _log(_vector_eff(kii, lanes)) + 0.3 * _log(min(1.0, 4 * lanes / (kio * kii)))
        # Independent chains (kio of them, interleaved in the loop; see the sketch) hide the
        # latency of the add or max: as many as the FMA pipes need.
        chains = kio * math.ceil(kii / lanes) if anchor and kio <= MAX_ACCUMULATORS else math.ceil(kii / lanes)
        s += 0.3 * _log(min(1.0, chains / hw.accumulators))
        if not anchor:
            s += _log(_even(info.points * kio, hw.threads)) + _log(min(1.0, info.points * kio / hw.threads))
        return s
    if kind == SIMPLE:
        # A scalar reduction chain: one lane, and one add latency per element.
        lanes = hw.lanes(info.dtype_bits)
        return 0.7 * _log(1 / lanes) if math.prod(info.reduce) >= lanes else 0.0
    if kind == INLINE:
        # Inlined into k consumers, an expensive expression is evaluated k times.
        return -0.7 * math.log(len(info.consumers)) if len(info.consumers) > 1 and calls_math(info) else 0.0
    if kind == AT:
        _, v = d[f"{key}.vec"]
        return _log(_vector_eff(v, hw.lanes(info.dtype_bits))) + 0.2 * _log(min(1.0, 16 * hw.lanes() / v))
    if kind == FLAT:
        _, v = d[f"{key}.flat"]
        return _flat(info.points, v, hw, info.dtype_bits)
    if kind == ROWS:
        _, r = d[f"{key}.rows"]
        s = _log(_even(info.spatial[0] // r, hw.threads))
        if d.get(f"{key}.pipeline") and d.get(f"{key}.prefetch"):
            # A pipelined chunk of rows starts and drains its pipeline once: about one row's
            # work that overlaps nothing (measured: 16-row chunks 3-4% slower than 256-row ones).
            s += _log(r / (r + 1.0))
        else:
            s += 0.3 * _log(min(1.0, 4 / r))
        if len(info.spatial) > 1:
            _, v = d[f"{key}.vec"]
            s += _log(_vector_eff(v, hw.lanes(info.dtype_bits))) + 0.2 * _log(min(1.0, 16 * hw.lanes() / v))
        if f"{key}.prefetch" in d:
            # Rows streamed from memory (more than the caches hold) arrive in time only when the
            # previous row's arithmetic prefetches them.
            streamed = info.points * info.dtype_bits // 8 > hw.l2_bytes
            s += 0.0 if bool(d[f"{key}.prefetch"]) == streamed else -0.3
            if d.get(f"{key}.pipeline"):
                # Pipelining overlaps a streamed row's stores with the next row's arithmetic; it
                # needs the prefetching loop, and without one it is the same schedule twice.
                s += 0.1 if streamed and d[f"{key}.prefetch"] else -0.1
        return s
    if kind == GFLAT:
        _, t = d[f"{key}.threads"]
        if t > hw.max_threads_per_block:
            return -50.0
        s = _log(min(1.0, t / 128)) + _log(_even(t, hw.warp_size)) + _log(min(1.0, (info.points // t) / 64))
        if info.is_reduction:
            # One thread walks a whole reduction serially: slow when it is long.
            s += 0.5 * _log(min(1.0, 256 / math.prod(info.reduce)))
        return s
    if kind == GROWS:
        t = d[f"{key}.threads"]
        row = info.spatial[-1]  # at least the innermost axis is a row's (more when rows are fewer axes)
        # Enough threads to hide latency, no more than the row has work for (4 elements each).
        return _log(min(1.0, t / 128)) + _log(min(1.0, row / (4 * t)))
    if kind == GCROSS and f"{key}.threads" in d:
        t = d[f"{key}.threads"]
        r = math.prod(info.reduce)
        return _log(min(1.0, t / 128)) + _log(min(1.0, r / (4 * t)))
    return 0.0


def register_tiles(hw: HardwareModel, extent_rows: int, extent_cols: int, dtype_bits: int = 32,
                   count: int = 6) -> list[tuple[int, int]]:
    """The ``count`` best register tiles (rows, columns) for this machine: enough independent
    vector accumulators to cover the FMA latency, accumulators plus one operand vector and a
    broadcast within the register file; ranked by FMAs per load times the share of the
    computed tiles that is real output (a 48-wide tile of 56 columns wastes 42%)."""
    lanes = hw.lanes(dtype_bits)
    widths = {v * lanes for v in range(1, 5)}
    if extent_cols <= 4 * lanes:
        widths.add(extent_cols)             # the whole row: no tail
    tiles = []
    for nr in sorted(widths):
        vecs = -(-nr // lanes)
        for mr in range(1, 9):
            acc = mr * vecs
            if (acc < 1.5 * hw.accumulators or acc + vecs + 1 > hw.vector_registers
                    or mr > extent_rows or nr > max(lanes, extent_cols)):
                continue
            used = (extent_rows / (-(-extent_rows // mr) * mr)) * (extent_cols / (-(-extent_cols // nr) * nr))
            tiles.append((-acc / (mr + vecs) * used, -acc, mr, nr))
    tiles.sort()
    return [(mr, nr) for *_, mr, nr in tiles[:count]]


def _row_axis(info: StageInfo) -> int | None:
    """The output axis a register tile's rows run along: the longest non-innermost axis that the
    reads along the innermost axis do not use (so each row is one broadcast times those vectors)."""
    if len(info.spatial) < 2:
        return None
    axes = [iv.var for iv in info.op.axis]
    j = axes[-1]
    with_j: set = set()
    for read in tensor_reads(info.op):
        used = set().union(*(vars_of(i) for i in read.indices))
        if j in used:
            with_j |= used
    cands = [i for i in range(len(axes) - 1) if axes[i] not in with_j and info.spatial[i] > 1]
    if not cands:
        cands = [i for i in range(len(axes) - 1) if info.spatial[i] > 1]
    return max(cands, key=lambda i: (info.spatial[i], i)) if cands else None


def _largest_divisor(n: int, top: int) -> int:
    return max(d for d in range(1, max(1, top) + 1) if n % d == 0)


def seed_decisions(dag: ComputeDAG, sketch: Sketch, slots: list[Slot], base: Mapping[str, Any],
                   hw: HardwareModel) -> list[dict[str, Any]]:
    """Decisions of ``sketch`` built from the machine's register tiles rather than drawn: for
    every multi-level tile, each of ``register_tiles`` as the innermost level (rows along
    ``_row_axis``, whole vectors along the innermost axis), panels of columns outermost (in
    parallel) with all row blocks streaming past each (the packed-GEMM order), the reduction
    unrolled a little or kept whole; the other slots as in ``base``.  Invalid ones are dropped;
    the list holds every tile's first variant before any second one."""
    by_name = {sl.name: sl for sl in slots}
    lanes = [key for key, plan in sketch.plans if _kind(plan)[0] == LANES]
    if lanes:
        return _lane_seeds(dag, sketch, lanes[0], by_name, base, hw)
    tiled = [(key, dag[key]) for key, plan in sketch.plans if _kind(plan)[0] in (TILE, PTILE)]
    if not tiled:
        return []
    key, info = max(tiled, key=lambda t: t[1].work)
    row = _row_axis(info)
    if row is None:
        return []
    last = len(info.spatial) - 1
    out: list[dict[str, Any]] = []
    tiles = register_tiles(hw, info.spatial[row], info.spatial[last], info.dtype_bits)
    # Every tile once before any second variant: a first batch then measures distinct tiles.
    for r_inner, unroll in ((None, 0), (4, 16)):
        for mr, nr in tiles:
            d = {k: (list(v) if isinstance(v, list) else v) for k, v in base.items()}
            for i, n in enumerate(info.spatial):
                if i == last:
                    panels = -(-n // nr)
                    d[f"{key}.s{i}"] = [panels, 1, 1, nr] if n % nr else [n // nr, 1, 1, nr]
                elif i == row:
                    d[f"{key}.s{i}"] = [1, -(-n // mr), 1, mr]
                else:
                    d[f"{key}.s{i}"] = [n, 1, 1, 1]
            for i, n in enumerate(info.reduce):
                top = by_name[f"{key}.r{i}"].max_last
                inner = 1
                if i == len(info.reduce) - 1:
                    inner = _largest_divisor(n, min(top, 64) if r_inner is None else r_inner)
                d[f"{key}.r{i}"] = [n // inner, inner]
            d[f"{key}.unroll"] = unroll
            if f"{key}.order" in by_name:
                d[f"{key}.order"] = "panel"
            try:
                for name, sl in by_name.items():
                    sl.check(d[name])
            except InstantiationError:
                continue
            out.append(d)
    return out


def _lane_seeds(dag: ComputeDAG, sketch: Sketch, key: str, by_name: Mapping[str, Slot], base: Mapping[str, Any],
                hw: HardwareModel) -> list[dict[str, Any]]:
    """Seeds of a lanes sketch: every lane block and column count whose register tile covers
    the FMA latency and fits the register file (accumulators, the weight vectors and a
    broadcast), the blocked reduction axis in blocks of at most 16, the rest as the prior
    prefers; best first by the prior, then the same tiles with the other reduction order."""
    info = dag[key]
    lanes = hw.lanes(info.dtype_bits)
    bns = by_name[f"{key}.bn"].choices
    widths = by_name[f"{key}.reg_n"].choices
    r = info.reduce[blocked_reduce_axis(info)]
    tiles = []
    for bn in bns:
        vecs = math.ceil(bn / lanes)
        fits = [w for w in widths if 1.5 * hw.accumulators <= w * vecs and w * vecs + vecs + 1 <= hw.vector_registers]
        tiles += [(bn, w) for w in fits or [max(widths, key=lambda w: (w * vecs + vecs + 1 <= hw.vector_registers, w))]]
    out = []
    for order in LANE_ORDERS:
        firsts = []
        for bn, w in tiles:
            d = {k: (list(v) if isinstance(v, list) else v) for k, v in base.items()}
            inner = _largest_divisor(r, 16)
            d.update({f"{key}.bn": bn, f"{key}.reg_n": w, f"{key}.r": [r // inner, inner], f"{key}.order": order,
                      f"{key}.unroll": 1, f"{key}.blocks": LANE_BLOCK_PLACES[0], f"{key}.unpack": LANE_UNPACK[0]})
            firsts.append((prior_score(dag, sketch, d, hw), len(firsts), d))
        out += [d for *_, d in sorted(firsts, key=lambda t: (-t[0], t[1]))[:6]]
    return out


def prior_score(dag: ComputeDAG, sketch: Sketch, decisions: Mapping[str, Any], hw: HardwareModel) -> float:
    """Estimated quality of ``decisions`` (higher is better): per-stage log efficiencies weighted
    by each stage's share of the work."""
    total = max(1, dag.work)
    score = 0.0
    for key, plan in sketch.plans:
        info = dag[key]
        weight = 0.2 + info.work / total
        score += weight * _stage_score(info, plan, decisions, hw)
    return score
