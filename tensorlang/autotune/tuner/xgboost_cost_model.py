"""The XGBoost cost model (rank or regression loss) over config features; xgboost is imported
when a model is first trained."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..task import Task
from .feature_cost_model import FeatureCostModel
from .features import FeatureType
from .model_metrics import recall_curve_score
from .tuner import TunerError


def binarized(y: np.ndarray) -> np.ndarray:
    """Labels of ``rank-binary``: 1 for a throughput at least half the best's (``y`` is
    normalized to the best), else 0, as TVM binarizes them."""
    return (np.asarray(y, dtype=float) >= 0.5).astype(float)


class XGBoostCostModel(FeatureCostModel):
    """Gradient-boosted trees: ``loss_type="rank"`` learns the order of configs (pairwise
    ranking, one group), ``"reg"`` regresses normalized throughput, and ``"rank-binary"`` (TVM
    0.12's) ranks pairwise too but judges its training against binarized labels (``binarized``:
    within half of the best or not).  Training stops when the average recall of the true top
    ``plan_size`` on the training set (for rank-binary: of the binarized labels) stops
    improving for ``early_stopping_rounds`` rounds (at most ``max_rounds``)."""

    LOSSES = {"rank": "rank:pairwise", "rank-binary": "rank:pairwise", "reg": "reg:squarederror"}

    def __init__(self, task: Task, feature_type: str | FeatureType = "itervar", loss_type: str = "rank",
                 num_threads: int | None = None, seed: int | None = None, n_jobs: int = 1,
                 max_rounds: int = 300, early_stopping_rounds: int = 20):
        super().__init__(task, feature_type, seed, n_jobs)
        if loss_type not in self.LOSSES:
            raise TunerError(f"unknown loss_type '{loss_type}' (rank, rank-binary, reg)")
        self.loss_type = loss_type
        self.num_threads = num_threads
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        # TVM's settings: shallow trees, little regularization, every sample and feature.
        self.params: dict[str, Any] = {
            "max_depth": 3, "gamma": 1e-4, "min_child_weight": 1, "subsample": 1.0, "eta": 0.3,
            "lambda": 1.0, "alpha": 0.0, "objective": self.LOSSES[loss_type], "tree_method": "hist",
            "disable_default_eval_metric": 1, "verbosity": 0, "seed": 0 if seed is None else int(seed),
        }
        # One thread by default: training sets are small (hundreds of rows), and on the 2-core
        # machine two OpenMP threads made a fit ~18x slower (2.5 s against 0.14 s for 64 rows).
        self.params["nthread"] = num_threads or 1
        self.booster: Any = None

    def spawn_base_model(self) -> XGBoostCostModel:
        base = XGBoostCostModel(self.task, self.ftype, self.loss_type, self.num_threads, self.seed, self.n_jobs,
                                self.max_rounds, self.early_stopping_rounds)
        base.cache = self.cache  # same task and features: never extract a config twice
        return base

    def _dmatrix(self, x: np.ndarray, y: np.ndarray | None = None, margin: np.ndarray | None = None) -> Any:
        import xgboost as xgb
        d = xgb.DMatrix(x, label=y, nthread=self.params["nthread"])
        if y is not None and self.loss_type in ("rank", "rank-binary"):
            d.set_group([len(y)])
        if margin is not None:
            d.set_base_margin(margin)
        return d

    def _train(self, x: np.ndarray, y: np.ndarray, margin: np.ndarray | None, plan_size: int) -> None:
        import xgboost as xgb
        dtrain = self._dmatrix(x, y, margin)
        # rank-binary: the metric that stops training reads binarized labels (TVM evaluates
        # on a binarized copy of the training set).
        deval = self._dmatrix(x, binarized(y), margin) if self.loss_type == "rank-binary" else dtrain

        def recall(predt: np.ndarray, d: Any) -> tuple[str, float]:
            return f"recall@{plan_size}", recall_curve_score(d.get_label(), predt, plan_size)

        self.booster = xgb.train(self.params, dtrain, num_boost_round=self.max_rounds, evals=[(deval, "tr")],
                                 custom_metric=recall, early_stopping_rounds=self.early_stopping_rounds,
                                 maximize=True, verbose_eval=False)

    def _raw_predict(self, x: np.ndarray) -> np.ndarray:
        best = getattr(self.booster, "best_iteration", None)
        rng = (0, best + 1) if best is not None else (0, 0)
        return self.booster.predict(self._dmatrix(x), output_margin=True, iteration_range=rng)
