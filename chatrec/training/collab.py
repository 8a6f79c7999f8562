"""Collaborative item vectors: films people liked together end up close.

`chatrec train` fits implicit ALS (the `implicit` package) on the catalog's ratings and saves one unit vector per
item (`ranking.checkpoint.save_collab`); retrieval serves them from a second collection of the vector store, so
"something like X" finds X's collaborative neighbours the way a wish finds its text neighbours.

The settings were chosen on validation users of the "something like X" protocol (chatrec/evaluation/like_x.py,
users drawn apart from the reported test users): 32 factors with confidence alpha 5 gave the best hit rate
(0.257, novelty 3.70 bits) among 32/64/128 factors x alpha 1/5/10/20, ahead of item-kNN cosine (0.252, 3.41).

`fit_als` / `fit_als_folds` give the raw ALS factors the fusion reranker reads as an input (its `collab_factors`):
the model fitted on the training rows, and K models each fitted without one fold of the (user, item) pairs, which
score the training rows out of fold.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from chatrec.training.data import Interactions, user_item_matrix


@dataclass
class CollabParams:
    factors: int = 32
    regularization: float = 0.1
    alpha: float = 5.0
    iterations: int = 20


def fit_als(data: Interactions, factors: int = 32, regularization: float = 0.01, alpha: float = 1.0,
            iterations: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(user factors (n_users, f), item factors (n_items, f)) of implicit ALS on the binary user x item matrix;
    users and items without interactions get zero rows (the least-squares solution with nothing to fit)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                    iterations=iterations, random_state=seed, num_threads=1)
    m = user_item_matrix(data)
    with threadpool_limits(1, "blas"):
        model.fit(m, show_progress=False)
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    users[np.diff(m.indptr) == 0] = 0.0  # exactly zero, not the random start a row without data keeps
    items[np.bincount(m.indices, minlength=data.n_items) == 0] = 0.0
    return users, items


def fit_als_folds(data: Interactions, k: int = 5, seed: int = 0, **params) -> tuple[np.ndarray, np.ndarray]:
    """(K, n_users, f), (K, n_items, f): model j is fitted on every pair except those `pair_fold` puts in fold j,
    so it scores fold j's pairs as it would score pairs it has never seen (no in-sample optimism)."""
    from chatrec.ranking.fusion import pair_fold

    fold = pair_fold(data.user, data.item, k)
    outs = [fit_als(data.subset(fold != j), seed=seed + j, **params) for j in range(k)]
    return np.stack([u for u, _ in outs]), np.stack([v for _, v in outs])


def ease_block(data: Interactions, max_items: int, min_count: int = 3) -> np.ndarray:
    """Catalog positions of the EASE block: the `max_items` most-interacted items with >= `min_count` users."""
    counts = np.bincount(data.item, minlength=data.n_items)
    order = np.argsort(-counts, kind="stable")[:max_items]
    return np.sort(order[counts[order] >= min_count])


def fit_ease(data: Interactions, items: np.ndarray, reg: float = 200.0) -> np.ndarray:
    """(m, m) EASE weights over the catalog positions `items` (Steck 2019): B = I - P / diag(P), P = (X^T X + reg I)^-1,
    zero diagonal. Closed form; one m x m Cholesky inverse (~2 s for 4,000 items on one core)."""
    import torch

    x = user_item_matrix(data)[:, items]
    g = torch.as_tensor((x.T @ x).toarray(), dtype=torch.float32)  # co-occurrence counts + reg: well conditioned
    g += reg * torch.eye(len(items))
    p = torch.cholesky_inverse(torch.linalg.cholesky(g))
    b = -p / torch.diagonal(p).unsqueeze(0)
    b.fill_diagonal_(0.0)
    return b.numpy()


def fit_ease_folds(data: Interactions, items: np.ndarray, k: int = 5, reg: float = 200.0) -> np.ndarray:
    """(K, m, m): matrix j is fitted without the pairs `pair_fold` puts in fold j (as `fit_als_folds`)."""
    from chatrec.ranking.fusion import pair_fold

    fold = pair_fold(data.user, data.item, k)
    return np.stack([fit_ease(data.subset(fold != j), items, reg) for j in range(k)])


def fit_collab(data: Interactions, params: CollabParams | None = None, seed: int = 0) -> tuple[np.ndarray, dict]:
    """(n_items, factors) unit item vectors (zero for items nobody rated) and the parameters used."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    params = params or CollabParams()
    model = AlternatingLeastSquares(**asdict(params), random_state=seed, num_threads=1)
    with threadpool_limits(1, "blas"):  # implicit's advice: its BLAS calls must not spawn threads of their own
        model.fit(user_item_matrix(data), show_progress=False)
    vectors = np.asarray(model.item_factors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    rated = np.bincount(data.item, minlength=data.n_items) > 0
    vectors = np.where(rated[:, None] & (norms > 1e-9), vectors / np.maximum(norms, 1e-9), 0.0).astype(np.float32)
    return vectors, {**asdict(params), "seed": seed, "method": "implicit-als", "interactions": len(data)}
