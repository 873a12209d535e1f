"""Buffers and PrimFunc: a lowered function over flat buffers and scalar parameters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import ArgumentError
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


class GlobalVar:
    """TVM's ``GlobalVar``: the name a module gives a function (``name_hint``). Two global vars
    of the same name are equal, so ``mod.functions[mod.get_global_var("main")]`` finds it."""

    __slots__ = ("name_hint",)

    def __init__(self, name_hint: str):
        self.name_hint = str(name_hint)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalVar) and other.name_hint == self.name_hint

    def __hash__(self) -> int:
        return hash(("GlobalVar", self.name_hint))

    def __getstate__(self) -> str:
        return self.name_hint

    def __setstate__(self, state: str) -> None:
        self.name_hint = state

    def __repr__(self) -> str:
        return f'GlobalVar("{self.name_hint}")'

    __str__ = __repr__


class VoidType:
    """TVM's ``PrimFunc.ret_type`` of a function that returns nothing (every lowered function)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VoidType)

    def __hash__(self) -> int:
        return hash("VoidType")

    def __repr__(self) -> str:
        return "void"


class BufferMap(Mapping):
    """TVM's ``PrimFunc.buffer_map`` for tensorlang's parameters, which are the Buffers
    themselves (TVM's are handle Vars mapped to Buffers): each Buffer parameter maps to itself,
    in parameter order; looking up a Buffer's ``data`` Var finds the Buffer too. Scalar
    parameters are not in it, as in TVM. So ``for var, buf in f.buffer_map.items()`` and
    ``f.buffer_map[f.params[0]]`` both work."""

    __slots__ = ("_buffers",)

    def __init__(self, params: Iterable[Buffer | Var]):
        self._buffers = tuple(p for p in params if isinstance(p, Buffer))

    def __getitem__(self, key: object) -> Buffer:
        for b in self._buffers:
            if key is b or key is b.data:
                return b
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(key is b or key is b.data for b in self._buffers)

    def __iter__(self) -> Iterator[Buffer]:
        return iter(self._buffers)

    def __len__(self) -> int:
        return len(self._buffers)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{b.name}: {b!r}" for b in self._buffers) + "}"


# Attributes every lowered function has, derived from it (not stored): its name, and that its
# buffers never alias (the code is compiled so, and the runtime rejects overlapping arrays).
GLOBAL_SYMBOL = "global_symbol"
NOALIAS = "tir.noalias"


class PrimFunc:
    """A lowered function. ``params`` are Buffers (array arguments) and Vars (scalars), in the
    order of the compiled function's signature; shape variables not given by the user come
    last and are bound from array shapes at call time. ``checks`` are what the runtime
    verifies of those scalars before calling the code (split factors at least 1, sizes that
    fit their index dtype).

    It is also the module that holds it (what ``tvm.lower`` returns stands for TVM's IRModule):
    ``mod["main"]`` (or its name, or its GlobalVar), ``mod.functions``, ``mod.items()``,
    ``mod.get_global_vars()``, ``mod.get_global_var(name)``. ``attrs`` (a read-only mapping)
    holds "global_symbol" (the name) and "tir.noalias" (True), and whatever ``with_attr``
    added. Treat a PrimFunc as immutable: ``with_body``, ``with_attr``, ``with_name`` return
    new ones; IRModule's in-place ``update_func``/``update``/``mod[name] = f`` are refused."""

    _attrs: tuple[tuple[str, Any], ...] = ()  # added attributes; the class default reads older pickles

    def __init__(self, name: str, params: Iterable[Buffer | Var], body: Stmt,
                 user_arity: int | None = None, checks: Iterable[CallCheck] = (),
                 attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        self.name = name
        self.params = tuple(params)
        self.body = body
        self.user_arity = len(self.params) if user_arity is None else user_arity
        self.checks = tuple(checks)
        extra: dict[str, Any] = {}
        for key, value in (attrs.items() if isinstance(attrs, Mapping) else attrs):
            if key == GLOBAL_SYMBOL:
                self.name = _symbol(value)
            elif key == NOALIAS:
                _check_noalias(value)
            else:
                extra[str(key)] = value
        if extra:
            self._attrs = tuple(extra.items())

    @property
    def buffers(self) -> list[Buffer]:
        return [p for p in self.params if isinstance(p, Buffer)]

    def _replace(self, **changes: Any) -> PrimFunc:
        fields = {"name": self.name, "params": self.params, "body": self.body, "user_arity": self.user_arity,
                  "checks": self.checks, "attrs": self._attrs}
        fields.update(changes)
        return PrimFunc(**fields)

    def with_body(self, body: Stmt) -> PrimFunc:
        return self._replace(body=body)

    def with_name(self, name: str) -> PrimFunc:
        return self._replace(name=name)

    # -- TVM's PrimFunc attributes ---------------------------------------------------------
    @property
    def attrs(self) -> Mapping[str, Any]:
        """TVM's ``func.attrs``: "global_symbol" (the name), "tir.noalias" (True), then the
        attributes ``with_attr`` added, read-only."""
        return MappingProxyType({GLOBAL_SYMBOL: self.name, NOALIAS: True, **dict(self._attrs)})

    def with_attr(self, attr_key_or_dict: str | Mapping[str, Any], attr_value: Any = None) -> PrimFunc:
        """A copy with the attribute set (or each of a dict's): "global_symbol" renames the
        function (the symbol ``tvm.build`` compiles it under); "tir.noalias" can only stay
        True; any other key is kept in ``attrs`` (metadata: tensorlang's passes read none)."""
        pairs = attr_key_or_dict.items() if isinstance(attr_key_or_dict, Mapping) else \
            [(attr_key_or_dict, attr_value)]
        return self._replace(attrs={**dict(self._attrs), **dict(pairs)})

    def with_attrs(self, attr_map: Mapping[str, Any]) -> PrimFunc:
        """TVM's ``with_attrs(dict)``: ``with_attr`` for each entry."""
        return self.with_attr(attr_map)

    def without_attr(self, attr_key: str) -> PrimFunc:
        """A copy without an attribute ``with_attr`` added ("global_symbol" and "tir.noalias"
        always hold)."""
        if attr_key in (GLOBAL_SYMBOL, NOALIAS):
            raise ArgumentError(f"without_attr: every tensorlang function has '{attr_key}'; it cannot be removed")
        return self._replace(attrs=tuple((k, v) for k, v in self._attrs if k != attr_key))

    def get_attr(self, attr_key: str) -> Any:
        """The attribute's value, or None."""
        return self.attrs.get(attr_key)

    @property
    def buffer_map(self) -> BufferMap:
        """Each Buffer parameter mapped to itself (``BufferMap``)."""
        return BufferMap(self.params)

    @property
    def ret_type(self) -> VoidType:
        """A lowered function returns nothing: TVM's VoidType."""
        return VoidType()

    # -- TVM's IRModule view: the module holding just this function ---------------------
    def _holds(self, key: object) -> bool:
        name = key.name_hint if isinstance(key, GlobalVar) else key
        return isinstance(name, str) and name in ("main", self.name)

    def __getitem__(self, name: str | GlobalVar) -> PrimFunc:
        """TVM's ``lower(...)["main"]``: a lowered function is also the module holding just it."""
        if not self._holds(name):
            raise KeyError(f"the lowered module holds only the function '{self.name}' (also reachable as 'main')")
        return self

    def __contains__(self, name: object) -> bool:
        return self._holds(name)

    @property
    def functions(self) -> Mapping[GlobalVar, PrimFunc]:
        """TVM's ``mod.functions``: {GlobalVar(name): this function}, read-only."""
        return MappingProxyType({GlobalVar(self.name): self})

    def items(self) -> Any:
        """``mod.functions.items()``."""
        return self.functions.items()

    def get_global_vars(self) -> list[GlobalVar]:
        return [GlobalVar(self.name)]

    def get_global_var(self, name: str) -> GlobalVar:
        """The GlobalVar of the function called ``name`` ("main" also names it)."""
        if not self._holds(name):
            raise KeyError(f"Cannot find global var \"{name}\" in the module (it holds '{self.name}', "
                           "also reachable as 'main')")
        return GlobalVar(self.name)

    def _immutable(self, what: str) -> ArgumentError:
        return ArgumentError(f"{what}: a tensorlang module is its one function, and is not changed in place; "
                             "keep the new function instead (mod = new_func, or tvm.IRModule({'main': new_func}))")

    def update_func(self, var: Any, func: Any) -> None:
        raise self._immutable("IRModule.update_func")

    def update(self, other: Any) -> None:
        raise self._immutable("IRModule.update")

    def __setitem__(self, var: Any, func: Any) -> None:
        raise self._immutable("mod[name] = func")

    def show(self, *_args: object, **_kwargs: object) -> None:
        """TVM's ``mod.show()``: print the readable IR."""
        print(self)

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


def _symbol(value: Any) -> str:
    """A "global_symbol": the function's name, and a symbol of the compiled code."""
    value = getattr(value, "value", value)  # a tir.StringImm
    if not isinstance(value, str) or not value or not value.isascii() or not value.isprintable():
        raise ArgumentError(f"global_symbol must be a non-empty printable ASCII string, got {value!r}")
    return value


def _check_noalias(value: Any) -> None:
    value = getattr(value, "value", value)  # a tir.IntImm
    if not isinstance(value, (bool, int)) or value != 1:
        raise ArgumentError("tir.noalias: tensorlang compiles every function assuming its buffers do not alias "
                            f"(the runtime rejects overlapping arrays); it cannot be set to {value!r}")
