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
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import TensorLangError
from ..te.expr import IntImm
from ..te.tensor import IterVar


class InstantiationError(TensorLangError):
    """A config is invalid for its template (raised inside templates, or by constraints)."""


def _extent(axis: Any) -> int:
    if isinstance(axis, int):
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


# --- knob spaces ---------------------------------------------------------------------------

class KnobSpace:
    """The candidates of one knob."""

    kind = "?"
    entities: list

    def __len__(self) -> int:
        return len(self.entities)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(len={len(self)})"


class SplitEntity:
    """One way to split an axis: ``size`` lists the extents outermost first, -1 = the rest."""

    kind = "sp"

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

    @property
    def val(self) -> list[int]:
        return self.size

    def to_json(self) -> Any:
        return self.size

    def __repr__(self) -> str:
        return f"sp{self.size}"


def _factors(n: int) -> list[int]:
    small = [i for i in range(1, int(math.isqrt(n)) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


class SplitSpace(KnobSpace):
    """Ways to split an axis of extent ``product`` into ``num_outputs`` parts."""

    kind = "sp"

    def __init__(self, product: int, policy: str = "factors", num_outputs: int = 2,
                 max_factor: int | None = None, filter: Callable | None = None,  # noqa: A002
                 candidate: Sequence[Sequence[int]] | None = None):
        if num_outputs < 2:
            raise InstantiationError("define_split needs num_outputs >= 2")
        self.product, self.policy, self.num_outputs = product, policy, num_outputs
        limit = max_factor if max_factor is not None else product
        if policy == "candidate":
            if not candidate:
                raise InstantiationError("define_split(policy='candidate') needs candidate=[[...], ...]")
            sizes = [list(c) for c in candidate]
        else:
            if policy == "factors":
                pool = [f for f in _factors(product) if f <= limit]
            elif policy == "power2":
                pool = [2 ** i for i in range(int(math.log2(max(product, 1))) + 1) if 2 ** i <= limit]
            elif policy == "verbose":
                pool = sorted(set([f for f in _factors(product) if f <= limit]
                                  + [2 ** i for i in range(int(math.log2(max(product, 1))) + 1) if 2 ** i <= limit]))
            else:
                raise InstantiationError(f"unknown split policy '{policy}' (factors, power2, verbose, candidate)")
            sizes = []
            for inner in itertools.product(pool, repeat=num_outputs - 1):
                prod = math.prod(inner)
                if policy == "factors" and product % prod != 0:
                    continue
                if prod > product:
                    continue
                sizes.append([-1] + list(inner))
        self.entities = [SplitEntity(sz) for sz in sizes if filter is None or filter(SplitEntity(sz))]
        if not self.entities:
            raise InstantiationError(f"split space of extent {product} is empty (policy {policy})")


class ReorderEntity:
    """One order of a set of axes: ``perm`` indexes the axes given to ``apply``."""

    kind = "re"

    def __init__(self, perm: Sequence[int]):
        self.perm = list(perm)

    def apply(self, s: Any, op: Any, axes: Sequence[IterVar]) -> list[IterVar]:
        ordered = [axes[i] for i in self.perm]
        s[op].reorder(*ordered)
        return ordered

    @property
    def val(self) -> list[int]:
        return self.perm

    def to_json(self) -> Any:
        return self.perm

    def __repr__(self) -> str:
        return f"re{self.perm}"


class ReorderSpace(KnobSpace):
    """Orders of ``n`` axes: policy ``all`` (every permutation), ``identity``, ``candidate``."""

    kind = "re"

    def __init__(self, n: int, policy: str = "all", candidate: Sequence[Sequence[int]] | None = None):
        if policy == "all":
            perms = [list(p) for p in itertools.permutations(range(n))]
        elif policy == "identity":
            perms = [list(range(n))]
        elif policy == "candidate" and candidate:
            perms = [list(c) for c in candidate]
        else:
            raise InstantiationError(f"unknown reorder policy '{policy}' (all, identity, candidate)")
        self.entities = [ReorderEntity(p) for p in perms]


class AnnotateEntity:
    """One annotation per axis: ``none``, ``unroll``, ``vec`` or ``parallel``."""

    kind = "an"

    def __init__(self, anns: Sequence[str]):
        self.anns = list(anns)

    def apply(self, s: Any, op: Any, axes: Sequence[IterVar], axis_lens: Sequence[int] | None = None,
              max_unroll: int | None = None, vec_size: Any = None, cfg: Any = None) -> None:
        stage = s[op]
        for i, (ax, ann) in enumerate(zip(axes, self.anns)):
            length = axis_lens[i] if axis_lens is not None else None
            if ann == "unroll" and (max_unroll is None or length is None or length <= max_unroll):
                stage.unroll(ax)
            elif ann == "vec":
                stage.vectorize(ax)
            elif ann == "parallel":
                stage.parallel(ax)

    @property
    def val(self) -> list[str]:
        return self.anns

    def to_json(self) -> Any:
        return self.anns

    def __repr__(self) -> str:
        return f"an{self.anns}"


class AnnotateSpace(KnobSpace):
    """Annotations of ``n`` axes: ``try_unroll``, ``try_vec``, ``try_unroll_vec``, ``candidate``."""

    kind = "an"

    def __init__(self, n: int, policy: str, candidate: Sequence[Sequence[str]] | None = None):
        if policy == "try_unroll":
            opts = [list(p) for p in itertools.product(["none", "unroll"], repeat=n)]
        elif policy == "try_vec":
            opts = [["none"] * (n - 1) + [last] for last in ("none", "vec")]
        elif policy == "try_unroll_vec":
            opts = [list(p) + [last] for p in itertools.product(["none", "unroll"], repeat=n - 1)
                    for last in ("none", "vec")]
        elif policy == "candidate" and candidate:
            opts = [list(c) for c in candidate]
        else:
            raise InstantiationError(f"unknown annotate policy '{policy}' (try_unroll, try_vec, "
                                     "try_unroll_vec, candidate)")
        self.entities = [AnnotateEntity(o) for o in opts]


class OtherOptionEntity:
    """One value of a free-form knob: read it as ``cfg[name].val``."""

    kind = "ot"

    def __init__(self, val: Any):
        self.val = val

    def to_json(self) -> Any:
        return self.val

    def __repr__(self) -> str:
        return f"ot{self.val!r}"


class OtherOptionSpace(KnobSpace):
    """A knob with explicit candidate values."""

    kind = "ot"

    def __init__(self, candidates: Sequence[Any]):
        if not candidates:
            raise InstantiationError("define_knob needs at least one candidate")
        self.entities = [OtherOptionEntity(c) for c in candidates]


_ENTITY_OF_KIND = {"sp": SplitEntity, "re": ReorderEntity, "an": AnnotateEntity, "ot": OtherOptionEntity}


def entity_from_json(kind: str, value: Any) -> Any:
    """Rebuild a knob choice from its JSON form (as stored in tuning logs)."""
    cls = _ENTITY_OF_KIND.get(kind)
    if cls is None:
        raise InstantiationError(f"unknown knob kind '{kind}'")
    return cls(value)


# --- spaces and entities --------------------------------------------------------------------

class _ConfigBase:
    """What templates call: define_* (recording, or a no-op on a config) and cfg[name]."""

    def __init__(self) -> None:
        self.flop = 0.0
        self.code_hash = None

    def add_flop(self, flop: float) -> None:
        """Declare the floating-point operations of the template (for GFLOPS reports)."""
        self.flop += float(flop)

    def axis(self, var: Any) -> VirtualAxis:
        return VirtualAxis(_extent(var))

    reduce_axis = axis

    def raise_error(self, msg: str) -> None:
        """Reject this config from inside a template."""
        raise InstantiationError(msg)

    def valid(self) -> bool:
        return True


class ConfigSpace(_ConfigBase):
    """The knobs of a template and their candidates; ``len(space)`` configs in all."""

    def __init__(self) -> None:
        super().__init__()
        self.space_map: dict[str, KnobSpace] = {}
        self.constraints: list[tuple[Callable[[ConfigEntity], bool], str]] = []
        self.is_fallback = False

    # define_* record knobs
    def _add(self, name: str, space: KnobSpace) -> None:
        if name in self.space_map:
            raise InstantiationError(f"knob '{name}' is defined twice")
        self.space_map[name] = space

    def define_split(self, name: str, axis: Any, policy: str = "factors", num_outputs: int = 2,
                     max_factor: int | None = None, filter: Callable | None = None,  # noqa: A002
                     candidate: Sequence[Sequence[int]] | None = None, **_ignored: Any) -> None:
        """Knob ``name``: ways to split ``axis`` into ``num_outputs`` parts."""
        self._add(name, SplitSpace(_extent(axis), policy, num_outputs, max_factor, filter, candidate))

    def define_reorder(self, name: str, axes: Sequence[Any], policy: str = "all",
                       candidate: Sequence[Sequence[int]] | None = None, **_ignored: Any) -> None:
        """Knob ``name``: orders of ``axes``."""
        self._add(name, ReorderSpace(len(axes), policy, candidate))

    def define_annotate(self, name: str, axes: Sequence[Any], policy: str,
                        candidate: Sequence[Sequence[str]] | None = None, **_ignored: Any) -> None:
        """Knob ``name``: unroll/vectorize choices for ``axes``."""
        self._add(name, AnnotateSpace(len(axes), policy, candidate))

    def define_knob(self, name: str, candidate: Sequence[Any]) -> None:
        """Knob ``name``: one of ``candidate`` values."""
        self._add(name, OtherOptionSpace(candidate))

    def add_constraint(self, check: Callable[[ConfigEntity], bool], message: str = "") -> None:
        """Only configs for which ``check(cfg)`` holds are valid (e.g. a register budget)."""
        self.constraints.append((check, message or getattr(check, "__name__", "constraint")))

    def __getitem__(self, name: str) -> Any:
        # While collecting the space, answer with the first candidate so the template can run.
        return self.space_map[name].entities[0]

    # enumeration
    def __len__(self) -> int:
        return math.prod(len(s) for s in self.space_map.values()) if self.space_map else 1

    @property
    def dims(self) -> list[int]:
        return [len(s) for s in self.space_map.values()]

    def get(self, index: int) -> ConfigEntity:
        """The config with this index."""
        if not 0 <= index < len(self):
            raise IndexError(f"config index {index} out of range 0..{len(self) - 1}")
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
            for i, ent in enumerate(sp.entities):
                if ent.to_json() == want:
                    point.append(i)
                    break
            else:
                raise InstantiationError(f"knob '{name}' has no candidate {want!r}")
        return self.index_of_point(point)

    def is_valid(self, index: int) -> bool:
        """Whether the config passes every constraint."""
        if not self.constraints:
            return True
        cfg = self.get(index)
        return all(check(cfg) for check, _ in self.constraints)

    def check(self, cfg: ConfigEntity) -> None:
        for check, message in self.constraints:
            if not check(cfg):
                raise InstantiationError(f"config {cfg.index} violates constraint: {message}")

    def __iter__(self) -> Iterator[ConfigEntity]:
        for i in range(len(self)):
            yield self.get(i)

    def __repr__(self) -> str:
        lines = [f"ConfigSpace (len={len(self)}, constraints={len(self.constraints)}):"]
        for i, (name, sp) in enumerate(self.space_map.items()):
            lines.append(f"  {i:2d} {name}: {type(sp).__name__}(len={len(sp)}) "
                         f"{[e.to_json() for e in sp.entities[:6]]}{' ...' if len(sp) > 6 else ''}")
        return "\n".join(lines)

    __str__ = __repr__


class ConfigEntity(_ConfigBase):
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

    def add_flop(self, flop: float) -> None:
        # The flop count comes with the space; a template calling add_flop again must not double it.
        if not self.flop:
            self.flop = float(flop)

    def to_json_knobs(self) -> dict[str, Any]:
        return {name: ent.to_json() for name, ent in self._knobs.items()}

    def to_json(self) -> dict[str, Any]:
        """JSON form stored in tuning logs: index and every knob as [kind, value]."""
        return {"index": self.index, "knobs": {n: [e.kind, e.to_json()] for n, e in self._knobs.items()}}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ConfigEntity:
        knobs = {n: entity_from_json(kind, val) for n, (kind, val) in data["knobs"].items()}
        return ConfigEntity(int(data["index"]), knobs)

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
                out += [("none", "unroll", "vec", "parallel").index(x) if x in ("none", "unroll", "vec", "parallel")
                        else 0.0 for x in v]
            else:
                out.append(float(v) if isinstance(v, (int, float, bool)) else float(hash(str(v)) % 97))
        return out

    def __repr__(self) -> str:
        knobs = ", ".join(f"{n}={e!r}" for n, e in self._knobs.items())
        return f"[{knobs}],index={self.index}"

    __str__ = __repr__


class FallbackConfigEntity(ConfigSpace):
    """The config used when no tuning record matches: every knob takes a sensible default
    (splits: innermost factor 16, 8, 4 or 2 when it divides, else no split; other knobs: their
    first candidate)."""

    def __init__(self) -> None:
        super().__init__()
        self.is_fallback = True
        self._chosen: dict[str, Any] = {}

    def _add(self, name: str, space: KnobSpace) -> None:
        self.space_map[name] = space
        self._chosen[name] = self._default(space)

    @staticmethod
    def _default(space: KnobSpace) -> Any:
        if isinstance(space, SplitSpace):
            n = space.product
            inner = next((f for f in (16, 8, 4, 2) if n % f == 0 and f < n), 1)
            size = [-1] + [1] * (space.num_outputs - 2) + [inner]
            return SplitEntity(size)
        return space.entities[0]

    def __getitem__(self, name: str) -> Any:
        return self._chosen[name]

    def add_constraint(self, check: Callable, message: str = "") -> None:
        pass

    def to_json_knobs(self) -> dict[str, Any]:
        return {n: e.to_json() for n, e in self._chosen.items()}
