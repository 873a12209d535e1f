"""The calling convention shared by generated code and every runtime: the Signature of a
compiled function, shape dimensions as formulas over shape variables, symbol names and the
status codes compiled functions return.

Guarantees: a Signature is plain data that round-trips through JSON (exported libraries carry
it); ``encode_dim`` is the only place an index expression becomes a runtime dimension formula
and ``eval_dim`` the only place one is evaluated; this module never imports a code generator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from ..errors import ArgumentError, BoundsError, BuildError, FunctionNotFoundError
from ..ir import stmt as S
from ..ir.function import Buffer, PrimFunc
from ..te import expr as E
from ..te.extern import access_mask
from ..te.functor import post_order_visit

# Symbols and status codes between generated code and the runtimes.
NUM_THREADS_SYMBOL = "__tl_num_threads"  # i32 global; 0 means "one thread per processor"
# i64 global: a parallel loop gets one more thread per this many element operations of work
# (llvm/work_estimate.py); smaller loops run on fewer threads, down to the caller alone. 0: no limit.
PARALLEL_MIN_WORK_SYMBOL = "__tl_parallel_min_work"
METADATA_SYMBOL = "__tensorlang_metadata"  # NUL-terminated JSON Signature in exported libraries
ENTRY_PREFIX = "__tl_"  # prefixed to an entry name that would clash with a process symbol
ERR_OUT_OF_MEMORY = -1  # status a compiled function returns when a heap allocation failed
ERR_OUT_OF_BOUNDS = -3  # status of a failed -bounds-check; the globals below say where
# The globals code built with -bounds-check fills, once (the first failing access claims them),
# as (symbol, type): the claim (0 until an access fails; the runtime resets it), the element
# index of the failing access, its buffer's element count, the NUL-terminated buffer name, and
# 1 for a store (0 for a load).
OOB_GLOBALS = (("__tl_oob_claim", "i32"), ("__tl_oob_index", "i64"), ("__tl_oob_size", "i64"),
               ("__tl_oob_name", "ptr"), ("__tl_oob_write", "i32"))
# CUDA kernels built with -bounds-check record the first failing access in a status buffer of
# four uint64 the runtime passes as their last argument: the claim (0 until an access fails),
# the element index, the buffer's element count, and the buffer's number (in the launch plan's
# list of checked names) times 2, plus 1 for a store.
BOUNDS_STATUS_WORDS = 4
FORMAT_NAME = "tensorlang-module"
FORMAT_VERSION = 1

# A shape dimension: a constant, a variable name, or {"op": name, "args": [dim, dim]}.
Dim = Union[int, str, dict]

_DIM_OPS: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "floordiv": lambda a, b: a // b,
    "floormod": lambda a, b: a % b,
    "div": lambda a, b: int(a / b),
    "mod": lambda a, b: int(math.fmod(a, b)),
    "min": min,
    "max": max,
}
_DIM_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//", "floormod": "%", "div": "/",
                "mod": "truncmod"}
_EXPR_DIM_OPS = {E.Add: "add", E.Sub: "sub", E.Mul: "mul", E.FloorDiv: "floordiv", E.FloorMod: "floormod",
                 E.Div: "div", E.Mod: "mod", E.Min: "min", E.Max: "max"}


def bounds_error(func: str, name: str, index: int, size: int, write: bool) -> BoundsError:
    """The error every runtime raises for a failed bounds check: of a whole buffer (-bounds-check)
    or of one dimension of a read lowering could not prove inside its tensor ("name\x1fdim",
    ir.passes.bounds_check.dimension_name)."""
    what = "write to" if write else "read of"
    if "\x1f" in name:
        tensor, dim = name.split("\x1f", 1)
        return BoundsError(f"{func}: out-of-bounds {what} {tensor}: index {dim} is {index}, but dimension {dim} "
                           f"of {tensor} has size {size} (valid indices 0..{size - 1})")
    return BoundsError(f"{func}: out-of-bounds {what} {name}[{index}]: {name} has {size} elements "
                       f"(valid indices 0..{size - 1})")


# --- dimensions ------------------------------------------------------------------------------

def encode_dim(e: E.PrimExpr, key: Callable[[E.Var], str | None], what: str) -> Dim:
    """``e`` as a dimension formula; ``key`` names each variable (None: not known at call
    time). BuildError, naming ``what``, when the host cannot evaluate ``e``."""
    if isinstance(e, E.IntImm):
        return e.value
    if isinstance(e, E.Var):
        name = key(e)
        if name is not None:
            return name
    elif isinstance(e, E.Cast) and e.dtype.is_int and e.value.dtype.is_int:
        return encode_dim(e.value, key, what)
    else:
        op = _EXPR_DIM_OPS.get(type(e))
        if op is not None:
            return {"op": op, "args": [encode_dim(e.a, key, what), encode_dim(e.b, key, what)]}
    raise BuildError(f"{what} is '{e}', which the host cannot evaluate at call time (use +, -, *, //, %, "
                     "min, max of constants and scalar parameters)")


def eval_dim(dim: Dim, env: dict[str, int]) -> int | None:
    """The value of a dimension, or None when a variable in it is unbound."""
    if isinstance(dim, int):
        return dim
    if isinstance(dim, str):
        return env.get(dim)
    a, b = (eval_dim(x, env) for x in dim["args"])
    if a is None or b is None:
        return None
    try:
        return _DIM_OPS[dim["op"]](a, b)
    except ZeroDivisionError:
        return None


def eval_dim_fitting(dim: Dim, env: dict[str, int], lo: int, hi: int
                     ) -> tuple[int | None, tuple[Dim, int] | None]:
    """The value of ``dim`` (None when unbound or dividing by zero) and the first step of its
    computation, with its value, that leaves [lo, hi] (None when every step fits)."""
    if not isinstance(dim, dict):
        value = eval_dim(dim, env)
        return value, None
    (a, bad_a), (b, bad_b) = (eval_dim_fitting(x, env, lo, hi) for x in dim["args"])
    if bad_a is not None or bad_b is not None:
        return None, bad_a or bad_b
    if a is None or b is None:
        return None, None
    try:
        value = _DIM_OPS[dim["op"]](a, b)
    except ZeroDivisionError:
        return None, None
    return value, (None if lo <= value <= hi else (dim, value))


def dim_str(dim: Dim) -> str:
    """A dimension as the user would write it: ``(n + 1)``, ``min(n, 4)``."""
    if isinstance(dim, dict):
        a, b = (dim_str(x) for x in dim["args"])
        sym = _DIM_SYMBOLS.get(dim["op"])
        return f"({a} {sym} {b})" if sym else f"{dim['op']}({a}, {b})"
    return str(dim)


def shape_str(shape: tuple[Dim, ...]) -> str:
    """A shape as a Python tuple: ``(n,)``, ``(4, (n + 1))``."""
    return "(" + ", ".join(dim_str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# --- the signature: what a caller must pass ------------------------------------------------

@dataclass(frozen=True)
class ParamSpec:
    """One parameter: a ``buffer`` (array) with dtype, shape and whether the function writes
    it, or a ``scalar`` bound to the shape variable named ``var``."""

    kind: str
    name: str
    dtype: str
    shape: tuple[Dim, ...] = ()
    written: bool = False
    var: str = ""


@dataclass(frozen=True)
class DimCheck:
    """What the runtime checks of the scalars before a call: ``dim`` is at least ``minimum``
    (when set) and each step of computing it fits a signed ``bits``-bit integer (when
    nonzero); ``what`` names it in the error, or ``message`` is the whole error."""

    dim: Dim
    what: str
    minimum: int | None = None
    bits: int = 0
    message: str = ""


@dataclass(frozen=True)
class Signature:
    """The calling convention of a compiled function; ``params[user_arity:]`` are shape
    variables the runtime derives from array shapes; ``symbol`` names its machine code;
    ``checks`` are verified before every call."""

    name: str
    params: tuple[ParamSpec, ...]
    user_arity: int
    loopir: str = ""
    symbol: str = ""
    checks: tuple[DimCheck, ...] = ()

    def __post_init__(self) -> None:
        if not self.symbol:
            object.__setattr__(self, "symbol", self.name)

    def to_json(self) -> str:
        params = []
        for p in self.params:
            item: dict[str, Any] = {"kind": p.kind, "name": p.name, "dtype": p.dtype}
            if p.kind == "buffer":
                item.update(shape=list(p.shape), written=p.written)
            else:
                item["var"] = p.var
            params.append(item)
        checks = [{"dim": c.dim, "what": c.what, "minimum": c.minimum, "bits": c.bits, "message": c.message}
                  for c in self.checks]
        return json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name,
                           "symbol": self.symbol, "params": params, "user_arity": self.user_arity,
                           "loopir": self.loopir, "checks": checks})

    @classmethod
    def from_json(cls, text: str) -> Signature:
        try:
            d = json.loads(text)
            if d.get("format") != FORMAT_NAME or d.get("version") != FORMAT_VERSION:
                raise BuildError(f"unsupported module format {d.get('format')!r} version "
                                 f"{d.get('version')!r} (this runtime reads {FORMAT_NAME} "
                                 f"version {FORMAT_VERSION})")
            params = tuple(ParamSpec(kind=p["kind"], name=p["name"], dtype=p["dtype"],
                                     shape=tuple(p.get("shape", ())), written=p.get("written", False),
                                     var=p.get("var", "")) for p in d["params"])
            checks = tuple(DimCheck(c["dim"], str(c["what"]), c.get("minimum"), int(c.get("bits", 0)),
                                    str(c.get("message", ""))) for c in d.get("checks", ()))
            return cls(d["name"], params, int(d["user_arity"]), d.get("loopir", ""), d.get("symbol", ""), checks)
        except (ValueError, KeyError, TypeError) as exc:
            raise BuildError(f"corrupt module metadata: {exc}") from None


class SignedModule:
    """What every runtime module shares: it holds one function, named by its ``signature``."""

    signature: Signature

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def entry_name(self) -> str:
        return self.signature.name

    def __getitem__(self, name: str) -> Any:
        if name != self.name:
            raise FunctionNotFoundError(f"module has no function '{name}'; it holds '{self.name}'")
        return self

    def get_function(self, name: str, query_imports: bool = False) -> Any:
        """The function ``name`` (TVM's ``Module.get_function``): the module itself, which holds it."""
        return self[name]

    @property
    def entry_func(self) -> Any:
        """TVM's ``Module.entry_func``: the module's one function (the module itself)."""
        return self

    def implements_function(self, name: str, query_imports: bool = False) -> bool:
        """TVM's ``Module.implements_function``: whether ``name`` is the function this module
        holds (imported device modules hold kernels, never a function to call by name)."""
        if not isinstance(name, str):
            raise ArgumentError(f"implements_function expects a function name (str), got {name!r}")
        return name == self.name

    def import_module(self, module: Any) -> None:
        """TVM's ``import_module``: attach a device module (one ``load_module`` read from a saved
        ``.ptx``/``.cu``) so ``imported_modules`` lists it.  The code a call runs is the module's
        own: an emulated GPU build already holds its kernels, a CUDA one loads them itself."""
        if not hasattr(module, "type_key") or module is self:
            raise ArgumentError(f"import_module expects another module (from tvm.build or load_module), got {module!r}")
        self.__dict__.setdefault("_imports", []).append(module)

    def _imported(self) -> list[Any]:
        return list(self.__dict__.get("_imports", ()))


def signature_of(func: PrimFunc, symbol: str | None = None) -> Signature:
    """How ``func`` is called: parameter kinds, dtypes, symbolic shapes, written buffers, and
    the ``symbol`` of its compiled code (default: its name)."""
    inputs = {func.params[i].data for i in func.input_params
              if i < func.user_arity and isinstance(func.params[i], Buffer)}
    written = _stored_buffers(func.body, inputs)
    keys: dict[E.Var, str] = {}

    def key(v: E.Var) -> str:
        if v not in keys:
            taken = set(keys.values())
            name, k = v.name, 2
            while name in taken:  # two distinct variables that share a name stay distinct
                name, k = f"{v.name}#{k}", k + 1
            keys[v] = name
        return keys[v]

    params = []
    for p in func.params:  # scalar keys first: a user Var param keeps its own name
        if isinstance(p, E.Var):
            key(p)
    for i, p in enumerate(func.params):
        if isinstance(p, Buffer):
            if i >= func.user_arity:
                raise BuildError(f"{func.name}: buffer {p.name} comes after the user's parameters")
            what = f"{func.name}: a dimension of {p.name}"
            params.append(ParamSpec("buffer", p.name, str(p.dtype), tuple(encode_dim(d, key, what) for d in p.shape),
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
    checks = []
    for c in func.checks:
        try:
            dim = encode_dim(c.value, keys.get, c.what)
        except BuildError:
            continue  # not computable by the host (a call the check cannot see)
        checks.append(DimCheck(dim, c.what, c.minimum, c.fits.bits if c.fits is not None else 0, c.message))
    return Signature(func.name, tuple(params), func.user_arity, loopir=str(func),
                     symbol=symbol or func.name, checks=tuple(checks))


def _stored_buffers(body: S.Stmt, inputs: frozenset[E.Var] | set[E.Var] = frozenset()) -> set[E.Var]:
    """The buffers ``body`` stores to or hands to outside code that may write them; outside code
    handed an input's array (``inputs``: placeholders, which no stage produces) only reads it, as
    a te.extern's contract says, unless a pointer to it was taken for writing (access_ptr "w")."""
    found: set[E.Var] = set()

    def visit(node: object) -> None:
        if isinstance(node, S.Store):
            found.add(node.buffer)
        elif isinstance(node, E.Call) and node.name in ("tl.array", "tl.address_of") and \
                isinstance(node.args[0], E.Var):
            if node.args[0] in inputs and (node.name == "tl.array" or not access_mask(node) & 2):
                return  # an extern's input: read by the outside code
            found.add(node.args[0])  # outside code (a packed or extern call) may write it
    post_order_visit(body, visit)
    return found
