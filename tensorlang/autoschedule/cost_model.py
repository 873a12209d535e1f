"""The learned cost model of the auto-scheduler: XGBoost ranking on features of the lowered loop IR.

Features are ``ItervarFeature`` vectors (the template tuner's extractor, so one feature layout
serves both) of the candidate's loop nest lowered up to loop partitioning (``FEATURE_STEP``):
the loops, their kinds and the accesses are all there, and the passes that unroll and
vectorize, copying the body (most of a full lowering's time: 0.5 s against 0.04 s for a
conv2d candidate), have not run yet.  ``XGBRankModel`` ranks candidates of one
task: it starts from a pretrained booster shipped with the package (``pretrained_llvm.json``,
made by ``tools/train_autoschedule_model.py``) when its feature length matches, and refits on
the task's own measurements, with the pretrained score as the base margin.  Throughputs are
normalized to the task's best, failures count as 0.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autotune.tuner.features import ItervarFeature
from ..autotune.tuner.loop_analysis import summarize
from ..lowering import lower_schedule

logger = logging.getLogger("tensorlang.autoschedule")

PRETRAINED = os.path.join(os.path.dirname(__file__), "pretrained_llvm.json")
FEATURE = ItervarFeature()
FEATURE_STEP = "partition_loops"
_PARAMS = {"objective": "rank:pairwise", "max_depth": 6, "eta": 0.3, "min_child_weight": 1, "gamma": 0.0,
           "subsample": 1.0, "lambda": 1.0, "verbosity": 0, "nthread": 1}
_ROUNDS = 40


def features(task: Any, config: Any) -> np.ndarray | None:
    """The feature vector of one candidate (None when it cannot be instantiated or lowered)."""
    try:
        sch, args = task.instantiate(config)
        func = lower_schedule(sch, args, "main", target_kind=task.target_kind, until=FEATURE_STEP, check_ir=False)
    except Exception:  # noqa: BLE001 - a candidate the schedule or lowering rejects has no features
        return None
    return FEATURE.from_summary(summarize(func))


def load_pretrained(path: str | None = PRETRAINED) -> Any:
    """The shipped booster, or None when the file is missing or unreadable."""
    if not path or not os.path.exists(path):
        return None
    import xgboost as xgb
    booster = xgb.Booster(params={"nthread": 1})
    try:
        booster.load_model(path)
    except xgb.core.XGBoostError as exc:
        logger.warning("cannot read the pretrained cost model %s: %s", path, exc)
        return None
    if booster.num_features() != FEATURE.length():
        logger.warning("pretrained cost model %s expects %d features, the extractor gives %d; ignored",
                       path, booster.num_features(), FEATURE.length())
        return None
    return booster


def train_booster(xs: np.ndarray, ys: np.ndarray, groups: Sequence[int], seed: int = 0,
                  base_margin: np.ndarray | None = None, rounds: int = _ROUNDS,
                  params: dict[str, Any] | None = None) -> Any:
    """A pairwise-ranking booster on rows ``xs`` with relevance ``ys`` (in [0, 1]) grouped by task;
    ``params`` override the defaults (the online model: depth 6, 40 rounds)."""
    import xgboost as xgb
    dtrain = xgb.DMatrix(xs, label=ys)
    dtrain.set_group(list(groups))
    if base_margin is not None:
        dtrain.set_base_margin(base_margin)
    return xgb.train({**_PARAMS, "seed": seed, **(params or {})}, dtrain, num_boost_round=rounds)


class XGBRankModel:
    """Ranks candidates of one task; ``predict`` gives higher scores to faster candidates."""

    def __init__(self, pretrained: Any = "default", seed: int = 0):
        self.base = load_pretrained() if pretrained == "default" else (
            load_pretrained(pretrained) if isinstance(pretrained, str) else pretrained)
        self.booster: Any = None
        self.seed = seed

    @property
    def trained(self) -> bool:
        return self.booster is not None

    def _base_margin(self, xs: np.ndarray) -> np.ndarray | None:
        if self.base is None:
            return None
        import xgboost as xgb
        return self.base.predict(xgb.DMatrix(xs), output_margin=True)

    def fit(self, xs: np.ndarray, throughputs: np.ndarray) -> None:
        """Refit on this task's measured candidates (at least two successful ones needed)."""
        ys = np.asarray(throughputs, dtype=float)
        if len(ys) < 4 or np.count_nonzero(ys > 0) < 2:
            return
        ys = ys / ys.max()
        self.booster = train_booster(xs, ys, [len(ys)], seed=self.seed, base_margin=self._base_margin(xs))

    def predict(self, xs: np.ndarray) -> np.ndarray | None:
        """Scores of rows ``xs``; None when neither a pretrained nor a fitted model exists."""
        if len(xs) == 0:
            return np.zeros(0)
        import xgboost as xgb
        margin = self._base_margin(xs)
        if self.booster is None:
            return margin
        d = xgb.DMatrix(xs)
        if margin is not None:
            d.set_base_margin(margin)
        return self.booster.predict(d, output_margin=True)


def __getattr__(name: str) -> Any:
    # TVM's auto_scheduler.cost_model holds the policy-level models (XGBModel, RandomModel);
    # here they live in .policy, which imports this module, so they are fetched on first use.
    if name in ("XGBModel", "RandomModel"):
        from . import policy
        return getattr(policy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
