"""Every concrete IR node class is handled, or explicitly rejected, by each code generator and
by the reference interpreter: a node class added to the IR cannot slip past one of them (a node a
code generator makes for itself, marked ``PRIVATE_TO``, is checked against that one only)."""

from __future__ import annotations

import pytest

import tensorlang.ir  # noqa: F401 -- defines the statement classes
from tensorlang.ir.verify import NOT_EXECUTABLE, UNFLATTENED
from tensorlang.target.cuda.codegen import _KernelRenderer
from tensorlang.target.llvm.codegen import _FunctionEmitter
from tensorlang.te.expr import Node, StringImm

from .interp import _Interpreter


def _concrete_node_classes() -> list[type]:
    found, todo = [], [Node]
    while todo:
        cls = todo.pop()
        subs = [c for c in cls.__subclasses__() if c.__module__.startswith("tensorlang.")]
        if not subs and cls is not Node:
            found.append(cls)
        todo += subs
    return sorted(found, key=lambda c: c.__name__)


CONCRETE = _concrete_node_classes()
WALKERS = {"llvm": _FunctionEmitter, "cuda": _KernelRenderer, "interpreter": _Interpreter}


def test_the_node_classes_are_found():
    names = {c.__name__ for c in CONCRETE}
    assert {"Add", "EQ", "Load", "Ramp", "For", "Store", "Provide", "Reduce"} <= names
    assert not names & {"BinaryOp", "CmpOp", "PrimExpr", "Stmt"}


@pytest.mark.parametrize("walker", sorted(WALKERS))
def test_every_node_class_is_handled_or_rejected(walker):
    cls = WALKERS[walker]
    mine = [c for c in CONCRETE if getattr(c, "PRIVATE_TO", walker) == walker]  # a backend's own nodes
    missing = [c.__name__ for c in mine if not cls.handles(c) and not issubclass(c, cls.REJECTED)]
    assert not missing, f"{walker} neither handles nor rejects {missing}"
    both = [c.__name__ for c in CONCRETE if cls.handles(c) and issubclass(c, cls.REJECTED)]
    assert not both, f"{walker} both handles and rejects {both}"


def test_rejected_classes_are_the_unflattened_ones_and_call_arguments():
    assert {c.__name__ for c in UNFLATTENED} == {"Provide", "Realize", "BufferBind", "BufferRegionBind", "TensorRead",
                                                  "Reduce"}
    assert set(NOT_EXECUTABLE) == set(UNFLATTENED) | {StringImm}
