"""The final pick: maximal marginal relevance over item embeddings, so five near-identical sequels do not fill
the list; and, when a request names several periods, picks drawn from each of them in turn."""
from __future__ import annotations

import numpy as np


def select(positions: np.ndarray, scores: np.ndarray, vectors: np.ndarray, n: int, mmr_lambda: float,
           groups: np.ndarray | None = None) -> list[int]:
    """Indices into `positions` of the final list, by maximal marginal relevance. `groups` (one int per candidate,
    -1 for none): each pick comes from a group with the fewest picks so far among those with candidates left, so
    a request for "the 80s and 90s" gets both decades."""
    if len(positions) == 0:
        return []
    scores = np.asarray(scores, dtype=np.float64)
    cand = vectors[np.asarray(positions)]
    chosen: list[int] = []
    max_sim = np.zeros(len(positions), dtype=np.float64)
    while len(chosen) < min(n, len(positions)):
        mmr = scores.copy() if not chosen else mmr_lambda * scores - (1 - mmr_lambda) * max_sim
        mmr[chosen] = -np.inf
        if groups is not None:
            left = {int(g) for j, g in enumerate(groups) if g >= 0 and np.isfinite(mmr[j])}
            if left:
                taken = [int(groups[j]) for j in chosen]
                fewest = min(taken.count(g) for g in left)
                mmr[~np.isin(groups, [g for g in left if taken.count(g) == fewest])] = -np.inf
        nxt = int(np.argmax(mmr))
        chosen.append(nxt)
        sim = cand @ cand[nxt]
        max_sim = sim if len(chosen) == 1 else np.maximum(max_sim, sim)
    return chosen
