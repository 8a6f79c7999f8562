"""Reranking: score retrieved candidates, then pick a diverse final list.

`Scorer` is the interface the trained fusion model will implement. `BaselineScorer` is the untrained
skeleton scorer:

    score = similarity(query, item) + profile_weight * cos(profile, item)
            + popularity_weight * popularity(item) + 0.1 * (shrunk mean rating - 3) / 2

`select` then applies maximal marginal relevance over item embeddings, so five near-identical sequels
do not fill the list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .catalog import Catalog
from .config import Config


@dataclass
class ScoreContext:
    """Everything a scorer may know about the person and the request."""
    query_vector: np.ndarray | None = None  # the retrieval query: wish + named titles + profile
    profile_vector: np.ndarray | None = None  # the stored profile vector (EMA of liked items)
    history: list[int] = field(default_factory=list)  # catalog positions liked / rated well, oldest first
    negatives: list[int] = field(default_factory=list)  # catalog positions disliked
    user_key: str | None = None  # a user id the model was trained on, if any; chat-only users have None


class Scorer(Protocol):
    name: str

    def score(self, positions: np.ndarray, similarities: np.ndarray, ctx: ScoreContext) -> np.ndarray: ...


class BaselineScorer:
    name = "baseline"

    def __init__(self, catalog: Catalog, vectors: np.ndarray, config: Config, prior_strength: float = 20.0):
        self.vectors = vectors
        self.config = config
        self.popularity = np.asarray(catalog.popularity, dtype=np.float32)
        counts = np.array([it.rating_count for it in catalog.items], dtype=np.float32)
        means = np.array([it.rating_mean or 0.0 for it in catalog.items], dtype=np.float32)
        global_mean = float((means * counts).sum() / counts.sum()) if counts.sum() else 3.0
        # Bayesian average: a 5.0 from two people counts for less than a 4.3 from two hundred.
        shrunk = (means * counts + global_mean * prior_strength) / (counts + prior_strength)
        self.quality = ((shrunk - 3.0) / 2.0).astype(np.float32)

    def score(self, positions, similarities, ctx: ScoreContext):
        profile_vector = ctx.profile_vector
        positions = np.asarray(positions, dtype=np.int64)
        s = np.asarray(similarities, dtype=np.float32).copy()
        if profile_vector is not None and profile_vector.shape[0] == self.vectors.shape[1]:
            s += self.config.profile_weight * (self.vectors[positions] @ profile_vector)
        s += self.config.popularity_weight * self.popularity[positions]
        s += 0.1 * self.quality[positions]
        return s


def select(positions: np.ndarray, scores: np.ndarray, vectors: np.ndarray, n: int, mmr_lambda: float) -> list[int]:
    """Indices into `positions` of the final list, by maximal marginal relevance."""
    if len(positions) == 0:
        return []
    cand = vectors[np.asarray(positions)]
    chosen: list[int] = [int(np.argmax(scores))]
    max_sim = cand @ cand[chosen[0]]
    while len(chosen) < min(n, len(positions)):
        mmr = mmr_lambda * scores - (1 - mmr_lambda) * max_sim
        mmr[chosen] = -np.inf
        nxt = int(np.argmax(mmr))
        chosen.append(nxt)
        max_sim = np.maximum(max_sim, cand @ cand[nxt])
    return chosen
