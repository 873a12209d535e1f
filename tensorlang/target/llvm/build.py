"""Building a lowered PrimFunc for the LLVM CPU target: code generation, compilation and the
runtime Module, glued together.

Guarantees: ``check_cpu_func`` rejects a loop bound to a GPU thread as a TargetError; the Module's
Signature is derived from the same PrimFunc the code was generated from, and travels inside
the code as metadata, so exported libraries describe themselves.
"""

from __future__ import annotations

from typing import Any

from ...errors import TargetError
from ...ir.function import PrimFunc
from ...ir.passes.bounds_check import insert_bounds_checks
from ...ir.stmt import For, ForKind
from ...te.functor import post_order_visit
from ..abi import signature_of
from .codegen import codegen_llvm
from .engine import compile_module
from .host import entry_symbol
from .runtime import Module
from .target import LLVMTarget


def build_llvm(func: PrimFunc, target: LLVMTarget, jit: bool = True) -> Module:
    """Compile ``func`` for ``target`` and wrap it in a Module (callable unless ``jit`` is
    False, which only prepares ``export_library``: the tuner's builders do that)."""
    signature = signature_of(func, symbol=entry_symbol(func.name))
    if target.bounds_check:
        func = insert_bounds_checks(func)
    ir_text = codegen_llvm(func, target, metadata=signature.to_json(), symbol=signature.symbol)
    return Module(signature, compile_module(ir_text, target, func.name, jit=jit))


def check_cpu_func(func: PrimFunc, target: LLVMTarget) -> None:
    """TargetError when a loop of ``func`` is bound to a GPU thread."""
    def fn(n: Any) -> None:
        if isinstance(n, For) and n.kind == ForKind.THREAD_BINDING:
            raise TargetError(f"loop {n.loop_var.name} is bound to {n.thread_tag}, which needs a GPU target; "
                              f"target '{target}' runs on the CPU")
    post_order_visit(func.body, fn)
