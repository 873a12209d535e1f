"""The part every feature-based cost model shares: features cached by config index, training
on throughput normalized to the best trial, transfer learning from logs of other workloads (a
base model whose prediction, discounted as this task's own samples grow, is the starting
margin) and quality metrics in debug logs. Configs that cannot be built always score -inf.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from ...errors import TensorLangError
from ..space import config_index
from ..task import Task, create
from .features import FeatureCache, FeatureType
from .features import feature_type as make_feature_type
from .model_based_tuner import CostModel
from .model_metrics import model_quality
from .tuner import Record, throughput

logger = logging.getLogger("tensorlang.autotune")

# Below this discount of the base model's margin, the base model is dropped.
_MIN_BASE_DISCOUNT = 0.05


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
