"""Configuration spaces of tunable templates, and the configs drawn from them.

A template calls ``cfg = autotune.get_config()`` and then ``cfg.define_split(...)``,
``cfg.define_reorder(...)``, ``cfg.define_annotate(...)``, ``cfg.define_knob(...)``.  While a
task collects its space, ``cfg`` is a ``ConfigSpace`` that records each knob and its
candidates; while a candidate is built it is a ``ConfigEntity`` that answers ``cfg[name]``
with one choice.  A space enumerates its configs by a mixed-radix index over its knobs, in
definition order, so an index and a config convert both ways; constraints (``add_constraint``)
mark some indices invalid.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import TensorLangError
from ..te.expr import IntImm
from ..te.tensor import IterVar


class InstantiationError(TensorLangError):
    """A config is invalid for its template (raised inside templates, or by constraints)."""


class ConfigIndexError(InstantiationError, IndexError):
    """A config index outside a space (an IndexError too, as TVM's ``ConfigSpace.get`` raises)."""


class ConfigRangeError(InstantiationError, ValueError, AssertionError):
    """An index range [start, end) that is not within a space (TVM asserts there, so this is an
    AssertionError too, and a ValueError for callers that check arguments that way)."""


# Spaces beyond this many candidates of one knob are refused: enumerating them would not end.
MAX_KNOB_CANDIDATES = 100_000


def _int_arg(value: Any, where: str, minimum: int) -> int:
    """An int argument of a define_* call, at least ``minimum``; else an InstantiationError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InstantiationError(f"{where} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _extent(axis: Any) -> int:
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        if axis < 0:
            raise InstantiationError(f"cannot tune an axis of negative extent {axis}")
        return axis
    if isinstance(axis, VirtualAxis):
        return axis.length
    if isinstance(axis, IterVar):
        if axis.dom is None or not isinstance(axis.dom.extent, IntImm):
            raise InstantiationError(f"cannot tune axis {axis.name}: its extent is not a constant")
        return axis.dom.extent.value
    raise InstantiationError(f"expected an axis or an int extent, got {axis!r}")


class VirtualAxis:
    """An axis of a given length used only to define knobs (TVM's ``cfg.axis(n)``)."""

    def __init__(self, length: int, name: str = "axis"):
        self.length, self.name = int(length), name


class Axis(NamedTuple):
    """TVM's ``Axis``: output ``index`` of the knob space ``space`` (a split's i-th part)."""

    space: Any
    index: int


# --- knob spaces ---------------------------------------------------------------------------

class KnobSpace:
    """The candidates of one knob."""

    kind = "?"
    entities: list

    def __len__(self) -> int:
        return len(self.entities)

    def __getitem__(self, index: int) -> Any:  # TVM's TransformSpace: space[i] is a candidate
        return self.entities[index]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(len={len(self)})"


TransformSpace = KnobSpace  # TVM's name of the base of knob spaces


class _ListEntity:
    """A knob value that is one list, kept under its TVM attribute name (``_list_attr``):
    ``val`` reads it, the log stores it, and it prints as kind and list (``sp[-1, 8]``)."""

    kind = "?"
    _list_attr = ""

    @property
    def val(self) -> list:
        return getattr(self, self._list_attr)

    def to_json(self) -> Any:
        return self.val

    def __repr__(self) -> str:
        return f"{self.kind}{self.val}"


class SplitEntity(_ListEntity):
    """One way to split an axis: ``size`` lists the extents outermost first, -1 = the rest."""

    kind, _list_attr = "sp", "size"

    def __init__(self, size: Sequence[int]):
        self.size = list(size)

    def apply(self, s: Any, op: Any, axis: IterVar) -> list[IterVar]:
        """Split ``axis`` of stage ``s[op]`` into ``len(size)`` axes (outermost first)."""
        stage = s[op]
        out = []
        for factor in reversed(self.size[1:]):
            axis, inner = stage.split(axis, factor=int(factor))
            out.append(inner)
        out.append(axis)
        return list(reversed(out))


def get_factors(n: int) -> list[int]:
    """Every divisor of ``n``, ascending (TVM's ``autotvm.task.space.get_factors``)."""
    small = [i for i in range(1, int(math.isqrt(n)) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


def get_pow2s(n: int) -> list[int]:
    """The powers of two up to ``n``, ascending (TVM's ``get_pow2s``)."""
    return [2 ** i for i in range(int(math.log2(max(n, 1))) + 1)]


class SplitSpace(KnobSpace):
    """Ways to split an axis of extent ``product`` into ``num_outputs`` parts."""

    kind = "sp"

    def __init__(self, product: int, policy: str = "factors", num_outputs: int = 2,
                 max_factor: int | None = None, filter: Callable | None = None,  # noqa: A002
                 candidate: Sequence[Sequence[int]] | None = None):
        num_outputs = _int_arg(num_outputs, "define_split: num_outputs", 2)
        self.product, self.policy, self.num_outputs = product, policy, num_outputs
        limit = _int_arg(max_factor, "define_split: max_factor", 1) if max_factor is not None else product
        if policy == "candidate":
            if not candidate or not isinstance(candidate, (list, tuple)):
                raise InstantiationError("define_split(policy='candidate') needs candidate=[[...], ...]")
            sizes = [list(c) if isinstance(c, (list, tuple)) else c for c in candidate]
            for c in sizes:
                if not isinstance(c, list) or len(c) != num_outputs or not all(
                        isinstance(f, (int, np.integer)) and not isinstance(f, bool) and (f >= 1 or f == -1)
                        for f in c):
                    raise InstantiationError(f"define_split(policy='candidate'): each candidate must list "
                                             f"{num_outputs} positive factors (-1: the rest), got {c!r}")
        else:
            if policy == "factors":
                pool = [f for f in get_factors(product) if f <= limit]
            elif policy == "power2":
                pool = [p for p in get_pow2s(product) if p <= limit]
            elif policy == "verbose":
                pool = sorted(set([f for f in get_factors(product) if f <= limit]
                                  + [p for p in get_pow2s(product) if p <= limit]))
            else:
                raise InstantiationError(f"unknown split policy '{policy}' (factors, power2, verbose, candidate)")
            sizes = [[-1] + inner for inner in _split_factors(pool, num_outputs - 1, product, policy == "factors")]
        self.entities = [SplitEntity(sz) for sz in sizes if filter is None or filter(SplitEntity(sz))]
        if not self.entities:
            raise InstantiationError(f"split space of extent {product} is empty (policy {policy})")

    @property
    def num_output(self) -> int:
        """TVM's name of ``num_outputs``."""
        return self.num_outputs


def _split_factors(pool: list[int], parts: int, product: int, dividing: bool) -> list[list[int]]:
    """Every tuple of ``parts`` factors from ``pool`` (sorted) whose product is at most
    ``product`` (and divides it when ``dividing``), in ``itertools.product`` order; prefixes
    that cannot be completed are skipped, and more than MAX_KNOB_CANDIDATES tuples are an error."""
    out: list[list[int]] = []
    prefix: list[int] = []  # the factors chosen so far
    prods = [1]  # prods[d]: the product of prefix[:d]
    nxt = [0]  # nxt[d]: the position in pool to try next at depth d
    while nxt:
        d = len(nxt) - 1
        if d == parts:
            out.append(list(prefix))
            if len(out) > MAX_KNOB_CANDIDATES:
                raise InstantiationError(f"define_split: splitting an extent of {product} into {parts + 1} parts "
                                         f"gives more than {MAX_KNOB_CANDIDATES} candidates; use fewer parts, "
                                         "max_factor= or policy='candidate'")
        else:
            for i in range(nxt[d], len(pool)):
                p = prods[d] * pool[i]
                if p > product:
                    break  # the pool is sorted: larger factors overshoot too
                if dividing and product % p:
                    continue
                nxt[d] = i + 1
                prefix.append(pool[i])
                prods.append(p)
                nxt.append(0)
                break
            else:
                nxt[d] = len(pool)
            if len(nxt) - 1 > d:
                continue  # went one level deeper
        nxt.pop()
        prods.pop()
        if prefix:
            prefix.pop()
    return out


class ReorderEntity(_ListEntity):
    """One order of a set of axes: ``perm`` indexes the axes given to ``apply``."""

    kind, _list_attr = "re", "perm"

    def __init__(self, perm: Sequence[int]):
        self.perm = list(perm)

    def apply(self, s: Any, op: Any, axes: Sequence[IterVar]) -> list[IterVar]:
        ordered = [axes[i] for i in self.perm]
        s[op].reorder(*ordered)
        return ordered


def _position(axis: Any, axes: Sequence[Any], knob: str) -> int:
    """Where ``axis`` stands in ``axes`` (by identity: IterVars compare as expressions)."""
    for k, a in enumerate(axes):
        if a is axis:
            return k
    raise InstantiationError(f"define_reorder {knob}: candidate axis {getattr(axis, 'name', axis)!r} is not one of "
                             f"the axes {[getattr(a, 'name', a) for a in axes]}")


class ReorderSpace(KnobSpace):
    """Orders of ``n`` axes: policy ``all`` (every permutation), ``identity``, ``candidate``,
    ``interval_all`` (every permutation of ``axes[begin:end]``, the others in place, as TVM's)."""

    kind = "re"

    def __init__(self, n: int, policy: str = "all", candidate: Sequence[Sequence[int]] | None = None,
                 interval: Sequence[int] | None = None):
        if policy == "all":
            perms = [list(p) for p in itertools.permutations(range(n))]
        elif policy == "interval_all":
            begin, end = _interval(interval, n)
            perms = [list(range(begin)) + list(p) + list(range(end, n))
                     for p in itertools.permutations(range(begin, end))]
        elif policy == "identity":
            perms = [list(range(n))]
        elif policy == "candidate" and candidate:
            perms = [list(c) for c in candidate]
            for p in perms:
                if len(set(p)) != len(p) or not all(isinstance(i, int) and 0 <= i < n for i in p):
                    raise InstantiationError(f"define_reorder: candidate order {p} must list distinct positions "
                                             f"among the {n} axes (0..{n - 1}) or the axes themselves")
        else:
            raise InstantiationError(f"unknown reorder policy '{policy}' (all, interval_all, identity, candidate)")
        self.entities = [ReorderEntity(p) for p in perms]


def _interval(interval: Any, n: int) -> tuple[int, int]:
    """(begin, end) of ``define_reorder(policy="interval_all", interval=(begin, end))``, checked
    against the ``n`` axes (0 <= begin <= end <= n)."""
    if not isinstance(interval, (list, tuple)) or len(interval) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in interval):
        raise InstantiationError(f"define_reorder(policy='interval_all') needs interval=(begin, end), "
                                 f"got {interval!r}")
    begin, end = int(interval[0]), int(interval[1])
    if not 0 <= begin <= end <= n:
        raise InstantiationError(f"define_reorder: interval ({begin}, {end}) is not within the {n} axes")
    return begin, end


class AnnotateEntity(_ListEntity):
    """One annotation per axis: ``none``, ``unroll``, ``vec``, ``parallel``, a GPU thread axis
    (``blockIdx.x``, ``threadIdx.y``, ``vthread``) or ``fuse`` (with the next axis); for policy
    ``locate_cache``, the positions of the anchor axes instead."""

    kind, _list_attr = "an", "anns"

    def __init__(self, anns: Sequence[Any]):
        self.anns = list(anns)

    def apply(self, s: Any, op: Any, axes: Sequence[IterVar], axis_lens: Sequence[int] | None = None,
              max_unroll: int | None = None, vec_size: Any = None, cfg: Any = None,
              source: Sequence[Sequence[Any]] | None = None) -> list[IterVar]:
        """Annotate ``axes`` of ``s[op]`` (TVM's arguments): an unrolled axis longer than
        ``max_unroll``, or a vectorized one whose length is not in ``vec_size``, is annotated
        anyway and reported by ``raise_error`` on ``cfg`` (default: the template's config), which
        makes the config an instantiation error when measured.  With ``source`` (policy
        ``locate_cache``), each tensor of ``source[k]`` is computed at the k-th anchor axis."""
        stage = s[op]
        axes = list(axes)
        if source is not None:
            for tensors, to in zip(source, self.anns):
                if not isinstance(to, (int, np.integer)) or isinstance(to, bool) or not 0 <= to < len(axes):
                    raise InstantiationError(f"annotate apply(source=...): {to!r} is not an anchor axis position "
                                             f"(the knob must be defined with policy='locate_cache')")
                for t in tensors:
                    s[t].compute_at(stage, axes[to])
            return axes
        for i, ann in enumerate(self.anns):
            length = axis_lens[i] if axis_lens is not None else _known_extent(axes[i])
            if ann == "none":
                continue
            if ann == "unroll":
                if max_unroll and length is not None and length > max_unroll:
                    _report(cfg, "Too large factor for unrolling")
                stage.unroll(axes[i])
            elif ann == "vec":
                if vec_size and length is not None and length not in vec_size:
                    _report(cfg, "Wrong size of lanes in vectorization")
                stage.vectorize(axes[i])
            elif ann == "parallel":
                stage.parallel(axes[i])
            elif ann in _THREAD_TAGS:
                from ..te import thread_axis
                stage.bind(axes[i], thread_axis(ann))
            elif ann == "fuse":
                if i + 1 >= len(axes):
                    raise InstantiationError("annotation 'fuse' needs a next axis to fuse with")
                axes[i + 1] = stage.fuse(axes[i], axes[i + 1])
            else:
                raise InstantiationError(f"unknown annotation {ann!r} (none, unroll, vec, parallel, fuse, "
                                         f"{', '.join(_THREAD_TAGS)})")
        return axes


_THREAD_TAGS = ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z", "vthread")


def _known_extent(axis: Any) -> int | None:
    """The constant extent of an axis when it is known before lowering (split axes have none yet)."""
    if isinstance(axis, VirtualAxis):
        return axis.length
    dom = getattr(axis, "dom", None)
    extent = getattr(dom, "extent", None)
    return extent.value if isinstance(extent, IntImm) else None


def _report(cfg: Any, msg: str) -> None:
    """``raise_error(msg)`` on ``cfg``, else on the config of the template being instantiated."""
    if cfg is None:
        from .dispatcher import current_config  # the dispatcher imports this module
        cfg = current_config()
    if cfg is not None:
        cfg.raise_error(msg)


_ANNOTATIONS = ("none", "unroll", "vec")


class AnnotateSpace(KnobSpace):
    """Annotations of ``n`` axes, as TVM's AnnotateSpace: a policy of ``_``-joined choices
    (``try_unroll``, ``try_vec``, ``try_unroll_vec``, ``unroll``, ...; ``try`` = none) gives
    each axis each choice, with at most one ``vec`` axis, in ``itertools.product`` order;
    ``locate_cache`` (``num_anchor=k``) gives each k-subset of the axes as anchors; ``candidate``
    lists annotations."""

    kind = "an"

    def __init__(self, n: int, policy: str, candidate: Sequence[Sequence[str]] | None = None,
                 num_anchor: int | None = None):
        self.policy = policy
        if policy == "locate_cache":
            k = _int_arg(num_anchor, "define_annotate(policy='locate_cache'): num_anchor", 0)
            opts = [list(c) for c in itertools.combinations(range(n), k)]
        elif policy == "candidate":
            if not candidate:
                raise InstantiationError("define_annotate(policy='candidate') needs candidate=[[...], ...]")
            opts = [list(c) for c in candidate]
        else:
            choices = policy.replace("try", "none").split("_") if isinstance(policy, str) else [policy]
            if not all(c in _ANNOTATIONS for c in choices):
                raise InstantiationError(f"unknown annotate policy {policy!r} (try_unroll, try_vec, try_unroll_vec, "
                                         "unroll, vec, locate_cache, candidate)")
            # TVM vectorizes at most one axis of a knob.
            opts = [list(p) for p in itertools.product(choices, repeat=n) if p.count("vec") <= 1]
        if not opts:
            raise InstantiationError(f"annotate space of {n} axes is empty (policy {policy!r})")
        self.entities = [AnnotateEntity(o) for o in opts]


def _plain(obj: Any) -> Any:
    """json.dumps ``default``: a numpy scalar or array as the Python value a log reads back."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"type {type(obj).__name__} is not JSON")


def log_form(value: Any) -> Any:
    """``value`` as a tuning log stores it and reads it back: tuples become lists, numpy scalars
    Python numbers; TypeError or ValueError when a log cannot hold it (an arbitrary object, NaN)."""
    return json.loads(json.dumps(value, default=_plain, allow_nan=False))


class OtherOptionEntity:
    """One value of a free-form knob: read it as ``cfg[name].val``."""

    kind = "ot"

    def __init__(self, val: Any):
        self.val = val

    def to_json(self) -> Any:
        # What a log holds and gives back, so that a logged config compares equal to the
        # space's own (a tuple candidate comes back from the log as a list).
        return log_form(self.val)

    def __repr__(self) -> str:
        return f"ot{self.val!r}"


class OtherOptionSpace(KnobSpace):
    """A knob with explicit candidate values."""

    kind = "ot"

    def __init__(self, candidates: Sequence[Any], name: str = ""):
        if not isinstance(candidates, (list, tuple, range, str)):
            raise InstantiationError(f"define_knob needs a list of candidate values, got {candidates!r}")
        if not candidates:
            raise InstantiationError("define_knob needs at least one candidate")
        for c in candidates:
            # Checked now, not when the first trial is logged (after it was measured).
            try:
                log_form(c)
            except (TypeError, ValueError, RecursionError) as exc:
                raise InstantiationError(
                    f"define_knob{f' {name!r}' if name else ''}: candidate {c!r:.80} cannot be written to a "
                    f"tuning log ({exc}); a knob's values must be finite numbers, strings, booleans, None, "
                    "or lists, tuples and dicts of them") from None
        self.entities = [OtherOptionEntity(c) for c in candidates]


_ENTITY_OF_KIND = {"sp": SplitEntity, "re": ReorderEntity, "an": AnnotateEntity, "ot": OtherOptionEntity}


def entity_from_json(kind: str, value: Any) -> Any:
    """Rebuild a knob choice from its JSON form (as stored in tuning logs)."""
    cls = _ENTITY_OF_KIND.get(kind)
    if cls is None:
        raise InstantiationError(f"unknown knob kind '{kind}'")
    return cls(value)


# --- spaces and entities --------------------------------------------------------------------

class ConfigBase:
    """What templates call: define_* (recording, or a no-op on a config) and cfg[name]."""

    def __init__(self) -> None:
        self.flop = 0.0
        self.code_hash = None
        # Messages of cfg.raise_error (TVM's ``errors``): a measured config with any is an
        # instantiation error; collecting a space or building a fallback ignores them.
        self.errors: list[str] = []

    def add_flop(self, flop: Any) -> None:
        """Declare the floating-point operations of the template (for GFLOPS reports): a number,
        or an IntImm/FloatImm (``B.shape[0] * B.shape[1]``), as TVM accepts."""
        self.flop += _flop_count(flop)

    def axis(self, var: Any) -> VirtualAxis:
        return VirtualAxis(_extent(var))

    reduce_axis = axis

    def raise_error(self, msg: str) -> None:
        """Mark this config invalid, as TVM's: ``msg`` is appended to ``errors`` and the template
        goes on (measuring the config then reports an instantiation error with the messages)."""
        self.errors.append(str(msg))

    def valid(self) -> bool:
        """Whether no ``raise_error`` was called on this config (TVM's ``valid``)."""
        return not self.errors


def _flop_count(flop: Any) -> float:
    """``flop`` as a float: a Python or numpy number, or an expression constant (anything whose
    ``.value`` is a number); an InstantiationError for anything else."""
    value = flop
    if not isinstance(value, (int, float, np.integer, np.floating)) and hasattr(value, "value"):
        value = value.value  # IntImm / FloatImm, as TVM's add_flop unwraps them
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise InstantiationError(f"add_flop expects a finite, non-negative number of operations, got {flop!r}")
    return float(value)


def _holds(check: Callable[[Any], bool], message: str, cfg: Any) -> bool:
    """Whether ``cfg`` passes a constraint; a constraint that raises is an InstantiationError."""
    try:
        return bool(check(cfg))
    except TensorLangError:
        raise
    except Exception as exc:  # noqa: BLE001 - the template's own function failed: name it
        raise InstantiationError(f"constraint {message} raised {type(exc).__name__} on config {cfg.index}: "
                                 f"{exc}") from exc


class ConfigSpace(ConfigBase):
    """The knobs of a template and their candidates; ``len(space)`` configs in all."""

    def __init__(self) -> None:
        super().__init__()
        self.space_map: dict[str, KnobSpace] = {}
        self.constraints: list[tuple[Callable[[ConfigEntity], bool], str]] = []
        self.is_fallback = False
        self._multi_filtered = False  # whether multi_filter was called
        self._filtered: list[int] | None = None  # cache of the valid indices after multi_filter, in order

    # define_* record knobs
    def _add(self, name: str, space: KnobSpace) -> None:
        if not isinstance(name, str):
            raise InstantiationError(f"a knob's name must be a string, got {name!r}")
        # As in TVM, defining a knob again replaces it (keeping its place in the index order),
        # e.g. to narrow a split with a filter after the template defined it.
        self.space_map[name] = space
        self._filtered = None  # the indices changed meaning: a multi_filter is evaluated again

    def define_split(self, name: str, axis: Any, policy: str = "factors", num_outputs: int = 2,
                     max_factor: int | None = None, filter: Callable | None = None,  # noqa: A002
                     candidate: Sequence[Sequence[int]] | None = None, **_ignored: Any) -> None:
        """Knob ``name``: ways to split ``axis`` into ``num_outputs`` parts."""
        self._add(name, SplitSpace(_extent(axis), policy, num_outputs, max_factor, filter, candidate))

    def define_reorder(self, name: str, axes: Sequence[Any], policy: str = "all",
                       candidate: Sequence[Sequence[int]] | None = None, interval: Sequence[int] | None = None,
                       **_ignored: Any) -> None:
        """Knob ``name``: orders of ``axes``; ``candidate`` orders may list the axes themselves
        (as TVM templates do) or their positions in ``axes``; ``interval=(begin, end)`` with
        policy ``interval_all``."""
        if not isinstance(axes, (list, tuple)):
            raise InstantiationError(f"define_reorder {name}: axes must be a list of axes, got {axes!r}")
        if candidate:
            candidate = [[c if isinstance(c, int) else _position(c, axes, name) for c in order] for order in candidate]
        self._add(name, ReorderSpace(len(axes), policy, candidate, interval))

    def define_annotate(self, name: str, axes: Sequence[Any], policy: str,
                        candidate: Sequence[Sequence[str]] | None = None, num_anchor: int | None = None,
                        **_ignored: Any) -> None:
        """Knob ``name``: unroll/vectorize choices for ``axes``, or (policy ``locate_cache``)
        which ``num_anchor`` of them anchor caches."""
        if not isinstance(axes, (list, tuple)):
            raise InstantiationError(f"define_annotate {name}: axes must be a list of axes, got {axes!r}")
        self._add(name, AnnotateSpace(len(axes), policy, candidate, num_anchor))

    def define_knob(self, name: str, candidate: Sequence[Any]) -> None:
        """Knob ``name``: one of ``candidate`` values."""
        self._add(name, OtherOptionSpace(candidate, name if isinstance(name, str) else ""))

    def add_constraint(self, check: Callable[[ConfigEntity], bool], message: str = "") -> None:
        """Only configs for which ``check(cfg)`` holds are valid (e.g. a register budget)."""
        if not callable(check):
            raise InstantiationError(f"add_constraint expects a function of the config, got {check!r}")
        self.constraints.append((check, message or getattr(check, "__name__", "constraint")))
        self._filtered = None

    def __getitem__(self, name: str) -> Any:
        # While collecting the space, answer with the first candidate so the template can run.
        space = self.space_map.get(name) if isinstance(name, str) else None
        if space is None:
            raise InstantiationError(f"config space has no knob {name!r} (define it first; known: "
                                     f"{', '.join(self.space_map) or 'none'})")
        return space.entities[0]

    def multi_filter(self, filter: Callable[[ConfigEntity], bool]) -> None:  # noqa: A002 - TVM's name
        """Keep only configs for which ``filter(cfg)`` holds (a test over several knobs at once);
        ``len(space)`` then counts the kept configs, ``range_length`` all of them."""
        self.add_constraint(filter, "multi_filter")
        self._multi_filtered = True

    def _valid_indices(self) -> list[int] | None:
        """The indices left by multi_filter, in order (computed once per space definition);
        None when no multi_filter was applied."""
        if not self._multi_filtered:
            return None
        if self._filtered is None:
            self._filtered = [i for i in range(self.range_length) if self.is_valid(i)]
        return self._filtered

    # enumeration
    @property
    def range_length(self) -> int:
        """The number of config indices (valid or not)."""
        return math.prod(len(s) for s in self.space_map.values()) if self.space_map else 1

    def __len__(self) -> int:
        valid = self._valid_indices()
        return self.range_length if valid is None else len(valid)

    def is_index_valid(self, index: int) -> bool:
        """Whether ``index`` is in range and passes every filter and constraint."""
        return 0 <= index < self.range_length and self.is_valid(index)

    def subrange_length(self, start: int, end: int) -> int:
        """How many valid indices lie in [start, end); a ConfigRangeError unless
        0 <= start <= end <= range_length (as TVM asserts)."""
        if not 0 <= start <= end <= self.range_length:
            raise ConfigRangeError(f"subrange [{start}, {end}) is not within the space's index range "
                                   f"[0, {self.range_length}] (need 0 <= start <= end <= range_length)")
        if not self.constraints:
            return end - start
        return sum(1 for i in range(start, end) if self.is_valid(i))

    def get_next_index(self, index: int, n: int = 1, start: int | None = None,
                       end: int | None = None) -> int | None:
        """The ``n``-th valid index after ``index`` (before it for a negative ``n``) within
        [start, end) (the whole space by default); None when there is none (TVM's name)."""
        if n == 0:
            raise ConfigRangeError("get_next_index: n must not be 0")
        lo = start or 0
        hi = self.range_length if end is None else end
        if not self.constraints:  # every index is valid: no need to step
            index += n
            return index if lo <= index < hi else None
        step = 1 if n > 0 else -1
        left = abs(n)
        while left:
            index += step
            if not lo <= index < hi:
                return None
            if self.is_valid(index):
                left -= 1
        return index

    def point2knob(self, index: int) -> list[int]:
        """The per-knob candidate indices of a config index (TVM's name of ``point_of``)."""
        return self.point_of(index)

    def knob2point(self, knob: Sequence[int]) -> int:
        """The config index of per-knob candidate indices."""
        return self.index_of_point(knob)

    def sample_ints(self, m: int, rng: Any = None) -> list[int]:
        """``m`` distinct valid indices drawn at random (fewer when the space is smaller)."""
        rng = rng or random.Random()
        valid = self._valid_indices()
        if valid is not None or self.range_length <= 4 * m:
            pool = valid if valid is not None else [i for i in range(self.range_length) if self.is_valid(i)]
            return rng.sample(pool, min(m, len(pool)))
        out: set[int] = set()
        while len(out) < m:
            i = rng.randrange(self.range_length)
            if self.is_valid(i):
                out.add(i)
        return list(out)

    def random_walk(self, point: int, rng: Any = None) -> int:
        """A valid neighbour of ``point``: one knob changed to another candidate."""
        rng = rng or random.Random()
        knobs = self.point_of(point)
        for _ in range(1000):
            new = list(knobs)
            k = rng.randrange(len(new))
            size = self.dims[k]
            if size < 2:
                continue
            new[k] = rng.randrange(size)
            idx = self.index_of_point(new)
            if idx != point and self.is_valid(idx):
                return idx
        return point

    def get_rand_index(self, start: int | None = None, end: int | None = None, to_exclude: Any = None,
                       rng: Any = None) -> int | None:
        """A random valid index in [start, end) not in ``to_exclude`` (None when there is none)."""
        rng = rng or random.Random()
        lo, hi = start or 0, self.range_length if end is None else end
        excluded = set(to_exclude or ())
        candidates = [i for i in range(lo, hi) if i not in excluded and self.is_valid(i)] \
            if hi - lo <= 100000 else None
        if candidates is not None:
            return rng.choice(candidates) if candidates else None
        for _ in range(100000):
            i = rng.randrange(lo, hi)
            if i not in excluded and self.is_valid(i):
                return i
        return None

    @property
    def dims(self) -> list[int]:
        return [len(s) for s in self.space_map.values()]

    def get(self, index: int) -> ConfigEntity:
        """The config with this index (an error for an index a multi_filter removed)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ConfigIndexError(f"a config index must be an int, got {index!r}")
        if not 0 <= index < self.range_length:
            raise ConfigIndexError(f"config index {index} out of range 0..{self.range_length - 1}")
        if self._multi_filtered and not self.is_valid(index):
            raise InstantiationError(f"config index {index} was removed by multi_filter")
        return self._entity(index)

    def _entity(self, index: int) -> ConfigEntity:
        knobs, rest = {}, index
        for name, sp in self.space_map.items():
            knobs[name] = sp.entities[rest % len(sp)]
            rest //= len(sp)
        return ConfigEntity(index, knobs, self.flop)

    def point_of(self, index: int) -> list[int]:
        """The per-knob candidate indices of a config index."""
        out, rest = [], index
        for sp in self.space_map.values():
            out.append(rest % len(sp))
            rest //= len(sp)
        return out

    def index_of_point(self, point: Sequence[int]) -> int:
        index, mult = 0, 1
        for p, sp in zip(point, self.space_map.values()):
            index += p * mult
            mult *= len(sp)
        return index

    def index_of(self, config: ConfigEntity | dict[str, Any]) -> int:
        """The index of a config (or of a {knob name: JSON value} mapping)."""
        values = config.to_json_knobs() if isinstance(config, ConfigEntity) else config
        point = []
        for name, sp in self.space_map.items():
            want = values[name] if not isinstance(values[name], (list, tuple)) or len(values[name]) != 2 \
                or values[name][0] not in _ENTITY_OF_KIND else values[name][1]
            try:
                want = log_form(want)  # as the entities' to_json gives them (tuples as lists)
            except (TypeError, ValueError, RecursionError):
                pass
            for i, ent in enumerate(sp.entities):
                if ent.to_json() == want:
                    point.append(i)
                    break
            else:
                raise InstantiationError(f"knob '{name}' has no candidate {want!r}")
        return self.index_of_point(point)

    def own_entity(self, config: ConfigEntity) -> ConfigEntity:
        """This space's config with the knob values of ``config`` (its recorded index when that
        agrees): a config read from a log holds its values as JSON gave them back (a tuple
        candidate as a list), the template gets them as it defined them.  ``config`` itself when
        no config of the space has its values."""
        try:
            knobs = config.to_json_knobs()
        except (TypeError, ValueError, RecursionError):
            return config
        own = None
        index = config.index
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < self.range_length:
            own = self._entity(index)
            if own.to_json_knobs() != knobs:
                own = None
        if own is None:
            try:
                own = self._entity(self.index_of(knobs))
            except (InstantiationError, KeyError):
                return config
        # The same values in Python (no tuple read back as a list): the config itself, as given.
        try:
            return config if own.knob_values() == config.knob_values() else own
        except (TypeError, ValueError):  # values that do not compare to a bool (numpy arrays)
            return own

    def is_valid(self, index: int) -> bool:
        """Whether the config passes every constraint."""
        if not self.constraints:
            return True
        cfg = self._entity(index)
        return all(_holds(check, message, cfg) for check, message in self.constraints)

    def check(self, cfg: ConfigEntity) -> None:
        for check, message in self.constraints:
            if not _holds(check, message, cfg):
                raise InstantiationError(f"config {cfg.index} violates constraint: {message}")

    def __iter__(self) -> Iterator[ConfigEntity]:
        for i in range(self.range_length):
            if not self._multi_filtered or self.is_valid(i):
                yield self.get(i)

    def __repr__(self) -> str:
        lines = [f"ConfigSpace (len={len(self)}, range_length={self.range_length}, "
                 f"constraints={len(self.constraints)}):"]
        for i, (name, sp) in enumerate(self.space_map.items()):
            lines.append(f"  {i:2d} {name}: {type(sp).__name__}(len={len(sp)}) "
                         f"{[e.to_json() for e in sp.entities[:6]]}{' ...' if len(sp) > 6 else ''}")
        return "\n".join(lines)

    __str__ = __repr__


class ConfigEntity(ConfigBase):
    """One config: a choice for every knob; define_* calls are no-ops."""

    def __init__(self, index: int, knobs: dict[str, Any], flop: float = 0.0):
        super().__init__()
        self.index = index
        self._knobs = knobs
        self.flop = flop
        self.is_fallback = False

    def __getitem__(self, name: str) -> Any:
        try:
            return self._knobs[name]
        except KeyError:
            raise InstantiationError(f"config has no knob '{name}' (known: {', '.join(self._knobs)})") from None

    def define_split(self, name: str, axis: Any, *a: Any, **k: Any) -> None:
        pass

    def define_reorder(self, name: str, axes: Any, *a: Any, **k: Any) -> None:
        pass

    def define_annotate(self, name: str, axes: Any, *a: Any, **k: Any) -> None:
        pass

    def define_knob(self, name: str, candidate: Any) -> None:
        pass

    def add_constraint(self, check: Callable, message: str = "") -> None:
        if not check(self):
            raise InstantiationError(f"config {self.index} violates constraint: {message or check}")

    def multi_filter(self, filter: Callable) -> None:  # noqa: A002 - TVM's name
        """A no-op on a chosen config, as in TVM: the filter shaped the space it came from."""

    def add_flop(self, flop: Any) -> None:
        # The flop count comes with the space; a template calling add_flop again must not double it.
        if not self.flop:
            self.flop = _flop_count(flop)

    def to_json_knobs(self) -> dict[str, Any]:
        return {name: ent.to_json() for name, ent in self._knobs.items()}

    def to_json(self) -> dict[str, Any]:
        """JSON form stored in tuning logs: index and every knob as [kind, value]."""
        return {"index": self.index, "knobs": {n: [e.kind, e.to_json()] for n, e in self._knobs.items()}}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ConfigEntity:
        knobs = {n: entity_from_json(kind, val) for n, (kind, val) in data["knobs"].items()}
        return ConfigEntity(int(data["index"]), knobs)

    def to_json_dict(self) -> dict[str, Any]:
        """TVM's JSON form: ``{"index", "code_hash", "entity": [[name, kind, value], ...]}``."""
        return {"index": int(self.index), "code_hash": self.code_hash,
                "entity": [[n, e.kind, e.to_json()] for n, e in self._knobs.items()]}

    @staticmethod
    def from_json_dict(json_dict: dict[str, Any]) -> ConfigEntity:
        """The config of a ``to_json_dict`` dictionary (TVM's)."""
        try:
            knobs = {str(name): entity_from_json(kind, value) for name, kind, value in json_dict["entity"]}
            cfg = ConfigEntity(int(json_dict["index"]), knobs)
        except (KeyError, TypeError, ValueError) as exc:
            raise InstantiationError(f"from_json_dict expects {{'index', 'code_hash', 'entity': [[name, kind, "
                                     f"value], ...]}}, got {json_dict!r:.200} ({type(exc).__name__}: {exc})") from None
        cfg.code_hash = json_dict.get("code_hash")
        return cfg

    def knob_values(self) -> dict[str, Any]:
        """Each knob's value as the template reads it (``cfg[name].val`` of a ``define_knob``
        knob, the JSON form of the others)."""
        return {n: e.val if isinstance(e, OtherOptionEntity) else e.to_json() for n, e in self._knobs.items()}

    def get_other_option(self) -> dict[str, Any]:
        """The values of the ``define_knob`` knobs, by name."""
        return {n: e.val for n, e in self._knobs.items() if isinstance(e, OtherOptionEntity)}

    def get_flatten_feature(self) -> list[float]:
        """Numbers describing the knob choices (for cost models with feature_type='knob')."""
        out: list[float] = []
        for ent in self._knobs.values():
            v = ent.to_json()
            if ent.kind == "sp":
                out += [math.log2(abs(x)) if x not in (0, -1) else 0.0 for x in v[1:]]
            elif ent.kind == "re":
                out += [float(x) for x in v]
            elif ent.kind == "an":
                # locate_cache knobs hold anchor positions (ints), the others annotation names
                out += [float(x) if isinstance(x, int) else
                        ("none", "unroll", "vec", "parallel").index(x) if x in ("none", "unroll", "vec", "parallel")
                        else 0.0 for x in v]
            else:
                out.append(float(v) if isinstance(v, (int, float, bool)) else float(hash(str(v)) % 97))
        return out

    def __repr__(self) -> str:
        # Values as the template's author wrote them: tile_y=[-1, 8], order='panel'.
        knobs = ", ".join(f"{n}={e.val if isinstance(e, OtherOptionEntity) else e.to_json()!r}"
                          for n, e in self._knobs.items())
        return f"[{knobs}],index={self.index}"

    __str__ = __repr__


class FallbackConfigEntity(ConfigSpace):
    """The config used when no tuning record matches: every knob takes a sensible default
    (splits: innermost factor 16, 8, 4 or 2 when it divides and the split's space holds it, else
    the space's first split; other knobs: their first candidate).  ``first_entities=True`` gives
    TVM's fallback instead: every knob its space's first entity."""

    def __init__(self, first_entities: bool = False) -> None:
        self.first_entities = first_entities
        super().__init__()
        self.is_fallback = True
        self._chosen: dict[str, Any] = {}

    def _add(self, name: str, space: KnobSpace) -> None:
        self.space_map[name] = space
        # A value set before (cfg[name] = ..., fallback_split) survives a later define_*.
        self._chosen.setdefault(name, space.entities[0] if self.first_entities else self._default(space))

    def __setitem__(self, name: str, entity: Any) -> None:
        """Set a knob by hand, as TOPI templates do on fallback: ``cfg["tile_x"] = SplitEntity([-1, 8])``."""
        self._chosen[name] = entity

    def fallback_split(self, name: str, constraints: Sequence[int]) -> None:
        """Choose split ``name`` factor by factor from the innermost: each part the largest divisor
        of what is left that does not exceed its constraint (-1: no limit)."""
        space = self.space_map.get(name)
        if not isinstance(space, SplitSpace):
            raise InstantiationError(f"fallback_split: '{name}' is not a split knob defined on this config")
        if len(constraints) != space.num_outputs:
            raise InstantiationError(f"fallback_split: '{name}' has {space.num_outputs} parts, "
                                     f"got {len(constraints)} constraints")
        left = space.product
        size = [0] * space.num_outputs
        for i in reversed(range(space.num_outputs)):
            limit = math.inf if constraints[i] == -1 else constraints[i]
            fits = [f for f in get_factors(left) if f <= limit]
            if not fits:
                raise InstantiationError(f"fallback_split: no factor of {left} fits constraint {constraints[i]} "
                                         f"for part {i} of split '{name}'")
            size[i] = fits[-1]
            left //= fits[-1]
        self._chosen[name] = SplitEntity(size)

    def fallback_with_reference_log(self, ref_log: Iterable[Any]) -> None:
        """Copy the tiling of the most similar logged config: the reference whose split products
        share the most divisors with this config's, its splits scaled by ``fallback_split`` and
        its other knobs copied."""
        splits = [n for n, sp in self.space_map.items() if isinstance(sp, SplitSpace)]
        mine = {n: set(get_factors(self.space_map[n].product)) for n in splits}
        best, best_score = None, 0.0
        for inp, _ in ref_log:
            cfg = inp.config
            try:
                score = sum(len(mine[n] & set(get_factors(abs(math.prod(cfg[n].size))))) / len(mine[n])
                            for n in splits)
            except (InstantiationError, KeyError, AttributeError):
                continue
            if score > best_score:
                best, best_score = cfg, score
        if best is None:
            return
        for n in splits:
            limits = list(best[n].size)
            limits[0] = -1
            self.fallback_split(n, limits)
        for n, sp in self.space_map.items():
            if not isinstance(sp, SplitSpace):
                try:
                    self._chosen[n] = best[n]
                except (InstantiationError, KeyError):
                    pass

    @staticmethod
    def _default(space: KnobSpace) -> Any:
        # Always a point of the space the template defined (its filter, candidates, max_factor):
        # the innermost factor 16, 8, 4 or 2 where the space has that split, else the space's
        # first entity, which is TVM's fallback.
        if isinstance(space, SplitSpace):
            n = space.product
            for inner in (16, 8, 4, 2):
                if n % inner or inner >= n:
                    continue
                size = [-1] + [1] * (space.num_outputs - 2) + [inner]
                if any(list(e.size) == size for e in space.entities):
                    return SplitEntity(size)
        return space.entities[0]

    def __getitem__(self, name: str) -> Any:
        try:
            return self._chosen[name]
        except KeyError:
            raise InstantiationError(f"fallback config has no knob '{name}' (define it first)") from None

    def add_constraint(self, check: Callable, message: str = "") -> None:
        pass

    def multi_filter(self, filter: Callable) -> None:  # noqa: A002 - TVM's name
        """A no-op: the fallback's defaults are used whatever the filter (enumerating the space here
        would cost a template call for nothing)."""

    def to_json_knobs(self) -> dict[str, Any]:
        return {n: e.to_json() for n, e in self._chosen.items()}


def config_index(space: ConfigSpace, config: ConfigEntity) -> int | None:
    """The index of a logged config in ``space``: its recorded index when the knobs agree,
    else the index of its knob values, else None (the template changed since the log)."""
    idx = getattr(config, "index", None)
    knobs = config.to_json_knobs()
    if isinstance(idx, int) and 0 <= idx < space.range_length and space.get(idx).to_json_knobs() == knobs:
        return idx
    try:
        return space.index_of(knobs)
    except (InstantiationError, KeyError):
        return None


__all__ = ["InstantiationError", "ConfigIndexError", "ConfigRangeError", "VirtualAxis", "Axis", "KnobSpace",
           "TransformSpace", "SplitEntity", "SplitSpace", "ReorderEntity", "ReorderSpace", "AnnotateEntity",
           "AnnotateSpace", "OtherOptionEntity", "OtherOptionSpace", "entity_from_json", "ConfigSpace",
           "ConfigEntity", "FallbackConfigEntity", "config_index", "get_factors", "get_pow2s"]
