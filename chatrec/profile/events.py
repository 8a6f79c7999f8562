"""The kinds of feedback event, and what a star rating means: the one home of these rules."""
from __future__ import annotations

LIKE, DISLIKE, SEEN, RATING = "like", "dislike", "seen", "rating"
CLEAR = "clear"  # the person removed an item from their profile: earlier events about it no longer count
CRITIQUE = "critique"  # "older", "darker", "more_like:<item id>": kept so the profile panel can show them
EVENT_KINDS = (LIKE, DISLIKE, SEEN, RATING, CLEAR, CRITIQUE)

LIKE_AT = 4.0  # a rating of at least this many stars counts as a like (the MovieLens "relevant" cut)
DISLIKE_AT = 2.0  # ... at most this many as a dislike; in between is "watched, no strong opinion"


def rating_kind(stars: float | None) -> str | None:
    """LIKE, DISLIKE, or None for a middling (or missing) rating."""
    if stars is None:
        return None
    if stars >= LIKE_AT:
        return LIKE
    if stars <= DISLIKE_AT:
        return DISLIKE
    return None
