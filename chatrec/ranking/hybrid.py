"""The hybrid score: the scorer's view of the candidates, with the collaborative evidence and the quality prior.

    with films named or liked in this conversation (a collaborative query from seeds):
        score = base_weight * scorer + collab_weight * cos_collab(item, seeds) + quality_weight * quality(item)
                + genre_weight * jaccard(genres(item), genres(seeds))
    with only the stored profile's likes:
        score = scorer + profile_collab_weight * cos_collab(item, profile likes)
    otherwise:
        score = scorer

`scorer` is the trained fusion model's [0, 1] score (or the baseline's), `cos_collab` the cosine between
collaborative item vectors (chatrec.training.collab), `quality` the Bayesian-average rating in [-1, 1]
(`catalog.quality_prior`). A stranger who names a film gets that film's collaborative neighbourhood at full
strength: films people liked together are the strongest evidence for "something like X". The weights are
`Config` fields, chosen on validation users of the "something like X" protocol (docs/evaluation.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatrec.config import Config


@dataclass(frozen=True)
class HybridWeights:
    base: float = 0.3
    collab: float = 1.0
    quality: float = 0.5
    profile_collab: float = 0.3
    genre: float = 0.3

    @classmethod
    def from_config(cls, config: Config) -> "HybridWeights":
        return cls(config.hybrid_base_weight, config.collab_weight, config.hybrid_quality_weight,
                   config.profile_collab_weight, config.hybrid_genre_weight)


def combine(base: np.ndarray, collab_sim: np.ndarray, quality: np.ndarray, *, collab_from_seeds: bool,
            has_collab: bool, w: HybridWeights, genre_fit: np.ndarray | None = None) -> np.ndarray:
    """The final scores of one candidate list (arrays aligned with it)."""
    base = np.asarray(base, dtype=np.float32)
    if not has_collab:
        return base
    if collab_from_seeds:
        fit = 0.0 if genre_fit is None else w.genre * genre_fit
        return (w.base * base + w.collab * collab_sim + w.quality * quality + fit).astype(np.float32)
    return (base + w.profile_collab * collab_sim).astype(np.float32)
