"""Buffers and PrimFunc: a lowered function over flat buffers and scalar parameters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, overload

from ..errors import ArgumentError
from ..te.dtype import HANDLE, DType
from ..te.expr import IntImm, Load, PrimExpr, Var, const
from ..te.extern import DeclBuffer
from ..te.functor import post_order_visit
from ..te.operation import size_var
from .builder import BufferPtr
from .stmt import Allocate, For, LetStmt, Stmt, Store


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
# Private attribute (not in ``attrs``): indices of the parameters that are schedule inputs
# (placeholders, which no stage produces); outside code handed their arrays only reads them.
INPUT_PARAMS = "tl.input_params"


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
    new ones; IRModule's in-place ``update_func``/``update``/``mod[name] = f`` are refused.

    TVM's constructor ``PrimFunc(params, body, ret_type=None, buffer_map=None, attrs=None)``
    makes one too, from ``tir.decl_buffer``s, ir_builder pointers and Vars (``_init_tvm``)."""

    _attrs: tuple[tuple[str, Any], ...] = ()  # added attributes; the class default reads older pickles

    @overload
    def __init__(self, name: str, params: Iterable[Buffer | Var], body: Stmt, user_arity: int | None = None,
                 checks: Iterable[CallCheck] = (),
                 attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None: ...

    @overload
    def __init__(self, params: Iterable[Any], body: Stmt, ret_type: Any = None,
                 buffer_map: Mapping[Any, Any] | None = None, attrs: Mapping[str, Any] | None = None,
                 span: Any = None) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """``PrimFunc(name, params, body, user_arity=None, checks=(), attrs=())``, tensorlang's
        form, or TVM's ``PrimFunc(params, body, ret_type=None, buffer_map=None, attrs=None)``
        (told apart by the first argument: a name is a str); see ``_init_tvm`` for the latter."""
        first = args[0] if args else kwargs.get("name", kwargs.get("params"))
        if not isinstance(first, str) and "name" not in kwargs:
            self._init_tvm(*args, **kwargs)
        else:
            self._init(*args, **kwargs)

    def _init(self, name: str, params: Iterable[Buffer | Var], body: Stmt,
              user_arity: int | None = None, checks: Iterable[CallCheck] = (),
              attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        params = tuple(params)
        if user_arity is None and not checks and any(isinstance(p, (DeclBuffer, BufferPtr)) for p in params):
            # TVM's buffers (tir.decl_buffer, ir_builder pointers) as parameters: declared as TVM's
            # form declares them, so tensorlang's argument order works for ported kernels too.
            pairs = attrs.items() if isinstance(attrs, Mapping) else attrs
            self._init_tvm(params, body, attrs={GLOBAL_SYMBOL: name, **dict(pairs)})
            return
        self.name = name
        self.params = params
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

    def _init_tvm(self, params: Iterable[Any], body: Stmt, ret_type: Any = None,
                  buffer_map: Mapping[Any, Any] | None = None, attrs: Mapping[str, Any] | None = None,
                  span: Any = None) -> None:
        """TVM 0.12's constructor. A parameter is a ``tir.decl_buffer`` (dense, row-major), an
        ir_builder pointer (an array of any length), a handle Var that ``buffer_map`` maps to a
        buffer, or a scalar Var; shape variables no parameter gives are bound from the arrays at
        call time. The name is ``attrs["global_symbol"]`` (or ``with_attr``), else "main".
        Every variable and buffer the body uses must be a parameter or bound inside it."""
        if ret_type is not None and not isinstance(ret_type, VoidType):
            raise ArgumentError(f"PrimFunc(ret_type={ret_type!r}): tensorlang functions return nothing; "
                                "write results into a buffer parameter")
        if isinstance(params, (str, Stmt)) or not isinstance(params, Iterable):
            raise ArgumentError(f"PrimFunc(params, body): params must be a list of buffers and vars, got {params!r}")
        if not isinstance(body, Stmt):
            raise ArgumentError(f"PrimFunc(params, body): body must be a statement (ib.get()), got {body!r}")
        mapping = dict(buffer_map or {})
        lets: list[tuple[Var, PrimExpr]] = []
        converted = [_tvm_param(p, mapping, lets) for p in params]
        if mapping:
            raise ArgumentError(f"PrimFunc: buffer_map key {next(iter(mapping))!r} is not a parameter of the function")
        # A mapped handle the body uses next to its buffer's data, or a buffer's symbolic offset,
        # is bound once at entry (arrays passed here are whole: their offset is 0).
        used = _used_vars(body)
        for var, value in reversed(lets):
            if var in used:
                body = LetStmt(var, value, body)
        shape_vars = _shape_vars(converted)
        self._init("main", converted + shape_vars, body, user_arity=len(converted), attrs=attrs or {})
        _check_defined(self)

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
        return MappingProxyType({GLOBAL_SYMBOL: self.name, NOALIAS: True,
                                 **{k: v for k, v in self._attrs if k != INPUT_PARAMS}})

    @property
    def input_params(self) -> tuple[int, ...]:
        """Indices of the parameters that are the schedule's inputs (placeholders): a te.extern's
        outside code only reads them (empty for a function not lowered from a schedule)."""
        return tuple(dict(self._attrs).get(INPUT_PARAMS, ()))

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


# -- TVM's PrimFunc(params, body, ...): its parameters as tensorlang's ----------------------

def _tvm_param(p: Any, mapping: dict[Any, Any], lets: list[tuple[Var, PrimExpr]]) -> Buffer | Var:
    """One parameter of TVM's constructor as a Buffer or scalar Var; consumes its ``buffer_map``
    entry, and records in ``lets`` the variables bound at entry (a mapped handle, should the body
    use it next to its buffer's ``data``; a buffer's symbolic offset). The buffer's own ``data``
    stays the parameter: the code generator knows a parameter's storage, not a Let's."""
    if isinstance(p, Var) and p in mapping:
        if not p.dtype.is_handle:
            raise ArgumentError(f"PrimFunc: buffer_map maps '{p.name}', a {p.dtype} Var; only handle Vars "
                                "(te.var(name, 'handle')) stand for buffers")
        buf = _as_buffer(mapping.pop(p), lets)
        if buf.data is not p:
            lets.append((p, buf.data))
        return buf
    if isinstance(p, (Buffer, DeclBuffer, BufferPtr)):
        mapping.pop(p, None)  # a Buffer mapped to itself, as f.buffer_map gives
        return _as_buffer(p, lets)
    if isinstance(p, Var):
        if p.dtype.is_handle:
            raise ArgumentError(f"PrimFunc: parameter '{p.name}' is a handle without a buffer, so its element "
                                "type and length are unknown; pass buffer_map={var: tir.decl_buffer(...)}, or the "
                                "tir.decl_buffer or ib.pointer(...) object itself")
        if p.dtype.lanes != 1:
            raise ArgumentError(f"PrimFunc: scalar parameter '{p.name}' is a {p.dtype} vector; pass scalars")
        return p
    raise ArgumentError(f"PrimFunc: parameter {p!r} is neither a buffer (tir.decl_buffer, ib.pointer) nor a Var")


def _as_buffer(b: Any, lets: list[tuple[Var, PrimExpr]]) -> Buffer:
    """A dense row-major Buffer for a parameter's buffer: an array of scalar elements, since
    numpy holds no vector elements (a ``float32x4`` buffer is 4x as many floats)."""
    if isinstance(b, Buffer):
        return b
    if isinstance(b, BufferPtr):
        lanes = b.dtype.lanes
        # A raw pointer has no length: an array of any length binds a fresh size variable.
        shape = b.shape if b.shape and lanes == 1 else (size_var(f"{b.data.name}_len"),)
        return Buffer(b.data.name, b.dtype.element_of(), shape, data=b.data)
    if not isinstance(b, DeclBuffer):
        raise ArgumentError(f"PrimFunc: buffer_map values must be tir.decl_buffer(...) buffers, got {b!r}")
    if b.strides:
        raise ArgumentError(f"PrimFunc: buffer '{b.name}' has strides {list(b.strides)}; array parameters here are "
                            "dense and row-major (declare it without strides)")
    offset = b.elem_offset
    if isinstance(offset, Var):
        lets.append((offset, const(0, offset.dtype)))
    elif not (isinstance(offset, IntImm) and offset.value == 0):
        raise ArgumentError(f"PrimFunc: buffer '{b.name}' starts at element offset {offset}; array parameters "
                            "here start at their first element")
    shape = tuple(b.shape)
    if b.dtype.lanes > 1:
        shape = (*shape[:-1], shape[-1] * b.dtype.lanes) if shape else (const(b.dtype.lanes),)
    return Buffer(b.name, b.dtype.element_of(), shape, data=b.data)


def _shape_vars(params: list[Buffer | Var]) -> list[Var]:
    """Shape variables no parameter gives, in order of appearance: bound from array shapes."""
    given = {p for p in params if isinstance(p, Var)}
    out: list[Var] = []
    for b in params:
        if not isinstance(b, Buffer):
            continue
        for d in b.shape:
            if isinstance(d, Var):
                if d not in given and d not in out:
                    out.append(d)
            elif not isinstance(d, IntImm):
                unknown = sorted({v.name for v in _used_vars(d) if v not in given})
                if unknown:
                    raise ArgumentError(f"PrimFunc: buffer '{b.name}' has dimension {d}, from which "
                                        f"{', '.join(unknown)} cannot be inferred; pass them as parameters")
    return out


def _used_vars(node: Any) -> set[Var]:
    """Every Var in ``node``, buffers of loads, stores and allocations included (fields that
    are not children, so ``free_vars`` does not see them)."""
    out: set[Var] = set()

    def fn(n: Any) -> None:
        if isinstance(n, Var):
            out.add(n)
        elif isinstance(n, (Load, Store, Allocate)):
            out.add(n.buffer)
    post_order_visit(node, fn)
    return out


def _check_defined(func: PrimFunc) -> None:
    """ArgumentError, at construction, when the body uses a buffer or variable that is neither
    a parameter nor bound inside it: there would be no value for it at call time."""
    defined = {p for p in func.params if isinstance(p, Var)} | {b.data for b in func.buffers}

    def fn(n: Any) -> None:
        if isinstance(n, For):
            defined.add(n.loop_var)
        elif isinstance(n, Allocate):
            defined.add(n.buffer)
        elif isinstance(getattr(n, "var", None), Var):  # LetStmt, Let, IterVar
            defined.add(n.var)
    post_order_visit(func.body, fn)
    missing = _used_vars(func.body) - defined
    buffers = sorted(v.name for v in missing if v.dtype.is_handle)
    if buffers:
        raise ArgumentError(f"PrimFunc {func.name}: the body uses buffer(s) {', '.join(buffers)}, which are not "
                            "parameters; pass each buffer it reads or writes in params (the tir.decl_buffer or "
                            "ib.pointer), or allocate it inside with ib.allocate")
    scalars = sorted(v.name for v in missing if not v.dtype.is_handle)
    if scalars:
        raise ArgumentError(f"PrimFunc {func.name}: variable(s) {', '.join(scalars)} are used but never bound; "
                            "pass them in params, or use them in a parameter buffer's shape")
