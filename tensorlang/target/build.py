"""Building a lowered PrimFunc for the LLVM CPU target: code generation, compilation and the
runtime Module, glued together.

Guarantees: the Module's Signature is derived from the same PrimFunc the code was generated
from, and travels inside the code as metadata, so exported libraries describe themselves.
"""

from __future__ import annotations

from ..errors import BuildError
from ..ir import stmt as S
from ..ir.function import Buffer, PrimFunc
from ..te import expr as E
from ..te.functor import post_order_visit
from .llvm.codegen import codegen_llvm
from .llvm.engine import compile_module, entry_symbol
from .llvm_target import LLVMTarget
from .module import Dim, Module, ParamSpec, Signature

_DIM_OPS = {E.Add: "add", E.Sub: "sub", E.Mul: "mul", E.FloorDiv: "floordiv", E.FloorMod: "floormod",
            E.Div: "div", E.Mod: "mod", E.Min: "min", E.Max: "max"}


def build_llvm(func: PrimFunc, target: LLVMTarget, jit: bool = True) -> Module:
    """Compile ``func`` for ``target`` and wrap it in a Module (callable unless ``jit`` is
    False, which only prepares ``export_library``: the tuner's builders do that)."""
    signature = signature_of(func, symbol=entry_symbol(func.name))
    ir_text = codegen_llvm(func, target, metadata=signature.to_json(), symbol=signature.symbol)
    return Module(signature, compile_module(ir_text, target, func.name, jit=jit))


def signature_of(func: PrimFunc, symbol: str | None = None) -> Signature:
    """How ``func`` is called: parameter kinds, dtypes, symbolic shapes, written buffers, and
    the ``symbol`` of its compiled code (default: its name)."""
    written = _stored_buffers(func.body)
    keys: dict[E.Var, str] = {}

    def key(v: E.Var) -> str:
        if v not in keys:
            taken = set(keys.values())
            name, k = v.name, 2
            while name in taken:  # two distinct variables that share a name stay distinct
                name, k = f"{v.name}#{k}", k + 1
            keys[v] = name
        return keys[v]

    def dim(e: E.PrimExpr, buf: Buffer) -> Dim:
        if isinstance(e, E.IntImm):
            return e.value
        if isinstance(e, E.Var):
            return key(e)
        if isinstance(e, E.Cast) and e.dtype.is_int:
            return dim(e.value, buf)
        op = _DIM_OPS.get(type(e))
        if op is None:
            raise BuildError(f"{func.name}: cannot check dimension '{e}' of {buf.name} at call time")
        return {"op": op, "args": [dim(e.a, buf), dim(e.b, buf)]}

    params = []
    for p in func.params:  # scalar keys first: a user Var param keeps its own name
        if isinstance(p, E.Var):
            key(p)
    for i, p in enumerate(func.params):
        if isinstance(p, Buffer):
            if i >= func.user_arity:
                raise BuildError(f"{func.name}: buffer {p.name} comes after the user's parameters")
            params.append(ParamSpec("buffer", p.name, str(p.dtype), tuple(dim(d, p) for d in p.shape),
                                    written=p.data in written))
        elif isinstance(p, E.Var) and not p.dtype.is_handle and p.dtype.lanes == 1:
            params.append(ParamSpec("scalar", p.name, str(p.dtype), var=key(p)))
        else:
            raise BuildError(f"{func.name}: parameter {p!r} is neither a Buffer nor a scalar Var")

    bound_by_shape = {d for p in params[:func.user_arity] if p.kind == "buffer"
                      for d in p.shape if isinstance(d, str)}
    for p in params[func.user_arity:]:
        if p.var not in bound_by_shape:
            raise BuildError(f"{func.name}: shape variable {p.name} is not a dimension of any "
                             "argument, so a call cannot determine it")
    return Signature(func.name, tuple(params), func.user_arity, loopir=str(func),
                     symbol=symbol or func.name)


def _stored_buffers(body: S.Stmt) -> set[E.Var]:
    found: set[E.Var] = set()

    def visit(node: object) -> None:
        if isinstance(node, S.Store):
            found.add(node.buffer)
    post_order_visit(body, visit)
    return found
