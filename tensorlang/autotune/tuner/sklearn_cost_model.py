"""scikit-learn ensembles as cost models over config features, for comparison with XGBoost;
scikit-learn is imported when a model is first trained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..task import Task
from .feature_cost_model import FeatureCostModel
from .features import FeatureType
from .tuner import TunerError


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
            raise TunerError(f"unknown estimator '{estimator}' ({', '.join(self.ESTIMATORS)})")
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
