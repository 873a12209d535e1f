"""TVM's ``tvm.contrib.tedd``: each ``viz_*`` function renders a schedule as a well-formed Graphviz
DOT ``digraph`` naming its stages, tensors, iter vars and relations, without needing Graphviz itself.

``viz_dataflow_graph`` draws the stages and the tensors each reads and writes (shape, dtype);
``viz_schedule_tree`` where each stage is computed (at the root, inlined, or at another stage's
loop) with its loops, their kinds and annotations; ``viz_itervar_relationship_graph`` how each
stage's root axes become its loops (split, fuse, singleton), with extents where known.  The text
goes to ``dot_file_path`` and/or is returned (``output_dot_string=True``); ``show_svg=True``
displays it in a notebook through the ``graphviz`` package and IPython, when both are installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import TensorLangError
from ..schedule.bound_map import InferBound
from ..schedule.relations import Fuse, Singleton, Split, pass_down_extents
from ..schedule.schedule import INLINE, SCOPE, Schedule, Stage
from ..te.tensor import IterVar, IterVarType

__all__ = ["viz_dataflow_graph", "viz_schedule_tree", "viz_itervar_relationship_graph", "TeddDisplayError"]


class TeddDisplayError(TensorLangError, ImportError):
    """``show_svg=True`` needs a package that is not installed (``graphviz`` or IPython)."""


# TVM's names (and tedd's colours) for the kinds of loops.
_KINDS = {
    IterVar.DataPar: ("kDataPar", "#FFFFFF"),
    IterVar.ThreadIndex: ("kThreadIndex", "#2980B9"),
    IterVar.CommReduce: ("kCommReduce", "#FAD7A0"),
    IterVar.Ordered: ("kOrdered", "#D35400"),
    IterVar.DimInfo: ("kOpaque", "#ABB2B9"),
    IterVar.Unrolled: ("kUnrolled", "#D2B4DE"),
    IterVar.Vectorized: ("kVectorized", "#AED6F1"),
    IterVar.Parallelized: ("kParallelized", "#F5B7B1"),
    IterVar.Tensorized: ("kTensorized", "#A9DFBF"),
}
_ANNOTATED = {"vectorize": "vectorized", "unroll": "unrolled", "parallel": "parallelized"}


# -- DOT text --------------------------------------------------------------------------------
def _quote(text: Any) -> str:
    """A DOT double-quoted string; ``\\n`` in ``text`` stays a line break of the label."""
    s = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + s.replace("\r", "").replace("\n", "\\n") + '"'


def _attrs(**attrs: Any) -> str:
    return "[" + ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items() if v is not None) + "]"


class _Dot:
    """Collects the lines of one ``digraph``."""

    def __init__(self, name: str, rankdir: str):
        self.lines = [f"digraph {_quote(name)} {{", f"\trankdir={rankdir}",
                      "\tnode [fontname=\"Helvetica\"]"]
        self.depth = 1

    def _add(self, line: str) -> None:
        self.lines.append("\t" * self.depth + line)

    def node(self, node_id: str, label: str, **attrs: Any) -> None:
        self._add(f"{node_id} {_attrs(label=label, **attrs)}")

    def edge(self, src: str, dst: str, **attrs: Any) -> None:
        self._add(f"{src} -> {dst}" + (f" {_attrs(**attrs)}" if attrs else ""))

    def open_cluster(self, cluster_id: str, label: str) -> None:
        self._add(f"subgraph cluster_{cluster_id} {{")
        self.depth += 1
        self._add(f"label={_quote(label)}")

    def close_cluster(self) -> None:
        self.depth -= 1
        self._add("}")

    def legend(self) -> None:
        self.open_cluster("legend", "Legend")
        for code, (name, colour) in _KINDS.items():
            self.node(f"legend_{code}", name, shape="box", style="filled", fillcolor=colour)
        self.close_cluster()

    def source(self) -> str:
        return "\n".join(self.lines) + "\n}\n"


# -- the schedule's facts ----------------------------------------------------------------------
def _check(sch: Any) -> Schedule:
    if not isinstance(sch, Schedule):
        raise TensorLangError(f"tedd expects a schedule (te.create_schedule(...)), got {type(sch).__name__}")
    return sch


def _stage_ids(sch: Schedule) -> dict[int, int]:
    """id(stage) -> its position in ``sch.stages``."""
    return {id(st): i for i, st in enumerate(sch.stages)}


def _iv_ids(sch: Schedule) -> dict[int, str]:
    """A DOT id for every iter var of every stage (its stage and position in all_iter_vars)."""
    ids = {}
    for si, st in enumerate(sch.stages):
        for vi, iv in enumerate(st.all_iter_vars):
            ids[id(iv)] = f"IterVar_{si}_{vi}"
    return ids


def _extents(sch: Schedule) -> dict[int, Any]:
    """id(iter var) -> its extent: after bound inference where it succeeds (as TVM's tedd shows
    InferBound's ranges), else from the root axes' domains through the relations."""
    out: dict[int, Any] = {}
    for st in sch.stages:
        ext = {iv: iv.dom.extent for iv in st.all_iter_vars if iv.dom is not None}
        try:
            pass_down_extents(st.relations, ext)
        except (KeyError, TensorLangError):
            pass
        out.update({id(iv): e for iv, e in ext.items()})
    try:
        bounds = InferBound(sch)
    except Exception:  # a schedule that cannot be bounded still draws, without ranges
        return out
    out.update({id(iv): rng.extent for iv, rng in bounds.items()})
    return out


def _kind(st: Stage, iv: IterVar) -> int:
    attr = st.iter_var_attrs.get(iv)
    if attr is not None and attr.iter_type != IterVar.DataPar:
        return attr.iter_type
    return int(iv.iter_type)


def _iv_label(st: Stage, iv: IterVar, extents: dict[int, Any], index: int | None) -> str:
    name, _ = _KINDS.get(_kind(st, iv), (IterVarType(iv.iter_type).name, "#FFFFFF"))
    head = f"{index}: " if index is not None else ""
    lines = [f"{head}{iv.name} ({name})"]
    ext = extents.get(id(iv))
    lines.append(f"extent: {ext}" if ext is not None else "extent: N/A")
    attr = st.iter_var_attrs.get(iv)
    if attr is not None:
        if attr.annotation:
            lines.append(_ANNOTATED.get(attr.annotation, attr.annotation))
        if attr.bind_thread is not None:
            lines.append(f"bound to {attr.bind_thread.thread_tag or attr.bind_thread.name}")
        if attr.tensor_intrin is not None:
            lines.append(f"tensorized: {getattr(attr.tensor_intrin, 'name', 'intrinsic')}")
        for key, value in attr.pragmas:
            lines.append(f"pragma {key}={value}")
    return "\n".join(lines)


def _made_by(rel: Any) -> tuple[IterVar, ...]:
    """The axes a relation creates."""
    if isinstance(rel, Split):
        return rel.outer, rel.inner
    if isinstance(rel, Fuse):
        return (rel.fused,)
    if isinstance(rel, Singleton):
        return (rel.iv,)
    return ()


def _placement(st: Stage) -> tuple[str, Stage | None, IterVar | None]:
    """Where ``st`` is computed: its own compute_at/compute_inline, else its group's."""
    if st.attach_type == INLINE:
        return "inline", None, None
    if st.attach_type == SCOPE and st.attach_stage is not None:
        return "scope", st.attach_stage, st.attach_ivar
    group = st.group
    while group is not None:
        if group.attach_type == INLINE:
            return "inline", None, None
        if group.attach_type == SCOPE and group.attach_stage is not None:
            return "scope", group.attach_stage, group.attach_ivar
        group = group.group
    return "root", None, None


def _op_kind(st: Stage) -> str:
    """"placeholder", "compute", "scan", "extern" ...: the operation's class, as TVM names it."""
    name = type(st.op).__name__
    return name[:-2].lower() if name.endswith("Op") else name


# -- output ------------------------------------------------------------------------------------
def _dump(dot: str, show_svg: bool, dot_file_path: str, output_dot_string: bool) -> str | None:
    if dot_file_path:
        with open(dot_file_path, "w", encoding="utf-8") as f:
            f.write(dot)
    if show_svg:
        _show_svg(dot)
    return dot if output_dot_string else None


def _show_svg(dot: str) -> None:
    missing = []
    modules = {}
    for name in ("graphviz", "IPython.display"):
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:
            missing.append(name.split(".")[0])
    if missing:
        raise TeddDisplayError(
            f"tedd show_svg=True needs the Python package(s) {', '.join(missing)} (pip install graphviz ipython, "
            "and the Graphviz 'dot' program); without them, write the graph with dot_file_path=... or get "
            "its text with output_dot_string=True")
    try:
        svg = modules["graphviz"].Source(dot).pipe(format="svg")
    except Exception as exc:  # graphviz.ExecutableNotFound and friends
        raise TeddDisplayError(f"tedd show_svg=True could not run Graphviz's 'dot' program to draw the SVG: {exc}; "
                               "install Graphviz, or use dot_file_path=... / output_dot_string=True") from exc
    display = modules["IPython.display"]
    display.display(display.SVG(svg))


# -- the three graphs --------------------------------------------------------------------------
def viz_dataflow_graph(sch: Schedule, show_svg: bool = False, dot_file_path: str = "",
                       output_dot_string: bool = False) -> str | None:
    """The dataflow graph of ``sch``: one node per stage and per tensor it outputs (shape,
    dtype), an edge from each tensor to every stage that reads it and from each stage to its
    outputs.  Returns the DOT text when ``output_dot_string``, else None."""
    sch = _check(sch)
    op_ids = {id(st.op): i for i, st in enumerate(sch.stages)}
    g = _Dot("Dataflow Graph", "LR")
    for si, st in enumerate(sch.stages):
        g.node(f"Stage_{si}", f"{st.name}\n{_op_kind(st)}\nScope: {st.scope}", shape="box",
               style="filled", fillcolor="lightgrey")
        for ti, t in enumerate(st.op.outputs):
            shape = "[" + ", ".join(str(d) for d in t.shape) + "]"
            g.node(f"Tensor_{si}_{ti}", f"{t.name}\n{shape}\n{t.dtype}", shape="oval")
    for si, st in enumerate(sch.stages):
        for i, t in enumerate(st.op.input_tensors):
            src = op_ids.get(id(t.op))
            if src is None:  # a tensor outside the schedule (it should not happen): draw it anyway
                src_id = f"Tensor_ext_{si}_{i}"
                g.node(src_id, f"{t.name}\n{t.dtype}", shape="oval", style="dashed")
            else:
                src_id = f"Tensor_{src}_{t.value_index}"
            g.edge(src_id, f"Stage_{si}", label=f"input {i}")
        for ti in range(len(st.op.outputs)):
            g.edge(f"Stage_{si}", f"Tensor_{si}_{ti}", label=f"output {ti}")
    return _dump(g.source(), show_svg, dot_file_path, output_dot_string)


def viz_schedule_tree(sch: Schedule, show_svg: bool = False, dot_file_path: str = "",
                      output_dot_string: bool = False) -> str | None:
    """The schedule tree of ``sch``: each stage with its loops (leaf iter vars, outermost first,
    their kinds, extents and annotations) and an edge to where it is computed: ROOT, the loop
    of another stage it is computed at, or none for an inlined stage (marked "inlined").
    Returns the DOT text when ``output_dot_string``, else None."""
    sch = _check(sch)
    sids = _stage_ids(sch)
    extents = _extents(sch)
    g = _Dot("Schedule Tree", "BT")
    g.legend()
    g.node("ROOT", "ROOT", shape="oval")
    for si, st in enumerate(sch.stages):
        where, _, _ = _placement(st)
        lines = [f"{st.name}", f"Scope: {st.scope}"]
        if where == "inline":
            lines.append("inlined")
        g.open_cluster(f"Stage_{si}", "\n".join(lines))
        g.node(f"Stage_{si}", "\n".join(lines), shape="box", style="filled",
               fillcolor="white" if where == "inline" else "lightgrey")
        previous = f"Stage_{si}"
        for index, iv in enumerate(st.leaf_iter_vars):
            node_id = f"Leaf_{si}_{index}"
            g.node(node_id, _iv_label(st, iv, extents, index), shape="box", style="filled",
                   fillcolor=_KINDS.get(_kind(st, iv), ("", "#FFFFFF"))[1])
            g.edge(previous, node_id, style="dotted", arrowhead="none")
            previous = node_id
        g.close_cluster()
    for si, st in enumerate(sch.stages):
        where, parent, ivar = _placement(st)
        if where == "root":
            g.edge(f"Stage_{si}", "ROOT")
        elif where == "scope" and parent is not None:
            pi = sids[id(parent)]
            target = f"Stage_{pi}"
            for index, iv in enumerate(parent.leaf_iter_vars):
                if iv is ivar:
                    target = f"Leaf_{pi}_{index}"
            g.edge(f"Stage_{si}", target, label=f"compute_at {parent.name}.{ivar.name if ivar is not None else '?'}",
                   color="#922B21")
    return _dump(g.source(), show_svg, dot_file_path, output_dot_string)


def viz_itervar_relationship_graph(sch: Schedule, show_svg: bool = False, dot_file_path: str = "",
                                   output_dot_string: bool = False) -> str | None:
    """The iter-var relationship graph of ``sch``: per stage, its axes (root axes, those derived
    from them and the leaf loops, with extents) and one node per relation, from the axes it
    consumes to those it makes (Split: parent -> outer, inner; Fuse: outer, inner -> fused;
    Singleton: -> iter).  Returns the DOT text when ``output_dot_string``, else None."""
    sch = _check(sch)
    ivids = _iv_ids(sch)
    extents = _extents(sch)
    g = _Dot("IterVar Relationship Graph", "TB")
    g.legend()
    for si, st in enumerate(sch.stages):
        g.open_cluster(f"Stage_{si}", st.name)
        if not st.all_iter_vars:
            g.node(f"Stage_{si}_placeholder", st.name, style="invis")
        leaves = {id(iv): i for i, iv in enumerate(st.leaf_iter_vars)}
        made = {id(iv) for rel in st.relations for iv in _made_by(rel)}
        roots = {id(iv) for iv in st.all_iter_vars if id(iv) not in made}
        for iv in st.all_iter_vars:
            role = "leaf" if id(iv) in leaves else ("root" if id(iv) in roots else "")
            label = _iv_label(st, iv, extents, leaves.get(id(iv)))
            if id(iv) in roots:
                label += "\nroot" + (" (leaf)" if role == "leaf" else "")
            elif role == "leaf":
                label += "\nleaf"
            g.node(ivids[id(iv)], label, shape="box", style="filled",
                   fillcolor=_KINDS.get(_kind(st, iv), ("", "#FFFFFF"))[1],
                   peripheries=2 if role == "leaf" else None)
        for ri, rel in enumerate(st.relations):
            if isinstance(rel, Split):
                rid = f"Split_{si}_{ri}"
                how = f"factor={rel.factor}" if rel.factor is not None else f"nparts={rel.nparts}"
                g.node(rid, f"Split\n{how}", shape="diamond")
                g.edge(ivids[id(rel.parent)], rid, label="Input")
                g.edge(rid, ivids[id(rel.outer)], label="Outer")
                g.edge(rid, ivids[id(rel.inner)], label="Inner")
            elif isinstance(rel, Fuse):
                rid = f"Fuse_{si}_{ri}"
                g.node(rid, "Fuse", shape="diamond")
                g.edge(ivids[id(rel.outer)], rid, label="Outer")
                g.edge(ivids[id(rel.inner)], rid, label="Inner")
                g.edge(rid, ivids[id(rel.fused)], label="Fused")
            elif isinstance(rel, Singleton):
                rid = f"Singleton_{si}_{ri}"
                g.node(rid, "Singleton", shape="diamond")
                g.edge(rid, ivids[id(rel.iv)], label="Iter")
        g.close_cluster()
    return _dump(g.source(), show_svg, dot_file_path, output_dot_string)
