"""Auto-scheduler candidates as tuning-log configs: a sketch and its decisions, plain JSON.

A candidate is stored as an ordinary ``ConfigEntity`` of the version-1 log format, so
``record.load_from_file``, ``pick_best``, resuming and ``tensorlang best`` work unchanged:
the knob ``"sketch"`` (kind ``ot``) holds the sketch text, and one knob per slot holds its
decision (``sp`` for splits, ``ot`` for choices).  The config index is a stable 60-bit hash of
the JSON of sketch and decisions, so the same candidate always has the same index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..autotune.space import ConfigEntity, InstantiationError, OtherOptionEntity, SplitEntity
from .sketch import Sketch

SKETCH_KNOB = "sketch"


def candidate_key(sketch: Sketch, decisions: Mapping[str, Any]) -> str:
    """Canonical JSON text of a candidate (equal candidates, equal keys)."""
    return json.dumps([sketch.name, {k: decisions[k] for k in sorted(decisions)}], separators=(",", ":"))


def to_config(sketch: Sketch, decisions: Mapping[str, Any], flop: float = 0.0) -> ConfigEntity:
    """The log config of a candidate."""
    key = candidate_key(sketch, decisions)
    index = int(hashlib.sha1(key.encode()).hexdigest()[:15], 16)
    knobs: dict[str, Any] = {SKETCH_KNOB: OtherOptionEntity(sketch.name)}
    for name in sorted(decisions):
        value = decisions[name]
        knobs[name] = SplitEntity(list(value)) if isinstance(value, (list, tuple)) else OtherOptionEntity(value)
    return ConfigEntity(index, knobs, flop)


def from_config(config: Any) -> tuple[Sketch, dict[str, Any]]:
    """(sketch, decisions) of a log config; InstantiationError when it is not an auto-scheduler config."""
    try:
        knobs = config.to_json_knobs()
    except AttributeError:
        raise InstantiationError(f"{config!r} is not an auto-scheduler config") from None
    text = knobs.get(SKETCH_KNOB)
    if not isinstance(text, str):
        raise InstantiationError("config has no 'sketch' knob: it was not written by the auto-scheduler")
    decisions = {k: (list(v) if isinstance(v, list) else v) for k, v in knobs.items() if k != SKETCH_KNOB}
    return Sketch.parse(text), decisions
