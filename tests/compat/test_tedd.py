"""TVM's how_to/work_with_schedules/tedd.py as a user ports it: ``tvm.contrib.tedd`` renders a
conv2d + bias + relu schedule's dataflow graph, schedule tree and iter-var relationship graph as
Graphviz DOT text, to a file and as a string."""

from __future__ import annotations

import importlib.util
import re

import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.contrib import tedd
from tensorlang.errors import TensorLangError

VIZ = [tedd.viz_dataflow_graph, tedd.viz_schedule_tree, tedd.viz_itervar_relationship_graph]


def _conv_bias_relu():
    A = te.placeholder((1, 8, 16, 16), name="A")
    W = te.placeholder((8, 8, 3, 3), name="W")
    B = te.placeholder((1, 8, 1, 1), name="bias")
    t_conv = topi.nn.conv2d_nchw(A, W, 1, 1, 1)
    t_bias = topi.add(t_conv, B)
    t_relu = topi.nn.relu(t_bias)
    return A, W, B, t_conv, t_bias, t_relu


def _cpu_schedule():
    """compute_inline, compute_at, split, fuse, vectorize, parallel, unroll on llvm."""
    A, W, B, t_conv, t_bias, t_relu = _conv_bias_relu()
    s = te.create_schedule(t_relu.op)
    pad = t_conv.op.input_tensors[0]
    s[pad].compute_inline()
    s[t_bias].compute_inline()
    n, c, h, w = s[t_relu].op.axis
    wo, wi = s[t_relu].split(w, factor=8)
    nc = s[t_relu].fuse(n, c)
    s[t_relu].parallel(nc)
    s[t_relu].vectorize(wi)
    s[t_conv].compute_at(s[t_relu], h)
    rc, ry, rx = s[t_conv].op.reduce_axis
    s[t_conv].unroll(rx)
    return s, (A, W, B, t_relu), dict(pad=pad, conv=t_conv, bias=t_bias, relu=t_relu, wo=wo, wi=wi, nc=nc,
                                      n=n.name, c=c.name, h=h.name, w=w.name)


def _gpu_schedule():
    """bind (and split/fuse) for a cuda -emulate style schedule."""
    A, W, B, t_conv, t_bias, t_relu = _conv_bias_relu()
    with tvm.target.Target("llvm"):
        s = te.create_schedule(t_relu.op)
    s[t_conv.op.input_tensors[0]].compute_inline()
    s[t_bias].compute_inline()
    fused = s[t_relu].fuse(*s[t_relu].op.axis)
    bx, tx = s[t_relu].split(fused, factor=64)
    s[t_relu].bind(bx, te.thread_axis("blockIdx.x"))
    s[t_relu].bind(tx, te.thread_axis("threadIdx.x"))
    s[t_conv].compute_at(s[t_relu], tx)
    return s, dict(fused=fused, bx=bx, tx=tx)


def _well_formed(dot: str) -> None:
    assert dot.lstrip().startswith("digraph ")
    # braces outside quoted labels balance, never going negative
    unquoted = re.sub(r'"(?:\\.|[^"\\])*"', '""', dot)
    assert unquoted.count('"') % 2 == 0  # every label's quotes close
    depth = 0
    for ch in unquoted:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


def _edges(dot: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*(\w+) -> (\w+)", dot, flags=re.M))


def _node_of(dot: str, pattern: str) -> str:
    """The id of the node whose label matches ``pattern``."""
    for node_id, label in re.findall(r'^\s*(\w+) \[label="((?:\\.|[^"\\])*)"', dot, flags=re.M):
        if re.search(pattern, label):
            return node_id
    raise AssertionError(f"no node labelled {pattern!r} in\n{dot}")


def test_the_tutorial_flow_writes_dot_files(tmp_path):
    # the tutorial's own calls, with topi's default schedule
    A, W, B, t_conv, t_bias, t_relu = _conv_bias_relu()
    with tvm.target.Target("llvm"):
        s = topi.generic.schedule_conv2d_nchw([t_relu])
    paths = {name: tmp_path / f"{name}.dot" for name in ("dfg", "tree", "tree2", "itervar")}
    assert tedd.viz_dataflow_graph(s, dot_file_path=str(paths["dfg"])) is None
    tedd.viz_schedule_tree(s, dot_file_path=str(paths["tree"]))
    s = s.normalize()
    tedd.viz_schedule_tree(s, dot_file_path=str(paths["tree2"]))
    tedd.viz_itervar_relationship_graph(s, dot_file_path=str(paths["itervar"]))
    for path in paths.values():
        _well_formed(path.read_text())
    dfg = paths["dfg"].read_text()
    for name in ("A", "W", "bias", "pad_temp", "T_add", "T_relu"):
        assert f'label="{name}\\n' in dfg
    # the schedule still builds after being drawn
    tvm.build(s, [A, W, B, t_relu], "llvm")


@pytest.mark.parametrize("viz", VIZ, ids=lambda f: f.__name__)
def test_file_and_string_outputs_agree(viz, tmp_path):
    s, _, _ = _cpu_schedule()
    path = tmp_path / "out.dot"
    text = viz(s, dot_file_path=str(path), output_dot_string=True)
    assert isinstance(text, str) and text == path.read_text()
    _well_formed(text)
    assert viz(s) is None  # nothing asked for: nothing returned


def test_dataflow_graph_names_tensors_shapes_and_reads():
    s, _, t = _cpu_schedule()
    dot = tedd.viz_dataflow_graph(s, output_dot_string=True)
    assert dot.startswith('digraph "Dataflow Graph"')
    assert "[1, 8, 16, 16]" in dot and "[8, 8, 3, 3]" in dot and "[1, 8, 1, 1]" in dot
    assert "float32" in dot
    edges = _edges(dot)
    conv_stage = _node_of(dot, rf"^{t['conv'].op.name}\\ncompute")
    w_tensor = _node_of(dot, r"^W\\n\[8, 8, 3, 3\]")
    pad_tensor = _node_of(dot, r"^pad_temp\\n\[")
    assert (w_tensor, conv_stage) in edges and (pad_tensor, conv_stage) in edges
    relu_stage = _node_of(dot, r"^T_relu\\ncompute")
    add_tensor = _node_of(dot, r"^T_add\\n\[")
    assert (add_tensor, relu_stage) in edges


def test_schedule_tree_shows_placement_and_loop_kinds():
    s, _, t = _cpu_schedule()
    dot = tedd.viz_schedule_tree(s, output_dot_string=True)
    assert dot.startswith('digraph "Schedule Tree"') and "ROOT" in dot
    # inlined stages are marked, with no edge to ROOT
    pad_stage = _node_of(dot, r"^pad_temp\\nScope: global\\ninlined")
    _node_of(dot, r"^T_add\\nScope: global\\ninlined")
    edges = _edges(dot)
    assert (pad_stage, "ROOT") not in edges
    relu_stage = _node_of(dot, r"^T_relu\\nScope")
    assert (relu_stage, "ROOT") in edges
    # conv is computed at relu's h loop
    conv_stage = _node_of(dot, rf"^{t['conv'].op.name}\\nScope")
    (attach,) = re.findall(rf'^\s*{conv_stage} -> (\w+) \[label="compute_at', dot, flags=re.M)
    assert re.search(rf'{attach} \[label="1: {t["h"]} \(kDataPar\)', dot)  # relu's second loop
    assert attach.startswith(f"Leaf_{s.stages.index(s[t['relu']])}_")
    assert f"compute_at T_relu.{t['h']}" in dot
    # leaf loops with their kinds and annotations
    assert re.search(rf"{t['nc'].name} \(kParallelized\)\\nextent: 8\\nparallelized", dot)
    assert re.search(rf"{t['wi'].name} \(kVectorized\)\\nextent: 8\\nvectorized", dot)
    assert re.search(rf"{t['wo'].name} \(kDataPar\)\\nextent: 2", dot)
    assert re.search(r"rx \(kUnrolled\)\\nextent: 3\\nunrolled", dot)
    assert re.search(r"rc \(kCommReduce\)", dot)


def test_schedule_tree_shows_bound_threads():
    s, t = _gpu_schedule()
    dot = tedd.viz_schedule_tree(s, output_dot_string=True)
    _well_formed(dot)
    assert re.search(rf"{re.escape(t['bx'].name)} \(kThreadIndex\)\\nextent: 32\\nbound to blockIdx.x", dot)
    assert re.search(rf"{re.escape(t['tx'].name)} \(kThreadIndex\)\\nextent: 64\\nbound to threadIdx.x", dot)
    tx_leaf = _node_of(dot, rf"{re.escape(t['tx'].name)} \(kThreadIndex\)")
    conv_stage = _node_of(dot, r"^compute\\nScope")
    assert (conv_stage, tx_leaf) in _edges(dot)


def test_itervar_relationship_graph_shows_split_and_fuse():
    s, _, t = _cpu_schedule()
    dot = tedd.viz_itervar_relationship_graph(s, output_dot_string=True)
    assert dot.startswith('digraph "IterVar Relationship Graph"')
    assert 'label="T_relu"' in dot and 'label="A"' in dot  # one cluster per stage
    edges = _edges(dot)
    w = _node_of(dot, rf"^{t['w']} \(kDataPar\)\\nextent: 16\\nroot")
    outer = _node_of(dot, rf"^\d+: {t['wo'].name} \(kDataPar\)\\nextent: 2")
    inner = _node_of(dot, rf"^\d+: {t['wi'].name} \(kVectorized\)\\nextent: 8")
    split = next(dst for src, dst in edges if src == w and dst.startswith("Split_"))
    assert (split, outer) in edges and (split, inner) in edges
    assert re.search(r'Split\\nfactor=8', dot)
    n = _node_of(dot, rf"^{t['n']} \(kDataPar\)\\nextent: 1\\nroot")
    c = _node_of(dot, rf"^{t['c']} \(kDataPar\)\\nextent: 8\\nroot")
    fused = _node_of(dot, rf"^\d+: {t['nc'].name} \(kParallelized\)\\nextent: 8")
    fuse = next(dst for src, dst in edges if src == n and dst.startswith("Fuse_"))
    assert (c, fuse) in edges and (fuse, fused) in edges


def test_itervar_relationship_graph_after_fuse_then_split():
    s, t = _gpu_schedule()
    dot = tedd.viz_itervar_relationship_graph(s, output_dot_string=True)
    _well_formed(dot)
    edges = _edges(dot)
    fused = _node_of(dot, rf"^{re.escape(t['fused'].name)} \(kDataPar\)\\nextent: 2048")
    bx = _node_of(dot, rf"{re.escape(t['bx'].name)} \(kThreadIndex\)")
    tx = _node_of(dot, rf"{re.escape(t['tx'].name)} \(kThreadIndex\)")
    split = next(dst for src, dst in edges if src == fused and dst.startswith("Split_"))
    assert (split, bx) in edges and (split, tx) in edges


def test_module_paths():
    import tensorlang.contrib.tedd as by_path

    assert by_path is tedd is tvm.contrib.tedd
    assert callable(tvm.contrib.tedd.viz_schedule_tree)


def test_not_a_schedule_is_refused():
    with pytest.raises(TensorLangError, match="expects a schedule"):
        tedd.viz_dataflow_graph("not a schedule")


@pytest.mark.skipif(importlib.util.find_spec("graphviz") is not None, reason="graphviz is installed")
def test_show_svg_without_graphviz_says_what_is_missing(tmp_path):
    s, _, _ = _cpu_schedule()
    path = tmp_path / "still_written.dot"
    with pytest.raises(TensorLangError, match=r"show_svg=True needs the Python package\(s\) graphviz") as info:
        tedd.viz_schedule_tree(s, show_svg=True, dot_file_path=str(path))
    assert isinstance(info.value, ImportError)
    assert "output_dot_string=True" in str(info.value)
    assert path.read_text().startswith("digraph")  # the file is written before the display is tried
