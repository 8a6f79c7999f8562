"""The profile vector: an exponential moving average toward liked items, away from disliked ones.

The rule is documented in docs/feedback.md; `replay_vector` rebuilds it from the event log.
"""
from __future__ import annotations

import numpy as np

from chatrec.profile.events import CLEAR, DISLIKE, LIKE, RATING, rating_kind


def move_vector(vector: np.ndarray | None, item_vector: np.ndarray, kind: str, rate: float,
                rating: float | None = None) -> np.ndarray | None:
    """The profile update rule (documented in docs/feedback.md).

    like (or rating >= 4): v <- normalise((1 - rate) * v + rate * item)   (an exponential moving average)
    dislike (or rating <= 2): v <- normalise(v - rate * item)             (pushed away)
    A first like sets v to the item vector; a dislike with no vector yet leaves it unset.
    """
    if kind == RATING:
        kind = rating_kind(rating)
        if kind is None:
            return vector
    if kind == LIKE:
        new = item_vector.copy() if vector is None else (1 - rate) * vector + rate * item_vector
    elif kind == DISLIKE:
        if vector is None:
            return None
        new = vector - rate * item_vector
    else:
        return vector
    norm = float(np.linalg.norm(new))
    return None if norm < 1e-9 else (new / norm).astype(np.float32)


def replay_vector(events: list[dict], vector_of, rate: float) -> np.ndarray | None:
    """The profile vector rebuilt from the event log (used after an entry is removed from the profile).

    `vector_of(item_id)` gives an item's embedding or None (an item no longer in the catalog)."""
    cleared_after: dict[str, int] = {}
    for n, ev in enumerate(events):
        if ev["kind"] == CLEAR:
            cleared_after[ev["item_id"]] = n
    vector = None
    for n, ev in enumerate(events):
        if ev["kind"] not in (LIKE, DISLIKE, RATING) or n < cleared_after.get(ev["item_id"], -1):
            continue
        item_vector = vector_of(ev["item_id"])
        if item_vector is not None:
            vector = move_vector(vector, item_vector, ev["kind"], rate, ev["value"])
    return vector
