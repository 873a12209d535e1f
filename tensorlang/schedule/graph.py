"""TVM's schedule-graph queries under ``te.schedule``: the read graph of a set of operations,
its post-order, where each stage is attached (its attach path), the body of a scan, and which
of a scan's state dimensions pass through the body unchanged (the fix-point analysis).

Operations are keys by identity (an ``Operation`` compares as an object), as in TVM's maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ScheduleError
from ..te.expr import IntImm, TensorRead, Var
from ..te.functor import post_order_visit
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, Operation, Tensor
from .schedule import Schedule, _post_order

ReadGraph = dict[Operation, list[Tensor]]


def _ops(roots: Any, where: str) -> list[Operation]:
    items = roots if isinstance(roots, (list, tuple)) else [roots]
    out = []
    for r in items:
        op = r.op if isinstance(r, Tensor) else r
        if not isinstance(op, Operation):
            raise ScheduleError(f"{where} expects operations (T.op), got {r!r}")
        out.append(op)
    return out


def CreateReadGraph(roots: Sequence[Operation]) -> ReadGraph:  # noqa: N802 - TVM's name
    """Each operation the ``roots`` depend on (the roots included), mapped to the tensors it reads."""
    graph: ReadGraph = {}
    stack = list(_ops(roots, "CreateReadGraph"))
    while stack:
        op = stack.pop()
        if op in graph:
            continue
        graph[op] = list(op.input_tensors)
        stack.extend(t.op for t in graph[op] if t.op not in graph)
    return graph


def PostDFSOrder(roots: Sequence[Operation], graph: Mapping[Operation, Sequence[Tensor]]) -> list[Operation]:  # noqa: N802
    """The operations of ``graph`` reachable from ``roots``, each after every operation it reads."""
    def reads(op: Operation) -> Sequence[Tensor]:
        if op not in graph:
            raise ScheduleError(f"PostDFSOrder: operation {op.name} is not in the read graph")
        return graph[op]
    return _post_order(_ops(roots, "PostDFSOrder"), reads)


def CreateAttachPath(sch: Schedule) -> dict[Operation, list[IterVar]]:  # noqa: N802
    """For each stage, the loops it is computed inside, innermost first: the loops of the stage
    it is attached to, from the attach axis outward, then those of that stage's own parent ..."""
    if not isinstance(sch, Schedule):
        raise ScheduleError(f"CreateAttachPath expects a schedule, got {sch!r}")
    sch.legalize_attachments()  # a compute_at whose axis was split later names the split's loop
    paths: dict[Operation, list[IterVar]] = {}
    for stage in sch.stages:
        path: list[IterVar] = []
        seen: set[int] = set()
        st = stage
        while st.attach_type == "scope" and st.attach_stage is not None:
            if id(st) in seen:
                raise ScheduleError(f"CreateAttachPath: stage {stage.op.name}'s compute_at chain is a cycle")
            seen.add(id(st))
            parent, axis = st.attach_stage, st.attach_ivar
            leaves = list(parent.leaf_iter_vars)
            if axis not in leaves:
                raise ScheduleError(f"CreateAttachPath: stage {st.op.name} is attached at {axis}, which is not a "
                                    f"loop of stage {parent.op.name}")
            path.extend(reversed(leaves[:leaves.index(axis) + 1]))
            st = parent
        paths.setdefault(stage.op, path)
    return paths


def _scan(scan_op: Any, where: str) -> ScanOp:
    op = scan_op.op if isinstance(scan_op, Tensor) else scan_op
    if not isinstance(op, ScanOp):
        raise ScheduleError(f"{where} expects a scan's operation (te.scan(...).op), got {scan_op!r}")
    return op


def ScanGetBody(scan_op: ScanOp) -> list[Operation]:  # noqa: N802
    """The operations between a scan's states (and declared inputs) and its updates, producers
    first: the stages that read the state, directly or not, and feed the update."""
    op = _scan(scan_op, "ScanGetBody")
    boundary = {id(t.op) for t in (*op.state_placeholder, *op.inputs)}
    reaches: dict[int, bool] = {}
    body: list[Operation] = []
    for u in op.update:
        stack: list[tuple[Operation, bool]] = [(u.op, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                reaches[id(node)] = any(reaches.get(id(t.op), False) for t in node.input_tensors)
                if reaches[id(node)]:
                    body.append(node)
                continue
            if id(node) in reaches:
                continue
            if id(node) in boundary:
                reaches[id(node)] = True
                continue
            reaches[id(node)] = False  # visiting (a DAG has no cycles; this also stops repeats)
            stack.append((node, True))
            stack.extend((t.op, False) for t in reversed(node.input_tensors) if id(t.op) not in reaches)
    return body


def _reads(op: ComputeOp) -> list[TensorRead]:
    found: list[TensorRead] = []
    for b in op.body:
        post_order_visit(b, lambda n: found.append(n) if isinstance(n, TensorRead) else None)
    return found


DimKey = tuple[int, int, int]  # (id of the operation, output index, dimension)


def _key(t: Tensor, dim: int) -> DimKey:
    return (id(t.op), t.value_index, dim)


def ScanFixPointAnalysis(scan_op: ScanOp) -> dict[IterVar, IntImm]:  # noqa: N802
    """For each spatial axis of the scan's states (``spatial_axis_``), 1 when the body carries
    that state dimension to the same dimension of the update unchanged (every step reads row
    element i only to write element i: the axis can be split or bound like a data-parallel
    one), else 0."""
    op = _scan(scan_op, "ScanFixPointAnalysis")
    body = ScanGetBody(op)
    axes = op.spatial_axis_
    # which spatial axis each tensor dimension carries, propagated from the states through the body
    carried: dict[DimKey, IterVar] = {}
    failed: set[int] = set()
    sp = 0
    for state, upd in zip(op.state_placeholder, op.update):
        for k in range(1, len(upd.shape)):
            carried[_key(state, k)] = axes[sp]
            sp += 1

    def merge(dst: DimKey, src: DimKey) -> None:
        if src not in carried:
            return
        if dst not in carried:
            carried[dst] = carried[src]
        elif carried[dst] is not carried[src]:
            failed.update((id(carried[dst]), id(carried[src])))

    for node in body:
        if isinstance(node, ScanOp):
            for i, (upd, ini) in enumerate(zip(node.update, node.init)):
                for k in range(1, len(upd.shape)):
                    merge(_key(node.output(i), k), _key(upd, k))
                    merge(_key(node.output(i), k), _key(ini, k))
        elif isinstance(node, ComputeOp):
            axis_pos = {id(iv.var): i for i, iv in enumerate(node.axis)}
            for read in _reads(node):
                for d, idx in enumerate(read.indices):
                    src = _key(read.tensor, d)
                    if isinstance(idx, Var) and id(idx) in axis_pos:
                        for out in node.outputs:
                            merge(_key(out, axis_pos[id(idx)]), src)
                    elif src in carried:  # the dimension is read at a shifted or mixed index
                        failed.add(id(carried[src]))

    result: dict[IterVar, IntImm] = {}
    sp = 0
    reach: dict[tuple[int, int], list[tuple[int, int]]] | None = None
    for state, upd in zip(op.state_placeholder, op.update):
        for k in range(1, len(upd.shape)):
            iv = axes[sp]
            sp += 1
            exact = carried.get(_key(upd, k)) is iv and id(iv) not in failed
            if exact:
                reach = reach if reach is not None else _reach_graph(body)
                exact = not _reaches_other_state(reach, upd, state, k, op)
            result[iv] = IntImm("int32", int(exact))
    return result


def _reach_graph(body: list[Operation]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """(operation, dimension) -> the (operation, dimension) pairs of body tensors whose read
    index uses that dimension's axis (what an element of it depends on)."""
    inside = {id(o) for o in body}
    reach: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for node in body:
        if isinstance(node, ScanOp):
            for upd, ini in zip(node.update, node.init):
                for k in range(1, len(upd.shape)):
                    reach.setdefault((id(node), k), []).extend([(id(upd.op), k), (id(ini.op), k)])
        elif isinstance(node, ComputeOp):
            axis_pos = {id(iv.var): i for i, iv in enumerate(node.axis)}
            for i in range(len(node.axis)):
                reach.setdefault((id(node), i), [])
            for read in _reads(node):
                if id(read.tensor.op) not in inside:
                    continue
                for d, idx in enumerate(read.indices):
                    used: list[int] = []
                    post_order_visit(idx, lambda n: used.append(axis_pos[id(n)])
                                     if isinstance(n, Var) and id(n) in axis_pos else None)
                    for pos in used:
                        reach[(id(node), pos)].append((id(read.tensor.op), d))
    return reach


def _reaches_other_state(reach: dict[tuple[int, int], list[tuple[int, int]]], upd: Tensor, state: Tensor, k: int,
                         op: ScanOp) -> bool:
    """Whether dimension ``k`` of the update depends on a state dimension other than its own."""
    states = {(id(s.op), d) for s in op.state_placeholder for d in range(len(s.shape))}
    target = (id(state.op), k)
    start = (id(upd.op), k)
    seen, stack = {start}, [start]
    while stack:
        key = stack.pop()
        if key != target and key in states:
            return True
        for nxt in reach.get(key, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


__all__ = ["CreateAttachPath", "CreateReadGraph", "PostDFSOrder", "ReadGraph", "ScanFixPointAnalysis",
           "ScanGetBody"]
