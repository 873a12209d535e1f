"""Reductions without an identity (te.max, te.min, te.fmax, te.fmin, topi.argmax...: reducers
made with ``allow_empty=False``) over a reduce axis that runs zero times, which numpy refuses
("zero-size array to reduction operation maximum which has no identity").

Guarantees: such a reduction never silently returns its identity (-inf, inf, -1). A constant
extent below 1 is a LoweringError at lower time; a symbolic one becomes a CallCheck (the extent
is at least 1), an ArgumentError at call time. Both name the stage, the reducer and the axis.
Reducers with an identity (te.sum, prod, user reducers by default) give it, as numpy's sum and
prod give 0 and 1.
"""

from __future__ import annotations

from ..arith import simplify
from ..errors import LoweringError
from ..ir.function import CallCheck
from ..schedule.schedule import Stage
from ..te import expr as E


def empty_reduction_checks(bodies: dict[Stage, tuple[E.PrimExpr, ...]]) -> list[CallCheck]:
    """LoweringError for a constant empty axis; the call-time checks of the symbolic ones."""
    checks: list[CallCheck] = []
    for st, body in bodies.items():
        red = next((b for b in body if isinstance(b, E.Reduce)), None)
        if red is None or red.combiner.allow_empty:
            continue  # the outputs of a multi-output reduction share its reducer and axes
        for iv in red.axis:
            ext = simplify(iv.dom.extent)
            what = f"stage {st.op.name} reduces with {red.combiner.name} over axis {iv.var.name}"
            why = (f"the axis is empty, and {red.combiner.name} has no identity for an empty reduction "
                   "(numpy raises too)")
            if isinstance(ext, E.IntImm):
                if ext.value < 1:
                    raise LoweringError(f"{what}, whose extent is {ext.value}: {why}")
            else:
                checks.append(CallCheck(ext, f"the extent of reduce axis {iv.var.name} of stage {st.op.name}",
                                        minimum=1, message=f"{what}, whose extent is {ext}: {why}"))
    return checks
