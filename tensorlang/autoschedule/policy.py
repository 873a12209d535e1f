"""The search a task is tuned with, in the names of TVM's ``auto_scheduler``: ``SketchPolicy``
(the task's evolutionary search, with a seed), its cost model (``XGBModel``: the shipped
pretrained ranker refitted on the task's measurements; ``RandomModel``: no learned model, the
analytic prior alone) and ``PreloadMeasuredStates`` (trials of a log the search starts from);
``PreloadCustomSketchRule`` is accepted with a warning (see its docstring); ``EmptyPolicy`` searches
with the prior alone.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from ..errors import TensorLangError
from .cost_model import XGBRankModel
from .search import SketchSearch


class PreloadMeasuredStates:
    """Start the search from the trials of this task in ``filename``: they are not measured again
    and they train the cost model.  (A task's own log is always preloaded.)"""

    def __init__(self, filename: str | os.PathLike = "auto_scheduler_tuning.json"):
        if not isinstance(filename, (str, os.PathLike)):
            raise TensorLangError(f"PreloadMeasuredStates needs a file name, got {filename!r}")
        self.filename = os.fspath(filename)


class PreloadCustomSketchRule:
    """TVM's hook for a hand-written sketch rule (``meet_condition_func(policy, state, stage_id)``
    and ``apply_func(policy, state, stage_id)`` over Ansor's loop-state API).  tensorlang's
    sketches are built from the computation's stages, not from that API, so a policy given one
    warns and searches its own sketches; the rule's functions are never called."""

    PASS, APPLY, APPLY_AND_SKIP_REST = 0, 1, 2

    def __init__(self, meet_condition_func: Any, apply_func: Any, rule_name: str = "CustomSketchRule"):
        for what, fn in (("meet_condition_func", meet_condition_func), ("apply_func", apply_func)):
            if not callable(fn):
                raise TensorLangError(f"PreloadCustomSketchRule {rule_name}: {what} must be callable, got {fn!r}")
        self.meet_condition_func, self.apply_func, self.rule_name = meet_condition_func, apply_func, rule_name


class XGBModel:
    """The learned cost model: the pretrained ranker shipped with tensorlang, refitted on the
    task's measured candidates as they arrive.  ``update_from_file(log)`` adds that log's trials
    of the task to what the model is trained on when a search starts.  TVM's tuning arguments
    (``verbose_eval``, ``num_warmup_sample``, ``adaptive_training``) are accepted and not used."""

    def __init__(self, verbose_eval: int = 25, num_warmup_sample: int = 100, seed: int | None = None,
                 model_file: str | None = None, adaptive_training: bool = False,
                 disable_update: bool = False, few_shot_learning: bool = False):
        self.seed = seed
        self.model_file = model_file
        self.disable_update = bool(disable_update)
        self.files: list[str] = []

    def update_from_file(self, file_name: str | os.PathLike, n_lines: int | None = None) -> None:
        """Train on this task's trials in ``file_name`` when the search starts."""
        path = os.fspath(file_name)
        if not os.path.exists(path):
            warnings.warn(f"{path}: no such tuning log; the cost model starts without it", stacklevel=2)
            return
        self.files.append(path)

    def ranker(self, seed: int | None) -> XGBRankModel:
        """The model object the search uses."""
        pretrained: Any = self.model_file if self.model_file else "default"
        model = XGBRankModel(pretrained=pretrained, seed=self.seed if self.seed is not None else (seed or 0))
        return _FrozenRank(model) if self.disable_update else model


class RandomModel:
    """No learned model: candidates are ranked by the analytic prior of the hardware alone."""

    files: list[str] = []

    def update_from_file(self, file_name: str | os.PathLike, n_lines: int | None = None) -> None:
        """Nothing to train (kept for TVM's interface)."""

    def ranker(self, seed: int | None) -> XGBRankModel:
        return _FrozenRank(XGBRankModel(pretrained=None, seed=seed or 0))


class _FrozenRank(XGBRankModel):
    """A ranker that is never refitted."""

    def __init__(self, inner: XGBRankModel):
        super().__init__(pretrained=inner.base, seed=inner.seed)

    def fit(self, xs: np.ndarray, throughputs: np.ndarray) -> None:
        return None


class SketchPolicy:
    """``SketchPolicy(task, XGBModel(), seed=0, init_search_callbacks=[PreloadMeasuredStates(log)])``:
    the search ``task.tune(options, search_policy=policy)`` runs.  ``params`` (TVM's search
    parameters) are accepted and not used: tensorlang's search sizes its batches itself."""

    def __init__(self, task: Any, program_cost_model: Any = None, params: dict | None = None,
                 seed: int | None = None, verbose: int = 1, init_search_callbacks: Any = None):
        model = program_cost_model if program_cost_model is not None else RandomModel()
        if not callable(getattr(model, "ranker", None)):
            raise TensorLangError(f"SketchPolicy: program_cost_model must be an XGBModel or RandomModel, "
                                  f"got {model!r}")
        callbacks = []
        for cb in list(init_search_callbacks or []):
            if isinstance(cb, PreloadCustomSketchRule):
                warnings.warn(f"SketchPolicy: custom sketch rule '{cb.rule_name}' is not run (it is written against "
                              "TVM's loop-state API); tensorlang searches its own sketches of the task", stacklevel=2)
                continue
            if not isinstance(cb, PreloadMeasuredStates):
                raise TensorLangError(f"SketchPolicy: init_search_callbacks takes PreloadMeasuredStates or "
                                      f"PreloadCustomSketchRule, got {cb!r}")
            callbacks.append(cb)
        self.task = task
        self.verbose = verbose
        self.search = SketchSearch(task, seed=seed, cost_model=model.ranker(seed))
        # logs whose trials of the task start the search (each read once, in order)
        self.preload: list[str] = list(dict.fromkeys([*model.files, *(cb.filename for cb in callbacks)]))


class EmptyPolicy(SketchPolicy):
    """TVM's minimal policy: candidates ranked by the analytic prior of the hardware alone, with
    no learned model (TVM's measures its initial schedule; tensorlang never measures a candidate
    twice, so this is the cheapest search that still proposes new ones)."""

    def __init__(self, task: Any, init_search_callbacks: Any = None):
        super().__init__(task, RandomModel(), seed=0, verbose=0, init_search_callbacks=init_search_callbacks)
