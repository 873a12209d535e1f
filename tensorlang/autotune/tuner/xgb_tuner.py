"""XGBTuner: a model-based tuner with an XGBoost cost model and simulated annealing; a fixed
seed gives the same sequence of proposals for the same measured costs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..task import Task
from .features import FeatureType
from .model_based_tuner import CostModel, ModelBasedTuner, ModelOptimizer
from .sa_model_optimizer import SimulatedAnnealingOptimizer
from .xgboost_cost_model import XGBoostCostModel


def _child_seeds(seed: int | None, n: int) -> list[int | None]:
    """Independent seeds for the parts of a tuner (all None for an unseeded tuner)."""
    if seed is None:
        return [None] * n
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


class XGBTuner(ModelBasedTuner):
    """Tune with an ``XGBoostCostModel`` (``feature_type``: "itervar", "knob", "curve";
    ``loss_type``: "rank", "rank-binary", "reg") and a ``SimulatedAnnealingOptimizer`` (``optimizer="sa"``,
    or any ``ModelOptimizer``).  ``cost_model`` replaces the XGBoost model (for example with
    an ``SklearnCostModel``); ``feature_budget`` caps the configs whose features one planning
    round extracts, and ``n_jobs`` the processes extracting them."""

    def __init__(self, task: Task, plan_size: int = 64, feature_type: str | FeatureType = "itervar",
                 loss_type: str = "rank", num_threads: int | None = None, optimizer: str | ModelOptimizer = "sa",
                 diversity_filter_ratio: float | None = None, log_interval: int = 50, seed: int | None = None,
                 cost_model: CostModel | None = None, feature_budget: float = 400, n_jobs: int = 1,
                 **tuner_options: Any):
        tuner_seed, model_seed, optimizer_seed = _child_seeds(seed, 3)
        if cost_model is None:
            cost_model = XGBoostCostModel(task, feature_type, loss_type, num_threads, seed=model_seed, n_jobs=n_jobs)
        if optimizer == "sa":
            optimizer = SimulatedAnnealingOptimizer(task, log_interval=log_interval, feature_budget=feature_budget,
                                                    seed=optimizer_seed)
        elif not isinstance(optimizer, ModelOptimizer):
            raise ValueError(f"optimizer must be 'sa' or a ModelOptimizer, got {optimizer!r}")
        super().__init__(task, cost_model, optimizer, plan_size, diversity_filter_ratio, seed=tuner_seed,
                         **tuner_options)
