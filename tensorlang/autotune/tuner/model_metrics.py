"""How well a cost model ranks configs: rank correlation, NDCG@k and a top-k recall curve, for
debug logs and the tuner benchmarks.

Guarantees: pure functions of two arrays of equal length (true and predicted scores); ties get
average ranks; nan where a measure is undefined (fewer than two values, a constant side).
"""

from __future__ import annotations

import numpy as np


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
