"""Cost models over config features: XGBoost (rank or regression loss) and scikit-learn
ensembles, trained on throughput normalized to the best trial; configs that cannot be built
always score -inf.

``FeatureCostModel`` holds what both share: features cached by config index, the
normalization, transfer learning from logs of other workloads (a base model whose prediction,
discounted as this task's own samples grow, is the starting margin) and quality metrics for
debug logs.  xgboost and scikit-learn are imported when a model is first trained.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import TensorLangError
from ..task import Task, create
from .features import FeatureCache, FeatureType
from .features import feature_type as make_feature_type
from .model_based_tuner import CostModel
from .tuner import Record, config_index, throughput

logger = logging.getLogger("tensorlang.autotune")

# Below this discount of the base model's margin, the base model is dropped.
_MIN_BASE_DISCOUNT = 0.05


# --- model quality (debug logs) -------------------------------------------------------------------

def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def rank_correlation(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman's rank correlation (ties get average ranks); nan when either side is constant."""
    a, b = _average_ranks(np.asarray(y_true, float)), _average_ranks(np.asarray(y_pred, float))
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def model_quality(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> dict[str, float]:
    """NDCG@k (scikit-learn) and rank correlation of predictions against normalized throughput."""
    from sklearn.metrics import ndcg_score
    finite = np.isfinite(y_pred)
    pred = np.where(finite, y_pred, y_pred[finite].min() - 1.0 if finite.any() else 0.0)
    ndcg = float(ndcg_score(y_true[None, :], pred[None, :], k=k)) if len(y_true) > 1 else float("nan")
    return {"ndcg": ndcg, "spearman": rank_correlation(y_true, pred)}


def recall_curve_score(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    """Mean over k = 1..n of the share of the true top-k among the predicted top-k."""
    n = max(1, min(n, len(y_true)))
    true_rank = np.empty(len(y_true), dtype=np.int64)
    true_rank[np.argsort(-y_true, kind="stable")] = np.arange(len(y_true))
    top_pred = true_rank[np.argsort(-y_pred, kind="stable")[:n]]
    ks = np.arange(1, n + 1)
    hits = (np.arange(n)[None, :] < ks[:, None]) & (top_pred[None, :] < ks[:, None])
    return float((hits.sum(axis=1) / ks).mean())


# --- the shared part -------------------------------------------------------------------------------

class FeatureCostModel(CostModel):
    """A cost model over a feature type; subclasses train and apply one estimator."""

    def __init__(self, task: Task, feature_type: str | FeatureType = "itervar", seed: int | None = None,
                 n_jobs: int = 1):
        self.task = task
        self.ftype = make_feature_type(feature_type)
        self.seed = seed
        self.n_jobs = n_jobs
        self.cache = FeatureCache(task, self.ftype, n_jobs=self.n_jobs)
        self.base_model: FeatureCostModel | None = None
        self.trained = False
        self._n_samples = 0
        self._last_xs: list[int] = []

    # subclasses
    @abstractmethod
    def _train(self, x: np.ndarray, y: np.ndarray, margin: np.ndarray | None, plan_size: int) -> None:
        """Train on rows ``x`` with targets ``y`` in [0, 1], on top of ``margin`` if given."""

    @abstractmethod
    def _raw_predict(self, x: np.ndarray) -> np.ndarray:
        """The trained estimator's own output for rows ``x`` (without any base margin)."""

    @abstractmethod
    def spawn_base_model(self) -> FeatureCostModel:
        ...

    # CostModel
    def has_features(self, xs: Sequence[int]) -> np.ndarray:
        return self.cache.cached(xs)

    def extract_features(self, xs: Sequence[int]) -> float:
        return self.cache.extract(xs) if self.ftype.needs_lowering else 0.0

    def known_indices(self) -> list[int]:
        return self.cache.known_indices() if self.ftype.needs_lowering else []

    def load_basemodel(self, base_model: CostModel) -> None:
        if not isinstance(base_model, FeatureCostModel):
            raise TypeError(f"{type(self).__name__} can only start from a FeatureCostModel, got {base_model!r}")
        self.base_model = base_model

    def fit(self, xs: Sequence[int], ys: Sequence[float], plan_size: int) -> None:
        x, _ = self.cache.rows(xs)
        y = np.asarray(ys, dtype=float)
        y = y / max(float(y.max(initial=0.0)), 1e-30)
        if logger.isEnabledFor(logging.DEBUG) and self.trained:
            # Quality on the trials measured since the last fit: the model never saw them.
            seen = set(self._last_xs)
            new = np.array([k for k, i in enumerate(xs) if i not in seen])
            if len(new) > 1:
                q = model_quality(y[new], self._predict_rows(x[new]), plan_size)
                logger.debug("cost model on %d new trials: ndcg@%d %.3f, spearman %.3f", len(new), plan_size,
                             q["ndcg"], q["spearman"])
        self._n_samples = len(y)
        margin = None
        if self.base_model is not None:
            discount = self._discount()
            if discount < _MIN_BASE_DISCOUNT:
                self.base_model = None
            else:
                margin = discount * self.base_model._predict_rows(x)
        self._train(x, y, margin, plan_size)
        self.trained = True
        self._last_xs = list(xs)
        if logger.isEnabledFor(logging.DEBUG):
            q = model_quality(y, self._predict_rows(x), plan_size)
            logger.debug("cost model fit on %d trials: train ndcg@%d %.3f, spearman %.3f", len(y), plan_size,
                         q["ndcg"], q["spearman"])

    def fit_log(self, records: Sequence[Record], plan_size: int) -> bool:
        xs, ys = self._transfer_data(records)
        if len(ys) < 2 or not (ys > 0).any():
            return False
        self._train(xs, ys, None, plan_size)
        self.trained = True
        self._n_samples = 0
        logger.debug("cost model: base model trained on %d records of other workloads", len(ys))
        return True

    def predict(self, xs: Sequence[int]) -> np.ndarray:
        x, valid = self.cache.rows(xs)
        out = np.full(len(x), -np.inf)
        if valid.any():
            out[valid] = self._predict_rows(x[valid])
        return out

    # helpers
    def _discount(self) -> float:
        # The base model's share halves every 64 samples of this task (as in TVM).
        return 2.0 ** (-self._n_samples / 64.0)

    def _predict_rows(self, x: np.ndarray) -> np.ndarray:
        out = self._raw_predict(x) if self.trained else np.zeros(len(x))
        if self.base_model is not None:
            out = out + self._discount() * self.base_model._predict_rows(x)
        return np.asarray(out, dtype=float)

    def _transfer_data(self, records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
        """Rows and per-workload normalized throughput of records of other workloads of this
        template; workloads whose template is not registered in this process are skipped."""
        by_workload: dict[str, list[Record]] = {}
        for inp, res in records:
            if getattr(inp.task, "name", None) == self.task.name:
                by_workload.setdefault(inp.task.workload_key, []).append((inp, res))
        parts_x, parts_y = [], []
        for recs in by_workload.values():
            ref = recs[0][0].task
            try:
                task = ref if isinstance(ref, Task) else create(ref.name, ref.args, ref.target)
            except TensorLangError as err:
                logger.debug("transfer: skipping workload %s (%s)", ref.workload_key, err)
                continue
            pairs = [(config_index(task.config_space, inp.config), res) for inp, res in recs]
            pairs = [(i, res) for i, res in pairs if i is not None]
            if not pairs:
                continue
            x, _ = FeatureCache(task, self.ftype, n_jobs=self.n_jobs).rows([i for i, _ in pairs])
            y = np.array([throughput(task.flop, res) for _, res in pairs])
            if y.max(initial=0.0) <= 0:
                continue
            parts_x.append(_resize(x, self.cache.length))
            parts_y.append(y / y.max())
        if not parts_x:
            return np.zeros((0, self.cache.length), dtype=np.float32), np.zeros(0)
        return np.concatenate(parts_x), np.concatenate(parts_y)


def _resize(x: np.ndarray, n: int) -> np.ndarray:
    """Pad with zeros or cut columns so rows of another task line up (knob features)."""
    if x.shape[1] == n:
        return x
    out = np.zeros((x.shape[0], n), dtype=x.dtype)
    m = min(n, x.shape[1])
    out[:, :m] = x[:, :m]
    return out


# --- XGBoost ---------------------------------------------------------------------------------------

class XGBoostCostModel(FeatureCostModel):
    """Gradient-boosted trees: ``loss_type="rank"`` learns the order of configs (pairwise
    ranking, one group), ``"reg"`` regresses normalized throughput.  Training stops when
    the average recall of the true top ``plan_size`` on the training set stops improving
    for ``early_stopping_rounds`` rounds (at most ``max_rounds``)."""

    LOSSES = {"rank": "rank:pairwise", "reg": "reg:squarederror"}

    def __init__(self, task: Task, feature_type: str | FeatureType = "itervar", loss_type: str = "rank",
                 num_threads: int | None = None, seed: int | None = None, n_jobs: int = 1,
                 max_rounds: int = 300, early_stopping_rounds: int = 20):
        super().__init__(task, feature_type, seed, n_jobs)
        if loss_type not in self.LOSSES:
            raise ValueError(f"unknown loss_type '{loss_type}' (rank, reg)")
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
        if y is not None and self.loss_type == "rank":
            d.set_group([len(y)])
        if margin is not None:
            d.set_base_margin(margin)
        return d

    def _train(self, x: np.ndarray, y: np.ndarray, margin: np.ndarray | None, plan_size: int) -> None:
        import xgboost as xgb
        dtrain = self._dmatrix(x, y, margin)

        def recall(predt: np.ndarray, d: Any) -> tuple[str, float]:
            return f"recall@{plan_size}", recall_curve_score(d.get_label(), predt, plan_size)

        self.booster = xgb.train(self.params, dtrain, num_boost_round=self.max_rounds, evals=[(dtrain, "tr")],
                                 custom_metric=recall, early_stopping_rounds=self.early_stopping_rounds,
                                 maximize=True, verbose_eval=False)

    def _raw_predict(self, x: np.ndarray) -> np.ndarray:
        best = getattr(self.booster, "best_iteration", None)
        rng = (0, best + 1) if best is not None else (0, 0)
        return self.booster.predict(self._dmatrix(x), output_margin=True, iteration_range=rng)


# --- scikit-learn ------------------------------------------------------------------------------------

def _gbr(seed: int | None) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor
    return GradientBoostingRegressor(n_estimators=150, max_depth=3, learning_rate=0.1, random_state=seed)


def _rf(seed: int | None) -> Any:
    from sklearn.ensemble import RandomForestRegressor
    return RandomForestRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed, n_jobs=1)


class SklearnCostModel(FeatureCostModel):
    """A scikit-learn regressor of normalized throughput (``estimator``: "gbr" gradient
    boosting, "rf" random forest, or any regressor instance), for comparison with XGBoost.
    ``preprocessor`` (e.g. ``StandardScaler()``) is cloned and fitted on each training set;
    the default is none, as trees do not care about feature scales."""

    ESTIMATORS: dict[str, Callable[[int | None], Any]] = {"gbr": _gbr, "rf": _rf}

    def __init__(self, task: Task, feature_type: str | FeatureType = "itervar", estimator: str | Any = "gbr",
                 seed: int | None = None, n_jobs: int = 1, preprocessor: Any = None):
        super().__init__(task, feature_type, seed, n_jobs)
        if isinstance(estimator, str) and estimator not in self.ESTIMATORS:
            raise ValueError(f"unknown estimator '{estimator}' ({', '.join(self.ESTIMATORS)})")
        self.estimator = estimator
        self.preprocessor = preprocessor
        self.model: Any = None

    def spawn_base_model(self) -> SklearnCostModel:
        base = SklearnCostModel(self.task, self.ftype, self.estimator, self.seed, self.n_jobs, self.preprocessor)
        base.cache = self.cache  # same task and features: never extract a config twice
        return base

    def _train(self, x: np.ndarray, y: np.ndarray, margin: np.ndarray | None, plan_size: int) -> None:
        from sklearn.base import clone
        from sklearn.pipeline import make_pipeline
        est = self.ESTIMATORS[self.estimator](self.seed) if isinstance(self.estimator, str) else clone(self.estimator)
        steps = [clone(self.preprocessor), est] if self.preprocessor is not None else [est]
        self.model = make_pipeline(*steps)
        # A regressor cannot take a starting margin: it learns the residual instead.
        self.model.fit(x, y - margin if margin is not None else y)

    def _raw_predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)
