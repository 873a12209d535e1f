"""What kind of loop a stage's leaf axis becomes: serial, parallel, vectorized, unrolled, bound to
a GPU index (or a virtual thread), and the pragma annotations it carries."""

from __future__ import annotations

from typing import Any

from ..ir.passes.inject_virtual_thread import VIRTUAL_THREAD
from ..ir.passes.unroll_loops import MAX_UNROLLED_STATEMENTS
from ..ir.stmt import ForKind
from ..schedule.schedule import Stage
from ..te.tensor import IterVar

KINDS = {"vectorize": ForKind.VECTORIZED, "unroll": ForKind.UNROLLED, "parallel": ForKind.PARALLEL}


def loop_kind(st: Stage, iv: IterVar) -> tuple[ForKind, str, tuple[tuple[str, Any], ...]]:
    """(kind, thread tag, annotations) of the loop of ``iv`` in stage ``st``."""
    attr = st.iter_var_attrs.get(iv)
    kind, tag, ann = ForKind.SERIAL, "", []
    if attr is None:
        return kind, tag, ()
    if attr.bind_thread is not None and attr.bind_thread.thread_tag in ("vthread", "cthread"):
        # Every thread runs each virtual thread's work; inject_virtual_threads interleaves them.
        kind = ForKind.UNROLLED
        ann.append((VIRTUAL_THREAD, 1))
    elif attr.bind_thread is not None:
        kind, tag = ForKind.THREAD_BINDING, attr.bind_thread.thread_tag
    elif attr.annotation is not None:
        kind = KINDS[attr.annotation]
    for key, value in attr.pragmas:
        if key == "unroll":
            ann.append(("pragma_unroll", 1))
        elif key == "auto_unroll_max_step":
            # Past the limit an explicit unroll has, unrolling costs minutes of compile time
            # (a nest of 65536 statements) for nothing: nests that big stay loops.
            ann.append(("pragma_auto_unroll_max_step", min(int(value), MAX_UNROLLED_STATEMENTS)))
        elif key == "unroll_explicit":
            ann.append(("pragma_unroll_explicit", int(bool(value))))
        elif key == "max_registers":
            ann.append(("pragma_max_registers", int(value)))
        elif key == "prefetch":
            ann.append(("pragma_prefetch", int(value)))
        elif key == "pipeline_rows":
            ann.append(("pragma_pipeline_rows", int(value is None or bool(value))))
        elif key == "nontemporal":  # None (no value given) asks for it; a false value forbids it
            ann.append(("pragma_nontemporal", int(value is None or bool(value))))
    return kind, tag, tuple(ann)
