"""TVM's ``tvm.ir.transform`` (also ``tvm.transform``): ``PassContext``, the options for the
compilations made inside a ``with`` block (``opt_level``, ``disabled_pass``, ``config``), and
passes over a lowered module: ``Pass``, ``PassInfo``, ``ModulePass`` (``@module_pass``),
``Sequential`` and ``PrintIR``. The function-level passes (``tir.transform.prim_func_pass``,
``tir.transform.Simplify()``, ...) are in ``ir.user_passes``.

A module here is what ``tvm.lower`` returns: one ``PrimFunc``, which also answers IRModule's
questions (``mod["main"]``, ``mod.functions``). Every pass is called as ``pass_(mod)`` and
returns a new module; the input is never changed.

``PassContext`` config: tensorlang honours ``{"te.keep_schedule_record": True}`` (schedules
created inside record every primitive applied to them) and ``{"tir.add_lower_pass": [(phase,
pass), ...]}`` (passes run inside lowering, ``ir.user_passes``) and
``{"tir.instrument_bound_checkers": True}`` (builds check every buffer access at run time, as a
``-bounds-check`` target does) and ``{"cuda.kernels_output_dir": folder}`` (CUDA builds write their
code there as tvm_kernels.cu and .ptx) and ``{"tir.UnrollLoop": {"auto_max_step": 16,
"explicit_unroll": True}}`` (every loop nest of at most that many statements is unrolled, as the
``auto_unroll_max_step`` pragma does for one) and ``{"tir.disable_vectorize": True}`` (vectorized loops
are lowered as serial loops, as TVM's VectorizeLoop(False)); other config keys are accepted for ported code and have no
effect, with a warning naming them. ``opt_level``, ``required_pass`` and ``disabled_pass``
decide which passes of a ``Sequential`` run, as in TVM (``PassContext.pass_enabled``); they do
not change ``tvm.lower``/``tvm.build``'s own pipeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from ..errors import LoweringError
from .function import PrimFunc

KNOWN_CONFIG = ("te.keep_schedule_record", "tir.add_lower_pass", "tir.instrument_bound_checkers",
                "cuda.kernels_output_dir", "tir.UnrollLoop", "tir.disable_vectorize")
# The value types of the known keys, as TVM's list_configs names them.
CONFIG_TYPES = {"te.keep_schedule_record": "IntImm", "tir.add_lower_pass": "Array",
                "tir.instrument_bound_checkers": "IntImm", "cuda.kernels_output_dir": "runtime.String",
                "tir.UnrollLoop": "tir.transform.UnrollLoopConfig", "tir.disable_vectorize": "IntImm"}


def _check_opt_level(value: Any, what: str) -> None:
    """LoweringError unless ``value`` is a non-negative int (or its digits, as TVM's int() takes)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise LoweringError(f"{what} must be a non-negative int, got {value!r}")


class PassContext:
    """Compilation options for the code inside ``with PassContext(...):``."""

    def __init__(self, opt_level: int = 2, required_pass: Any = None, disabled_pass: Any = None,
                 instruments: Any = None, config: dict[str, Any] | None = None, trace: Any = None):
        _check_opt_level(opt_level, "PassContext(opt_level=...)")
        if config is not None and not isinstance(config, dict):
            raise LoweringError(f"PassContext(config=...) must be a dict of option name -> value, got {config!r}")
        self.opt_level = int(opt_level)
        self.required_pass = list(required_pass or [])
        self.disabled_pass = list(disabled_pass or [])
        self.instruments = list(instruments or [])
        if self.instruments:  # never silently: a user counting on them would read nothing
            warnings.warn("PassContext(instruments=...) has no effect in tensorlang: no pass instrument is run",
                          stacklevel=2)
        self.config = dict(config or {})
        unknown = sorted(k for k in self.config if k not in KNOWN_CONFIG)
        if unknown:
            warnings.warn(f"PassContext config {', '.join(unknown)} has no effect in tensorlang "
                          f"(known: {', '.join(KNOWN_CONFIG)})", stacklevel=2)
        self._tokens: list[Token] = []

    def __enter__(self) -> PassContext:
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(self._tokens.pop())

    @staticmethod
    def list_configs() -> dict[str, dict[str, str]]:
        """TVM's ``PassContext.list_configs()``: the config keys tensorlang honours, each with
        the type of its value (other keys are accepted, with a warning, and have no effect)."""
        return {key: {"type": kind} for key, kind in CONFIG_TYPES.items()}

    @staticmethod
    def current() -> PassContext:
        """The innermost active context (a default one outside any ``with``)."""
        ctx = _current.get()
        return ctx if ctx is not None else _DEFAULT

    def pass_enabled(self, info: PassInfo) -> bool:
        """Whether a ``Sequential`` runs a pass, by TVM's rule: not if ``disabled_pass`` names
        it, else if ``required_pass`` names it, else when its opt_level is at most this
        context's. A name matches with or without its ``tir.`` prefix ("tir.UnrollLoop" or
        "UnrollLoop")."""
        if _names(info.name) & _names_of(self.disabled_pass):
            return False
        if _names(info.name) & _names_of(self.required_pass):
            return True
        return info.opt_level <= self.opt_level


def _names(name: str) -> set[str]:
    return {name, name.split(".", 1)[1]} if name.startswith("tir.") else {name, f"tir.{name}"}


def _names_of(names: Iterable[Any]) -> set[str]:
    return {n for name in names for n in _names(str(name))}


_current: ContextVar[PassContext | None] = ContextVar("tensorlang_pass_context", default=None)
_DEFAULT = PassContext()


@dataclass(frozen=True)
class PassInfo:
    """What a pass is: TVM's ``PassInfo(opt_level, name, required, traceable)``."""

    opt_level: int
    name: str
    required: Sequence[str] | None = ()
    traceable: bool = False

    def __post_init__(self) -> None:
        _check_opt_level(self.opt_level, f"pass '{self.name}': opt_level")
        object.__setattr__(self, "opt_level", int(self.opt_level))
        object.__setattr__(self, "required", tuple(self.required or ()))


class Pass:
    """A transformation of a module: ``pass_(mod)`` returns the new module (a PrimFunc, what
    ``tvm.lower`` returns). ``info`` (and ``opt_level``, ``name``, ``required``) say when a
    ``Sequential`` runs it; calling a pass directly always runs it, as in TVM."""

    def __init__(self, opt_level: int = 0, name: str = "", required: Sequence[str] = (), traceable: bool = False):
        _check_opt_level(opt_level, f"pass '{name}': opt_level")
        self.opt_level = int(opt_level)
        self.name = name or type(self).__name__
        self.required = list(required)
        self.traceable = bool(traceable)

    @property
    def info(self) -> PassInfo:
        return PassInfo(self.opt_level, self.name, self.required, self.traceable)

    def __call__(self, mod: PrimFunc, ctx: PassContext | None = None) -> PrimFunc:
        if not isinstance(mod, PrimFunc):
            raise LoweringError(f"pass {self.name}: expects a lowered module (tvm.lower(...)), got {mod!r}")
        out = self._run(mod, ctx if ctx is not None else PassContext.current())
        if out is None:
            return mod
        if not isinstance(out, PrimFunc):
            raise LoweringError(f"pass {self.name} returned {type(out).__name__}, not a module "
                                "(return the module, f.with_body(new_body), or tvm.IRModule({'main': f}))")
        return out

    def _run(self, mod: PrimFunc, ctx: PassContext) -> PrimFunc | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _run")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, opt_level={self.opt_level})"


class ModulePass(Pass):
    """A pass over the whole module: ``fn(mod, ctx) -> mod`` (``module_pass`` makes them)."""

    def __init__(self, fn: Callable[[PrimFunc, PassContext], PrimFunc], opt_level: int = 0, name: str = "",
                 required: Sequence[str] = (), traceable: bool = False):
        super().__init__(opt_level, name or getattr(fn, "__name__", "module_pass"), required, traceable)
        self.fn = fn

    def _run(self, mod: PrimFunc, ctx: PassContext) -> PrimFunc | None:
        return self.fn(mod, ctx)


def module_pass(pass_func: Any = None, opt_level: int | None = None, name: str | None = None,
                required: Sequence[str] | None = None, traceable: bool = False) -> Any:
    """``@module_pass(opt_level=2)`` on ``f(mod, ctx) -> mod``, or on a class whose instances
    have ``transform_module(mod, ctx)`` (the decorated class then makes passes); or
    ``module_pass(f, opt_level=2)``."""
    if opt_level is None:
        raise LoweringError("module_pass needs opt_level= (as TVM's does)")

    def create(fn: Any) -> Any:
        if isinstance(fn, type):
            def make(*args: Any, **kwargs: Any) -> ModulePass:
                inst = fn(*args, **kwargs)
                return ModulePass(inst.transform_module, opt_level, name or fn.__name__, required or (), traceable)
            return make
        if not callable(fn):
            raise LoweringError(f"module_pass: {fn!r} is not a function or a class")
        return ModulePass(fn, opt_level, name or getattr(fn, "__name__", ""), required or (), traceable)
    return create(pass_func) if pass_func is not None else create


# Passes a Sequential can run by name (a pass's ``required``): name -> constructor, filled by
# the modules that define them (ir.user_passes registers tir.transform's).
_REGISTRY: dict[str, Callable[[], Pass]] = {}


def register_pass(name: str, make: Callable[[], Pass]) -> None:
    """Let ``required=[name]`` name the pass ``make()`` builds."""
    _REGISTRY[name] = make


class Sequential(Pass):
    """TVM's ``Sequential(passes, opt_level=0, name="sequential", required=None)``: runs the
    passes in order, skipping those the current PassContext disables (``pass_enabled``) and
    running first, by name, the passes each one lists in ``required``."""

    def __init__(self, passes: Iterable[Pass] | None = None, opt_level: int = 0, name: str = "sequential",
                 required: Sequence[str] | None = None, traceable: bool = False):
        super().__init__(opt_level, name, required or (), traceable)
        self.passes = list(passes or [])
        for n, p in enumerate(self.passes):
            if not isinstance(p, Pass):
                raise LoweringError(f"Sequential: entry {n} ({p!r}) is not a pass; make one with "
                                    "@tvm.transform.module_pass(opt_level=0) or @tvm.tir.transform.prim_func_pass")

    def _run(self, mod: PrimFunc, ctx: PassContext) -> PrimFunc:
        for p in self.passes:
            if not ctx.pass_enabled(p.info):
                continue
            for req in p.info.required:
                if req not in _REGISTRY:
                    raise LoweringError(f"pass {p.name} requires pass '{req}', which tensorlang does not know "
                                        f"(known: {', '.join(sorted(_REGISTRY))})")
                mod = _REGISTRY[req]()(mod, ctx)
            mod = p(mod, ctx)
        return mod

    def __repr__(self) -> str:
        return f"Sequential({self.name}, [{', '.join(p.name for p in self.passes)}])"


class PrintIR(Pass):
    """TVM's ``PrintIR(header="")``: prints the module (after ``header``) and returns it."""

    def __init__(self, header: str = "", show_meta_data: bool = False):
        super().__init__(0, "PrintIR")
        self.header = header

    def _run(self, mod: PrimFunc, ctx: PassContext) -> PrimFunc:
        print(f"PrintIR({self.header}):\n{mod}" if self.header else mod)
        return mod


__all__ = ["KNOWN_CONFIG", "ModulePass", "Pass", "PassContext", "PassInfo", "PrintIR", "Sequential",
           "module_pass", "register_pass"]
