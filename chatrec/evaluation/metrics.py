"""The one home of every ranking metric: Recall/NDCG/HR@K, MRR, coverage, diversity, novelty, long tail, Gini,
and the bootstrap interval over groups of queries.

Every rank metric is written once, over *ranks*: the 1-based position of a relevant item in a ranking, `inf`
for one that is not ranked (not in the catalog, or below the part of the ranking that was looked at). A query
is one row: `ranks` of shape (Q,) hold one relevant item per query (the ReDial protocol: one target, one
query), shape (Q, m) up to m per query (MovieLens: a user's held-out positives, `inf` as padding).

- `recall_at(ranks, k, n_relevant)`  = relevant items ranked <= k / relevant items
- `ndcg_at(ranks, k, n_relevant)`    = sum over hits <= k of 1/log2(rank + 1), over the same sum for a perfect
  ranking of min(n_relevant, k) relevant items (binary gains)
- `hit_rate_at(ranks, k)`            = 1 if any relevant item is ranked <= k
- `reciprocal_rank(ranks)`           = 1 / rank of the first relevant item (0 when none is ranked); MRR is its mean
- `rank_of(scores, values, ties)`    turns scores into ranks; ties count against the relevant item
  ("pessimistic", the ReDial protocol) or in its favour ("optimistic", `ranking_metrics`' MRR)

`ranking_metrics` (full rankings: training's early stopping, `chatrec evaluate`; `per_user_metrics` gives its
per-user values) and `metrics_from_ranks` (rank lists: `chatrec evaluate-crs`) all call these. This module
imports nothing from chatrec, so training can use it without loading the evaluation protocols.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

KS = (5, 10, 20)


# ---------------------------------------------------------------- rank metrics, one formula each

def discount(ranks) -> np.ndarray:
    """DCG's position discount 1 / log2(rank + 1): 1 at rank 1, 0.63 at rank 2, 0.5 at rank 3."""
    return 1.0 / np.log2(np.asarray(ranks, dtype=np.float64) + 1.0)


def ideal_dcg(n_relevant, k: int) -> np.ndarray:
    """DCG@k of a perfect ranking of `n_relevant` relevant items (per query): the first min(n, k) ranks all hit."""
    disc = discount(np.arange(1, k + 1))
    return np.array([disc[: min(int(n), k)].sum() for n in np.atleast_1d(n_relevant)])


def _ranks(ranks) -> np.ndarray:
    """Ranks as a float array; in a list, `None` (a relevant item that could not be ranked at all) is `inf`."""
    if isinstance(ranks, np.ndarray):
        return ranks.astype(np.float64, copy=False)
    return np.array([np.inf if x is None else x for x in ranks], dtype=np.float64)


def recall_at(ranks, k: int, n_relevant=1) -> np.ndarray:
    """Per query: relevant items ranked within the top `k`, over the query's relevant items."""
    r = _ranks(ranks)
    hits = r <= k
    return (hits.sum(-1) if r.ndim > 1 else hits) / n_relevant


def precision_at(ranks, k: int) -> np.ndarray:
    """Per query: relevant items ranked within the top `k`, over `k` (the share of a k-item list that hits)."""
    r = _ranks(ranks)
    hits = r <= k
    return (hits.sum(-1) if r.ndim > 1 else hits) / k


def hit_rate_at(ranks, k: int) -> np.ndarray:
    """Per query: 1.0 when at least one relevant item is ranked within the top `k`."""
    r = _ranks(ranks)
    hits = r <= k
    return (hits.any(-1) if r.ndim > 1 else hits).astype(np.float64)


def ndcg_at(ranks, k: int, n_relevant=1) -> np.ndarray:
    """Per query: DCG@k with binary gains over the DCG@k of a perfect ranking (`ideal_dcg`)."""
    r = _ranks(ranks)
    gains = np.where(r <= k, discount(r), 0.0)
    dcg = gains.sum(-1) if r.ndim > 1 else gains
    idcg = ideal_dcg(n_relevant, k)
    return dcg / (idcg if np.ndim(n_relevant) else idcg[0])


def reciprocal_rank(ranks) -> np.ndarray:
    """Per query: 1 / the rank of its first relevant item; 0 when none was ranked. MRR is the mean."""
    r = _ranks(ranks)
    first = r.min(-1) if r.ndim > 1 else r
    return np.where(np.isfinite(first), 1.0 / first, 0.0)


def rank_of(scores: np.ndarray, values, ties: str = "pessimistic") -> np.ndarray:
    """1-based rank that an item scoring `values` gets in `scores` (last axis = the items ranked).

    ties="pessimistic": every item scoring the same counts as ahead of it (the rank is #(score >= value));
    ties="optimistic": none does (1 + #(score > value)). Scores of shape (N,) with values (T,) give T ranks in one
    ranking; scores (Q, N) with values (Q,) give one rank per row."""
    s, v = np.asarray(scores), np.expand_dims(np.asarray(values), -1)
    if ties == "pessimistic":
        return (s >= v).sum(-1)
    if ties == "optimistic":
        return (s > v).sum(-1) + 1
    raise ValueError(f"ties must be 'pessimistic' or 'optimistic', not {ties!r}")


# ---------------------------------------------------------------- rank lists (one relevant item per query)

def metrics_from_ranks(ranks: Sequence[int | None], ks: Sequence[int] = (1, 10, 50), ndcg_k: int = 10) -> dict:
    """Recall@k for each k, NDCG@`ndcg_k` and MRR, micro-averaged over single-target queries (`None` = the target
    could not be ranked: a miss everywhere), and `n_targets`."""
    n = len(ranks)
    keys = [f"recall@{k}" for k in ks] + [f"ndcg@{ndcg_k}", "mrr"]
    if n == 0:
        return {k: 0.0 for k in keys} | {"n_targets": 0}
    r = _ranks(list(ranks))
    out = {f"recall@{k}": float(recall_at(r, k).mean()) for k in ks}
    out[f"ndcg@{ndcg_k}"] = float(ndcg_at(r, ndcg_k).mean())
    out["mrr"] = float(reciprocal_rank(r).mean())
    out["n_targets"] = n
    return out


def bootstrap_ci(groups: Sequence[Sequence], keys: Sequence[str], stat: Callable[[Sequence], dict] = metrics_from_ranks,
                 n_boot: int = 1000, seed: int = 0, digits: int = 4) -> dict:
    """95% percentile intervals of micro-averaged metrics, resampling whole groups (e.g. the targets of one
    conversation, which are not independent). `stat(group)[key]` must be a mean over the group's items, so that
    times the group's size it is the group's sum. Empty groups are skipped; no groups or `n_boot <= 0`: {}."""
    groups = [g for g in groups if g]
    if not groups or n_boot <= 0:
        return {}
    rng = np.random.default_rng(seed)
    per = [[stat(g)[k] * len(g) for k in keys] for g in groups]
    sums, sizes = np.array(per), np.array([len(g) for g in groups], dtype=np.float64)
    draws = rng.integers(0, len(groups), size=(n_boot, len(groups)))
    est = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)[:, None]
    lo, hi = np.percentile(est, [2.5, 97.5], axis=0)
    return {k: [round(float(a), digits), round(float(b), digits)] for k, a, b in zip(keys, lo, hi)}


# ---------------------------------------------------------------- full rankings (users x catalog scores)

def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = perfectly equal exposure, 1 = one item gets everything)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def _top_lists(scores: np.ndarray, positives: list[np.ndarray], seen: list[np.ndarray] | None, ks) -> tuple:
    """Each row's ranking (`seen` items removed) cut to its top max(ks, 10), and the ranks of its positives there."""
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
    # the ranks of each user's positives within the top kmax (column j is rank j + 1; inf: no positive there)
    ranks = np.where(hits, np.arange(1, kmax + 1, dtype=np.float64), np.inf)
    return scores, top, rel, users, ranks, n_pos[users], kmax


def _per_user(scores, rel, users, ranks, n_pos_u, kmax, ks) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in ks:
        kk = min(k, kmax)
        out[f"recall@{k}"] = recall_at(ranks[:, :kk], kk, n_pos_u)
        out[f"ndcg@{k}"] = ndcg_at(ranks[:, :kk], kk, n_pos_u)
    out["hr@10"] = hit_rate_at(ranks[:, :10], 10)
    best = np.where(rel, scores, -np.inf).max(1)[users]  # MRR: the first positive in the full ranking
    out["rr"] = reciprocal_rank(rank_of(scores[users], best, ties="optimistic"))
    return out


def per_user_metrics(scores: np.ndarray, positives: list[np.ndarray], *, seen: list[np.ndarray] | None = None,
                     ks=KS) -> dict[str, np.ndarray]:
    """The per-user values `ranking_metrics` averages (recall@k, ndcg@k, hr@10, and rr, whose mean is MRR), one
    entry per user with at least one positive, in row order: for paired comparisons between models."""
    scores, top, rel, users, ranks, n_pos_u, kmax = _top_lists(scores, positives, seen, ks)
    return _per_user(scores, rel, users, ranks, n_pos_u, kmax, ks)


# ---------------------------------------------------------------- beyond accuracy

def self_information(items, item_counts: np.ndarray, n_users: int) -> np.ndarray:
    """Per item: -log2 of the share of users who interacted with it (at least one, so never infinite). Its mean
    over a list is the list's novelty."""
    p = np.maximum(np.asarray(item_counts, dtype=np.float64), 1) / max(n_users, 1)
    return -np.log2(p[np.asarray(items, dtype=np.int64)])


def tail_share(items, head) -> float:
    """The share of `items` outside `head` (the most popular items)."""
    items = np.asarray(items, dtype=np.int64)
    return float(1.0 - np.isin(items, np.asarray(sorted(head), dtype=np.int64)).mean()) if items.size else 0.0


def list_metrics(picks: Sequence[int], relevant: set[int], *, item_counts: np.ndarray, n_users: int,
                 head: set[int], k: int) -> dict:
    """One shown list of up to `k` picks: `hit` = precision@k (a missing pick counts as a miss), `hit_tail` = the
    same counting only relevant items outside `head` (the popularity-debiased view), `novelty` = mean self-
    information of the picks, `tail_share` = the share of picks outside `head`."""
    ranks = np.array([r for r, i in enumerate(picks[:k], 1) if i in relevant] or [np.inf], dtype=np.float64)
    tail_ranks = np.array([r for r, i in enumerate(picks[:k], 1) if i in relevant and i not in head] or [np.inf],
                          dtype=np.float64)
    return {"hit": float(precision_at(ranks[None, :], k)[0]), "hit_tail": float(precision_at(tail_ranks[None, :], k)[0]),
            "novelty": float(self_information(picks[:k], item_counts, n_users).mean()) if len(picks) else 0.0,
            "tail_share": tail_share(picks[:k], head)}


def ranking_metrics(scores: np.ndarray, positives: list[np.ndarray], *, seen: list[np.ndarray] | None = None,
                    text: np.ndarray | None = None, item_counts: np.ndarray | None = None, n_users_train: int = 1,
                    ks=KS) -> dict:
    """Metrics over users (rows of `scores`, one per user) with at least one positive.

    `seen[r]` items are removed from row r's ranking (training items). `item_counts` are training
    interaction counts (novelty, long tail). Returns means over users plus catalogue-level metrics.
    """
    scores, top, rel, users, ranks, n_pos_u, kmax = _top_lists(scores, positives, seen, ks)
    n_items = scores.shape[1]
    per = _per_user(scores, rel, users, ranks, n_pos_u, kmax, ks)
    out: dict[str, float] = {("mrr" if k == "rr" else k): float(v.mean()) for k, v in per.items()}
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
        out["novelty@10"] = float(self_information(top10, item_counts, n_users_train).mean())
        head = np.argsort(-item_counts, kind="stable")[: int(math.ceil(0.2 * n_items))]
        out["longtail@10"] = tail_share(top10.ravel(), head)
    out["users"] = int(users.sum())
    return out
