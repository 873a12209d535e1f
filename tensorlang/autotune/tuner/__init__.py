"""Search strategies of the auto-tuner: random, grid, genetic, droplet and model-based (XGBoost) tuners.

Every tuner proposes each config at most once and never a constraint-invalid one; see
``Tuner.tune`` for the measure-update loop.
"""

from .droplet_tuner import DropletTuner
from .ga_tuner import GATuner
from .gridsearch_tuner import GridSearchTuner
from .model_based_tuner import CostModel, ModelBasedTuner, ModelOptimizer
from .random_tuner import RandomTuner
from .sa_model_optimizer import SimulatedAnnealingOptimizer
from .sklearn_cost_model import SklearnCostModel
from .tuner import Tuner
from .xgb_tuner import XGBTuner
from .xgboost_cost_model import XGBoostCostModel

__all__ = ["Tuner", "RandomTuner", "GridSearchTuner", "GATuner", "DropletTuner", "XGBTuner", "ModelBasedTuner",
           "CostModel", "ModelOptimizer", "SimulatedAnnealingOptimizer", "XGBoostCostModel", "SklearnCostModel"]
