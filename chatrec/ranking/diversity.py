"""The final pick: maximal marginal relevance over item embeddings, so five near-identical sequels do not fill
the list."""
from __future__ import annotations

import numpy as np


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
