"""TVM's ``autotvm.tuner.metric``: curves that summarize a tuning run or a cost model's ranking,
trial by trial (``n`` below is a 0-based trial number)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..utils import get_rank


def max_curve(trial_scores: Sequence[float]) -> np.ndarray:
    """f(n): the best score among trials 0..n (the best-so-far curve)."""
    scores = np.asarray(trial_scores, dtype=float)
    if not len(scores):
        return np.empty(0)
    return np.maximum.accumulate(np.maximum(scores, -1e9))  # TVM starts its running best at -1e9


def mean_curve(trial_scores: Sequence[float]) -> np.ndarray:
    """f(n): the mean score of trials 0..n."""
    scores = np.asarray(trial_scores, dtype=float)
    return np.cumsum(scores) / np.arange(1, len(scores) + 1)


def recall_curve(trial_ranks: Sequence[int], top: int | None = None) -> np.ndarray:
    """How many of the truly best configs the trials found, trial by trial (``trial_ranks[i]``:
    the true rank of the config tried i-th, 0 the best).  Without ``top``, f(n) counts the trials
    before n whose rank is at most n, over n + 1; with ``top``, it counts those before n ranked
    within the true top ``top``, over ``top``.  (Trial n itself is not counted, as in TVM.)"""
    ranks = np.asarray(trial_ranks)
    out = np.zeros(len(ranks))
    for n in range(len(ranks)):
        before = ranks[:n]
        out[n] = np.sum(before <= n) / (n + 1) if top is None else np.sum(before < top) / top
    return out


def cover_curve(trial_ranks: Sequence[int]) -> np.ndarray:
    """f(n): the largest k such that the true ranks 0..k-1 all appear among trials 0..n, over the
    number of trials."""
    out = np.empty(len(trial_ranks))
    seen: set[int] = set()
    covered = 0
    for n, rank in enumerate(trial_ranks):
        seen.add(int(rank))
        while covered in seen:
            covered += 1
        out[n] = covered
    return out / max(len(trial_ranks), 1)


def average_recall(preds: Sequence[float], labels: Sequence[float], N: int) -> float:  # noqa: N803 - TVM's name
    """The mean of ``recall_curve`` over the first ``N`` trials when configs are tried in the
    order of ``preds`` (highest first) and ``labels`` are their true scores."""
    order = np.argsort(np.asarray(preds))[::-1]
    curve = recall_curve(get_rank(np.asarray(labels)[order]))
    return float(np.sum(curve[:N]) / N)


__all__ = ["max_curve", "mean_curve", "recall_curve", "cover_curve", "average_recall"]
