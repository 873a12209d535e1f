"""User-written passes over lowered functions, as TVM's ``tir.transform`` spells them:
``@tir.transform.prim_func_pass(opt_level=0)`` turns ``f(func, mod, ctx) -> func`` (or a class
with ``transform_function``) into a pass; ``PassContext(config={"tir.add_lower_pass":
[(phase, pass), ...]})`` runs passes inside lowering at TVM's four phases (``PHASES``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import LoweringError
from .function import PrimFunc
from .stmt import Stmt

# After which lowering step each of TVM's phases runs (the first step of that name in
# lowering.pipeline; None: after the last step): 0 on flat buffers, 1 once their indices are
# simplified (before partitioning, unrolling and vectorizing, so VECTORIZED and UNROLLED loops
# a pass makes are honoured), 2 after vectorizing, 3 at the end.
PHASES: dict[int, str | None] = {0: "storage_flatten", 1: "simplify", 2: "vectorize_loops", 3: None}


class PrimFuncPass:
    """A pass over PrimFuncs: ``pass_(func)`` (or an IRModule-like ``lower`` result) -> func."""

    def __init__(self, fn: Callable[[PrimFunc, Any, Any], PrimFunc], opt_level: int = 0, name: str = "",
                 required: Sequence[str] = ()):
        self.fn = fn
        self.opt_level = opt_level
        self.name = name or getattr(fn, "__name__", "prim_func_pass")
        self.required = list(required)

    def __call__(self, func: PrimFunc, ctx: Any = None) -> PrimFunc:
        if not isinstance(func, PrimFunc):
            raise LoweringError(f"pass {self.name}: expects a lowered function (tvm.lower(...)), got {func!r}")
        out = self.fn(func, func, ctx)
        if out is None:
            return func
        if not isinstance(out, PrimFunc):
            raise LoweringError(f"pass {self.name} returned {type(out).__name__}, not a PrimFunc "
                                "(return f, or f.with_body(new_body))")
        return out

    def __repr__(self) -> str:
        return f"PrimFuncPass({self.name}, opt_level={self.opt_level})"


def prim_func_pass(pass_func: Any = None, opt_level: int | None = None, name: str | None = None,
                   required: Sequence[str] | None = None) -> Any:
    """``@prim_func_pass(opt_level=0)`` on ``f(func, mod, ctx)`` or on a class whose instances
    have ``transform_function(func, mod, ctx)``; or ``prim_func_pass(f, opt_level=0)``."""
    if opt_level is None:
        raise LoweringError("prim_func_pass needs opt_level= (as TVM's does)")

    def create(fn: Any) -> Any:
        if isinstance(fn, type):
            def make(*args: Any, **kwargs: Any) -> PrimFuncPass:
                inst = fn(*args, **kwargs)
                return PrimFuncPass(inst.transform_function, opt_level, name or fn.__name__, required or ())
            return make
        if not callable(fn):
            raise LoweringError(f"prim_func_pass: {fn!r} is not a function or a class")
        return PrimFuncPass(fn, opt_level, name or getattr(fn, "__name__", ""), required or ())
    return create(pass_func) if pass_func is not None else create


def lower_passes(config: dict[str, Any]) -> dict[str | None, list[Any]]:
    """The ``tir.add_lower_pass`` entries of a PassContext config, by the step they follow."""
    entries = config.get("tir.add_lower_pass") or []
    out: dict[str | None, list[Any]] = {}
    for entry in entries:
        try:
            phase, pass_ = entry
        except (TypeError, ValueError):
            raise LoweringError(f"tir.add_lower_pass entries are (phase, pass) pairs, got {entry!r}") from None
        if phase not in PHASES:
            raise LoweringError(f"tir.add_lower_pass: phase {phase!r} is not one of 0, 1, 2, 3")
        if not callable(pass_):
            raise LoweringError(f"tir.add_lower_pass: {pass_!r} is not a pass")
        out.setdefault(PHASES[phase], []).append(pass_)
    return out


def run_user_pass(pass_: Any, stmt: Stmt, params: Sequence[Any], name: str) -> Stmt:
    """Apply a user pass to the body being lowered, as a PrimFunc of the function's parameters."""
    func = PrimFunc(name, params, stmt)
    out = pass_(func)
    body = out.body if isinstance(out, PrimFunc) else out
    if not isinstance(body, Stmt):
        raise LoweringError(f"lower pass {pass_!r} returned {type(out).__name__}, not a PrimFunc")
    return body
