"""The one home of every ranking metric: Recall/NDCG/HR@K, MRR, coverage, diversity, novelty, long tail, Gini.

Training's early stopping, the offline protocols (`chatrec evaluate`) and the conversational benchmark
(`chatrec evaluate-crs`) all call these functions.
"""
from __future__ import annotations

import math

import numpy as np

KS = (5, 10, 20)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = perfectly equal exposure, 1 = one item gets everything)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def ranking_metrics(scores: np.ndarray, positives: list[np.ndarray], *, seen: list[np.ndarray] | None = None,
                    text: np.ndarray | None = None, item_counts: np.ndarray | None = None, n_users_train: int = 1,
                    ks=KS) -> dict:
    """Metrics over users (rows of `scores`, one per user) with at least one positive.

    `seen[r]` items are removed from row r's ranking (training items). `item_counts` are training
    interaction counts (novelty, long tail). Returns means over users plus catalogue-level metrics.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    n_users, n_items = scores.shape
    if seen is not None:
        for r, s in enumerate(seen):
            scores[r, s] = -np.inf
    kmax = min(max(*ks, 10), n_items)  # the catalogue metrics always look at the top 10
    top = np.argpartition(-scores, kmax - 1, axis=1)[:, :kmax]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable"), 1)
    rel = np.zeros((n_users, n_items), dtype=bool)
    for r, p in enumerate(positives):
        rel[r, p] = True
    n_pos = rel.sum(1)
    users = n_pos > 0
    hits = np.take_along_axis(rel, top, 1)[users]
    n_pos_u = n_pos[users]
    disc = 1.0 / np.log2(np.arange(2, kmax + 2))
    out: dict[str, float] = {}
    for k in ks:
        kk = min(k, kmax)
        out[f"recall@{k}"] = float((hits[:, :kk].sum(1) / n_pos_u).mean())
        idcg = np.array([disc[: min(n, kk)].sum() for n in n_pos_u])
        out[f"ndcg@{k}"] = float(((hits[:, :kk] * disc[:kk]).sum(1) / idcg).mean())
    out["hr@10"] = float(hits[:, :10].any(1).mean())
    best = np.where(rel, scores, -np.inf).max(1)[users]
    ahead = (scores[users] > best[:, None]).sum(1)  # ties count in the user's favour
    out["mrr"] = float((1.0 / (ahead + 1)).mean())
    top10 = top[users, :10]
    exposure = np.bincount(top10.ravel(), minlength=n_items)
    out["coverage@10"] = float((exposure > 0).mean())
    out["gini@10"] = gini(exposure)
    if text is not None:
        v = text[top10]  # (U, 10, d), unit vectors
        sims = np.einsum("ukd,ujd->ukj", v, v)
        k = top10.shape[1]
        out["diversity@10"] = float(((k * k - sims.sum((1, 2))) / max(k * (k - 1), 1)).mean())
    if item_counts is not None:
        p = np.maximum(item_counts, 1) / max(n_users_train, 1)
        out["novelty@10"] = float((-np.log2(p[top10])).mean())
        head = np.argsort(-item_counts, kind="stable")[: int(math.ceil(0.2 * n_items))]
        out["longtail@10"] = float(1.0 - np.isin(top10, head).mean())
    out["users"] = int(users.sum())
    return out
