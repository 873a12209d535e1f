"""The search a task is tuned with, in the names of TVM's ``auto_scheduler``: ``SketchPolicy``
(the task's evolutionary search, with a seed), its cost model (``XGBModel``: the shipped
pretrained ranker refitted on the task's measurements; ``RandomModel``: no learned model, the
analytic prior alone) and ``PreloadMeasuredStates`` (trials of a log the search starts from);
``PreloadCustomSketchRule`` adds the sketches a hand-written rule makes over loop states
(``custom_rules.py``); ``EmptyPolicy`` searches with the prior alone.
"""

from __future__ import annotations

import abc
import os
import warnings
from typing import Any

import numpy as np

from ..errors import TensorLangError
from .cost_model import XGBRankModel
from .custom_rules import generate_custom_sketches
from .loop_state import State, StateObject, steps_from_json
from .search import SketchSearch


class PreloadMeasuredStates:
    """Start the search from the trials of this task in ``filename``: they are not measured again
    and they train the cost model.  (A task's own log is always preloaded.)"""

    def __init__(self, filename: str | os.PathLike = "auto_scheduler_tuning.json"):
        if not isinstance(filename, (str, os.PathLike)):
            raise TensorLangError(f"PreloadMeasuredStates needs a file name, got {filename!r}")
        self.filename = os.fspath(filename)


class PreloadCustomSketchRule:
    """TVM's hook for a hand-written sketch rule: ``meet_condition_func(policy, state, stage_id)``
    answers ``PASS``, ``APPLY`` or ``APPLY_AND_SKIP_REST``, and ``apply_func(policy, state,
    stage_id)`` returns ``[[state, next_stage_id], ...]``, the states made with the loop-state
    API (``loop_state.State(state, policy.search_task.compute_dag)``).  A ``SketchPolicy`` given
    one runs it when it is made (``custom_rules.py``): the states it makes are searched, their
    undefined split lengths filled by the search."""

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


class SearchPolicy(abc.ABC):  # noqa: B024 - a base to test against, as TVM's is
    """TVM's base class of search policies (``auto_scheduler.search_policy.SearchPolicy``):
    ``SketchPolicy`` and ``EmptyPolicy`` are ones, and so is the running search a measure
    callback's ``callback(policy, inputs, results)`` is given."""


class SketchPolicy(SearchPolicy):
    """``SketchPolicy(task, XGBModel(), seed=0, init_search_callbacks=[PreloadMeasuredStates(log)])``:
    the search ``task.tune(options, search_policy=policy)`` runs.  ``params`` (TVM's search
    parameters) are accepted and not used: tensorlang's search sizes its batches itself."""

    def __init__(self, task: Any, program_cost_model: Any = None, params: dict | None = None,
                 seed: int | None = None, verbose: int = 1, init_search_callbacks: Any = None):
        model = program_cost_model if program_cost_model is not None else RandomModel()
        if not callable(getattr(model, "ranker", None)):
            raise TensorLangError(f"SketchPolicy: program_cost_model must be an XGBModel or RandomModel, "
                                  f"got {model!r}")
        callbacks, rules = [], []
        for cb in list(init_search_callbacks or []):
            if isinstance(cb, PreloadCustomSketchRule):
                rules.append(cb)
                continue
            if not isinstance(cb, PreloadMeasuredStates):
                raise TensorLangError(f"SketchPolicy: init_search_callbacks takes PreloadMeasuredStates or "
                                      f"PreloadCustomSketchRule, got {cb!r}")
            callbacks.append(cb)
        self.task = self.search_task = task  # TVM's name, which custom rules read
        self.verbose = verbose
        sketches = None
        self.custom_sketches: list[Any] = []
        if rules:
            custom, replace = generate_custom_sketches(self, task.compute_dag, rules)
            self.custom_sketches = custom
            if not custom:
                warnings.warn(f"SketchPolicy: custom sketch rule(s) {', '.join(r.rule_name for r in rules)} applied to "
                              "no stage of the task; tensorlang searches its own sketches", stacklevel=2)
            sketches = custom if replace and custom else [*task.sketches, *custom]
        self.search = SketchSearch(task, seed=seed, cost_model=model.ranker(seed), sketches=sketches)
        # logs whose trials of the task start the search (each read once, in order)
        self.preload: list[str] = list(dict.fromkeys([*model.files, *(cb.filename for cb in callbacks)]))

    def generate_sketches(self, print_for_debug: bool = False) -> list[State]:
        """The loop states of the sketches this policy's custom rules made (TVM's
        ``generate_sketches``; tensorlang's own sketches are per-stage plans, not loop states, so a
        policy without custom rules has none to list)."""
        if not self.custom_sketches:
            raise TensorLangError("SketchPolicy.generate_sketches lists the loop states custom sketch rules make "
                                  "(PreloadCustomSketchRule); this policy has none, and tensorlang's own sketches "
                                  f"are plans ({', '.join(s.name for s in self.task.sketches)[:300]})")
        dag = self.task.compute_dag
        states = [State(StateObject(tuple(steps_from_json(sk.steps))), dag) for sk in self.custom_sketches]
        if print_for_debug:
            for state in states:
                print(state)
        return states


class EmptyPolicy(SketchPolicy):
    """TVM's minimal policy: candidates ranked by the analytic prior of the hardware alone, with
    no learned model (TVM's measures its initial schedule; tensorlang never measures a candidate
    twice, so this is the cheapest search that still proposes new ones)."""

    def __init__(self, task: Any, init_search_callbacks: Any = None):
        super().__init__(task, RandomModel(), seed=0, verbose=0, init_search_callbacks=init_search_callbacks)


SearchPolicy.register(SketchSearch)
