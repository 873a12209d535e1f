"""Tunable templates and tasks.

``@autotune.template("name")`` registers a function that declares a computation, defines
knobs on ``autotune.get_config()`` and returns ``(schedule, args)``.  A ``Task`` is one call
of a template: (name, args, target).  Its ``workload_key`` is a JSON string of the name and
the arguments, stable across processes and versions, so tuning logs keep applying.
"""

from __future__ import annotations

import functools
import inspect
import json
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import ScheduleError, TensorLangError
from ...schedule.schedule import Schedule, create_schedule
from ...target.target import Target, as_target
from ...te.dtype import DType
from ...te.expr import FloatImm, IntImm, Var
from ...te.extern import ExternOp
from ...te.operation import placeholder
from ...te.scan import ScanOp
from ...te.tensor import ComputeOp, IterVarType, PlaceholderOp, Tensor
from ..dispatcher import config_scope, dispatch
from ..env import tuning_scope
from ..flop import compute_flop as count_flop
from ..space import ConfigBase, ConfigEntity, ConfigSpace, FallbackConfigEntity, InstantiationError

# Templates by name.  TVM's API names templates by string (task.create("name", ...)), so a
# table is unavoidable; lookups that miss say which file must be imported.
TEMPLATES: dict[str, Callable[..., Any]] = {}
TASK_TABLE = TEMPLATES  # TVM's name for the registered templates (tests clear entries from it)
# numpy functions computing a template's outputs from its inputs (fast references for checking).
NUMPY_REFERENCES: dict[str, Callable[..., Any]] = {}


def _serialize(value: Any, where: str) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_serialize(v, where) for v in value]
    if isinstance(value, (IntImm, FloatImm)):
        return value.value
    if isinstance(value, DType):  # ``A.dtype`` passed as the out_dtype argument, as TVM code does
        return str(value)
    if isinstance(value, Tensor):
        return ["TENSOR", [_serialize(s, where) for s in value.shape], str(value.dtype)]
    raise TensorLangError(f"{where}: argument {value!r} of type {type(value).__name__} cannot be part of a "
                          "task's identity; use ints, floats, strings, tuples or tensors")


def workload_key(name: str, args: Sequence[Any]) -> str:
    """The stable identity of a template call: JSON of [name, args]."""
    return json.dumps([name, _serialize(list(args), f"task {name}")], separators=(",", ":"))


def template(name: str, func: Callable | None = None, *, reference: Callable[..., Any] | None = None) -> Callable:
    """Register a tunable template: ``@autotune.template("example/matmul")``.

    Called directly (outside tuning), the template gets the config that the innermost
    ``apply_history_best`` context holds for its (name, args, target), else a fallback.
    ``reference``, called with the template's arguments, returns a numpy function that takes
    the input arrays (in argument order) and returns the output(s): candidates then get their
    expected results without compiling a plain CPU schedule (a minute for a GPU-sized matmul).
    E.g. ``@autotune.template("matmul", reference=lambda n, l, m, dtype: np.matmul)``."""

    if not isinstance(name, str) or not name:
        raise TensorLangError(f"autotune.template needs a non-empty string name, got {name!r}")

    def deco(fn: Callable) -> Callable:
        if not callable(fn):
            raise TensorLangError(f"autotune.template('{name}') decorates a function, got {fn!r}")
        TEMPLATES[name] = fn
        if reference is not None:
            NUMPY_REFERENCES[name] = reference
        else:
            NUMPY_REFERENCES.pop(name, None)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            target = str(Target.current() or Target("llvm"))
            key = workload_key(name, args)
            what = f"{name}{tuple(args)}"
            cfg = dispatch(target, key, what)
            if isinstance(cfg, ConfigEntity):
                cfg = _fitting(cfg, fn, args, target, what)
            # A plain build ignores raise_error, as TVM's does; errors then tell of this call only.
            if isinstance(cfg, ConfigBase):
                cfg.errors = []
            try:
                with config_scope(cfg):
                    return fn(*args, **kwargs)
            except InstantiationError as refused:
                if type(cfg) is not FallbackConfigEntity or cfg.first_entities:
                    raise
                # The template refuses tensorlang's fallback tiles (a guard on the tile size):
                # TVM's fallback, each knob's first entity, as TVM would build.
                try:
                    with config_scope(FallbackConfigEntity(first_entities=True)):
                        return fn(*args, **kwargs)
                except InstantiationError:
                    raise refused from None

        wrapper.template_name = name  # type: ignore[attr-defined]
        wrapper.template_func = fn  # type: ignore[attr-defined]
        return wrapper

    return deco(func) if func is not None else deco


def _fitting(cfg: ConfigEntity, fn: Callable, args: Sequence[Any], target: str,
             what: str) -> ConfigEntity | FallbackConfigEntity:
    """``cfg`` when it is a point of the template's current space; otherwise (a log written for
    an older version of the template: a 3-part split for a 2-part knob) a warning saying so and
    the fallback config, never a traceback from inside the template."""
    space = ConfigSpace()
    try:
        with Target(target), config_scope(space):
            fn(*args)
        space.index_of(cfg)
        return space.own_entity(cfg)
    except (InstantiationError, KeyError) as exc:
        reason = exc if isinstance(exc, InstantiationError) else f"knob {exc} is no longer defined"
        warnings.warn(f"tensorlang.autotune: the logged config {cfg} for {what} does not fit the template's "
                      f"config space any more ({reason}); skipped, using a fallback config "
                      "(tune again to get a current one)", stacklevel=3)
        return FallbackConfigEntity()


def serialize_args(args: Sequence[Any]) -> tuple:
    """Task arguments as TVM records them: a tensor becomes ``("TENSOR", shape, dtype)``, so a
    task made from placeholders has the workload (and log key) of one made from those tuples."""
    out = []
    for a in args:
        if isinstance(a, Tensor):
            # A symbolic dimension (te.var("n")) is recorded by its name, as TVM's records print it.
            dims = tuple(int(d.value) if isinstance(d, IntImm) else d if isinstance(d, int) else str(d)
                         for d in a.shape)
            out.append(("TENSOR", dims, str(a.dtype)))
        else:
            out.append(a)
    return tuple(out)


def deserialize_args(args: Sequence[Any]) -> list[Any]:
    """The arguments a template is called with: each ``("TENSOR", shape, dtype)`` a placeholder."""
    names: dict[str, Var] = {}  # one variable per symbolic dimension name, shared by the tensors

    def dim(d: Any) -> Any:
        return names.setdefault(d, Var(d, "int32")) if isinstance(d, str) else d
    return [placeholder(tuple(dim(d) for d in a[1]), a[2], name=f"input{n}")
            if isinstance(a, (tuple, list)) and len(a) == 3 and a[0] == "TENSOR" else a
            for n, a in enumerate(args)]


class FlopCountError(TensorLangError):
    """A computation has no floating-point operation to count (or a symbolic shape): its FLOP
    count must be given with ``cfg.add_flop`` (a RuntimeError, as TVM raises)."""


def compute_flop(sch: Any) -> float:
    """TVM's ``autotvm.task.task.compute_flop``: the floating-point operations of a schedule's
    outputs (or of output tensors), counted as ``autotune.flop.compute_flop`` counts them; a
    FlopCountError when there is none (a pure copy) or a shape is symbolic, as in TVM."""
    flop = count_flop(sch)
    if not flop:
        raise FlopCountError("cannot find a floating-point operation in this computation (or its shape is "
                             "symbolic); use cfg.add_flop to set its FLOP count by hand")
    return flop


class Task:
    """One tuning problem: a template, its arguments and a target."""

    def __init__(self, name: str, args: Sequence[Any], target: str | Target | None = None):
        # Older TVM code passes the decorated template function itself.
        name = getattr(name, "template_name", name)
        if not isinstance(name, str):
            raise TensorLangError(f"a task names its template by a string (or passes the template itself), "
                                  f"got {name!r}")
        if name not in TEMPLATES:
            raise TensorLangError(f"no autotune template named '{name}'; the file defining "
                                  f"@autotune.template('{name}') must be imported first")
        if not isinstance(args, (list, tuple)):
            raise TensorLangError(f"task {name}: args must be a tuple of the template's arguments, got {args!r}")
        self.name = name
        self.func = TEMPLATES[name]
        self.numpy_reference = NUMPY_REFERENCES.get(name)
        self.args = serialize_args(args)
        self.target = str(as_target(target))
        self.workload_key = workload_key(name, self.args)
        self.template_file = _file_of(self.func)
        space = ConfigSpace()
        with Target(self.target), config_scope(space):
            try:
                made = self._call()
            except TensorLangError:
                raise
            except Exception as exc:  # noqa: BLE001 - the template's own code failed: say which and where
                raise TensorLangError(f"template '{name}' raised {type(exc).__name__} for args {self.args} "
                                      f"while its config space was collected: {exc}") from exc
        if not (isinstance(made, (list, tuple)) and len(made) == 2 and isinstance(made[0], Schedule)
                and isinstance(made[1], (list, tuple))):
            raise TensorLangError(f"template '{name}' must return (schedule, [tensors]), got {made!r:.200}")
        sch, tensors = made
        self.config_space = space
        # The plain count, 0 for a template without arithmetic (a copy), which tunes by speed;
        # the public compute_flop refuses that case, as TVM's does.
        self.flop = space.flop or count_flop([t for t in tensors if isinstance(t, Tensor)
                                              and not isinstance(t.op, PlaceholderOp)])

    @property
    def workload(self) -> tuple:
        """TVM's workload tuple ``(name, *args)``; ``dispatch_context.query(target, task.workload)``
        accepts it."""
        return (self.name,) + self.args

    @property
    def target_kind(self) -> str:
        return self.target.split()[0]

    def instantiate(self, config: ConfigEntity | FallbackConfigEntity) -> tuple[Any, list]:
        """The (schedule, args) the template makes for ``config``; InstantiationError if the
        config breaks a constraint or the template rejects it (raises, or calls
        ``cfg.raise_error``: TVM's measurement refuses a config that is not ``valid()``).  A
        fallback config is built whatever ``raise_error`` said, as TVM's fallback is."""
        if isinstance(config, ConfigEntity):
            config = self.config_space.own_entity(config)  # a logged config: its values as the template made them
            self.config_space.check(config)
        if isinstance(config, ConfigBase):
            config.errors = []  # this instantiation's messages only (the entity may be reused)
        with Target(self.target), config_scope(config), tuning_scope():
            made = self._call()
        if isinstance(config, ConfigEntity) and config.errors:
            raise InstantiationError("; ".join(config.errors))
        return made

    def _call(self) -> Any:
        # TOPI templates build their placeholders from the tuples themselves; others get them made.
        if getattr(self.func, "takes_serialized_args", False):
            return self.func(*self.args)
        return self.func(*deserialize_args(self.args))

    def reference(self) -> tuple[Any, list]:
        """A plain schedule of the same computation, to check candidates against (``plain_schedule``).

        As in TVM, the template is instantiated for the plain ``llvm`` target, so that a template
        whose computation depends on the target's options (``-device=...``) is checked against
        the plain computation; a template that refuses the CPU target is instantiated for its own."""
        try:
            with Target("llvm"), config_scope(FallbackConfigEntity()):
                _, tensors = self._call()
        except Exception:  # noqa: BLE001 - a GPU-only template: its own target defines the computation
            _, tensors = self._accepted_instance()
        return plain_schedule(tensors), tensors

    def _accepted_instance(self, tries: int = 256) -> tuple[Any, list]:
        """(schedule, args) of the fallback config, else of the first of the space's first
        ``tries`` configs the template accepts: a template may refuse the fallback's tiles (an
        InstantiationError for an inner tile above its limit), and the reference needs only the
        computation, which every accepted config makes.  TVM's reference takes config 0."""
        try:
            return self.instantiate(FallbackConfigEntity())
        except InstantiationError as refused:
            for index in range(min(tries, len(self.config_space))):
                try:
                    return self.instantiate(self.config_space.get(index))
                except InstantiationError:
                    continue
            raise refused

    def __repr__(self) -> str:
        return f"Task(name={self.name}, args={self.args}, target={self.target}, space={len(self.config_space)})"


def plain_schedule(tensors: Sequence[Any]) -> Any:
    """A plain schedule of the computation whose arguments are ``tensors``: each stage computed at
    root with its reduction loops outside the innermost data-parallel loop, the outermost
    data-parallel loop parallel."""
    outputs = [t.op for t in tensors if isinstance(t, Tensor) and not isinstance(t.op, PlaceholderOp)]
    sch = create_schedule(outputs)
    for st in sch.stages:
        op = st.op
        # An extern stage has no loops to schedule; a scan's time loop is serial (each step
        # reads the one before): both stay as create_schedule makes them.
        if not isinstance(op, ComputeOp) or isinstance(op, (ExternOp, ScanOp)):
            continue
        data = list(op.axis)
        if op.reduce_axis and data:
            try:
                st.reorder(*(data[:-1] + list(op.reduce_axis) + data[-1:]))
            except ScheduleError:
                pass  # a reduction whose range is read per output element (sparse rows) stays inside
        if data and len(data) > 1:
            ext = data[0].dom.extent
            if isinstance(ext, IntImm) and ext.value > 1 and data[0].iter_type == IterVarType.DATA_PAR:
                st.parallel(data[0])
    return sch


def _file_of(fn: Callable) -> str | None:
    try:
        return inspect.getfile(fn)
    except TypeError:
        return None


def create(task_name: str, args: Sequence[Any], target: str | Target | None = None,
           target_host: Any = None) -> Task:
    """A tuning task for template ``task_name`` called with ``args`` on ``target``
    (``target_host`` is accepted for TVM compatibility; the host is always the CPU here)."""
    return Task(task_name, args, target)

