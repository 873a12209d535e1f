"""Buffers and PrimFunc: a lowered function over flat buffers and scalar parameters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..te.dtype import HANDLE, DType
from ..te.expr import PrimExpr, Var
from .stmt import Stmt


class Buffer:
    """A compact row-major array argument: element ``dtype``, ``shape``, base pointer ``data``."""

    __slots__ = ("name", "data", "dtype", "shape", "__weakref__")

    def __init__(self, name: str, dtype: DType, shape: Iterable[PrimExpr], data: Var | None = None):
        self.name = name
        self.dtype = dtype
        self.shape = tuple(shape)
        self.data = data if data is not None else Var(name, HANDLE)

    def __repr__(self) -> str:
        return f"Buffer({self.name}, {self.dtype}, [{', '.join(str(s) for s in self.shape)}])"


@dataclass(frozen=True)
class CallCheck:
    """A condition a call must meet before any code runs, over the scalar parameters and shape
    variables only: ``value`` (``what`` names it for the error) is at least ``minimum`` when
    that is set, and every step of computing it fits ``fits`` (the dtype the code computes it
    in) when that is set; ``message``, when given, is the whole error (values are appended)."""

    value: PrimExpr
    what: str
    minimum: int | None = None
    fits: DType | None = None
    message: str = ""


class PrimFunc:
    """A lowered function. ``params`` are Buffers (array arguments) and Vars (scalars), in the
    order of the compiled function's signature; shape variables not given by the user come
    last and are bound from array shapes at call time. ``checks`` are what the runtime
    verifies of those scalars before calling the code (split factors at least 1, sizes that
    fit their index dtype)."""

    def __init__(self, name: str, params: Iterable[Buffer | Var], body: Stmt,
                 user_arity: int | None = None, checks: Iterable[CallCheck] = ()):
        self.name = name
        self.params = tuple(params)
        self.body = body
        self.user_arity = len(self.params) if user_arity is None else user_arity
        self.checks = tuple(checks)

    @property
    def buffers(self) -> list[Buffer]:
        return [p for p in self.params if isinstance(p, Buffer)]

    def with_body(self, body: Stmt) -> PrimFunc:
        return PrimFunc(self.name, self.params, body, self.user_arity, self.checks)

    def __getitem__(self, name: str) -> PrimFunc:
        """TVM's ``lower(...)["main"]``: a lowered function is also the module holding just it."""
        if name not in ("main", self.name):
            raise KeyError(f"the lowered module holds only the function '{self.name}' (also reachable as 'main')")
        return self

    def with_name(self, name: str) -> PrimFunc:
        return PrimFunc(name, self.params, self.body, self.user_arity, self.checks)

    def __str__(self) -> str:
        from .printer import func_str  # the printer imports this module
        return func_str(self)

    __repr__ = __str__

    def script(self, *_args: object, **_kwargs: object) -> str:
        """TVM's ``mod.script()``: the readable IR (tensorlang's printer, not TVMScript)."""
        return str(self)

    def astext(self, *_args: object, **_kwargs: object) -> str:
        """TVM's older ``mod.astext()``: the readable IR."""
        return str(self)
